import { describe, expect, it } from "vitest";
import type { CloudStatus, PowerState, StatusReport } from "../types";
import { networkText, powerText } from "./statusbar";

function power(over: Partial<PowerState> = {}, battery: PowerState["snapshot"]["battery"] = null, celsius: number | null = null): PowerState {
  return {
    source: "trace",
    snapshot: { battery, cpu_celsius: celsius, throttling: false, cpu_load: null },
    thermal: "unknown",
    mode: "performance",
    why: "no battery",
    missing: [],
    ...over,
  };
}

function cloud(over: Partial<CloudStatus>): CloudStatus {
  return {
    enabled: true,
    endpoint: "https://llm.example/v1",
    model: "m",
    work_offline: false,
    key_source: null,
    redact_patterns: [],
    deferred_pending: 0,
    ...over,
  };
}

function status(over: Partial<StatusReport>): StatusReport {
  return {
    version: "0.1.0",
    active_model: null,
    engine: { backend: "cpu", device: "CPU", devices: [], available: ["extractive"] },
    cloud: cloud({}),
    connectivity: { state: "online" },
    power: power(),
    counts: { notes: 0, summaries: 0, requests: 0 },
    ...over,
  } as StatusReport;
}

describe("status bar", () => {
  it("shows battery, AC, temperature and the power mode", () => {
    const saver = power({ mode: "saver", thermal: "nominal" }, { percent: 14.6, on_ac: false, time_to_empty_s: 900, energy_rate_w: 11 }, 56.2);
    expect(powerText(saver)).toBe("Battery 15 % (on battery) · 56 °C · Saver");
    expect(powerText(power({ thermal: "throttling", mode: "saver" }, { percent: 90, on_ac: true, time_to_empty_s: null, energy_rate_w: null }, 95))).toBe(
      "Battery 90 % (on AC) · 95 °C, throttling · Saver",
    );
    expect(powerText(power())).toBe("No battery (on AC) · no temperature sensor · Performance");
  });

  it("says whether the cloud is off, online, offline or worked around", () => {
    expect(networkText(status({ cloud: cloud({ enabled: false, endpoint: null, model: null }) }))[0]).toBe("Cloud: off (nothing leaves this laptop)");
    expect(networkText(status({}))[0]).toBe("Cloud: online");
    const offline = networkText(status({ connectivity: { state: "offline", error: "cannot reach host" }, cloud: cloud({ endpoint: "x", deferred_pending: 2 }) }));
    expect(offline).toEqual(["Cloud: offline · 2 waiting", "cannot reach host"]);
    expect(networkText(status({ cloud: cloud({ endpoint: "x", work_offline: true }) }))[0]).toBe("Working offline");
  });
});
