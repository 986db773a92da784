import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { byId, fakeContext, fakeShell, reset } from "../test-helpers";
import type { Dashboard, LedgerDay } from "../types";
import { latencySeries, ledgerView, money, routeMix, trialSeries } from "./ledger";

const day = (d: string, routes: Record<string, number>, p50 = 100, p95 = 400): LedgerDay => ({
  day: d,
  requests: Object.values(routes).reduce((a, b) => a + b, 0),
  succeeded: 1,
  routes,
  cache_hits: routes.cache ?? 0,
  latency_p50_ms: p50,
  latency_p95_ms: p95,
  cost: 0.001,
});

const dashboard = (over: Partial<Dashboard["report"]> = {}): Dashboard => ({
  report: {
    since: null,
    requests: 4,
    succeeded: 3,
    cache_hits: 1,
    cache_hit_rate: 0.25,
    cost: 0.0123,
    energy_wh: 1.5,
    cost_per_success: 0.0041,
    rows: [
      { route: "local", model: "qwen@0123", power_mode: "balanced", device_class: "cpu, 16 GiB, battery", requests: 3, succeeded: 2, failed: 0, success_rate: 2 / 3, fallback_rate: 1 / 3, latency_p50_ms: 2100, latency_p95_ms: 5200, output_tokens: 300, cost: 0.0123, energy_wh: 1.5, cost_per_success: 0.00615 },
      { route: "none", model: "-", power_mode: "-", device_class: "-", requests: 1, succeeded: 0, failed: 1, success_rate: 0, fallback_rate: 0, latency_p50_ms: 0, latency_p95_ms: 0, output_tokens: 0, cost: 0, energy_wh: 0, cost_per_success: null },
    ],
    trial: [
      { device_class: "cpu, 16 GiB, battery", power_mode: "balanced", local_models: ["qwen@0123"], requests: 4, local_requests: 3, local_success_rate: 2 / 3, local_latency_p50_ms: 2100, local_latency_p95_ms: 5200, cloud_fallback_rate: 0.25, cost_per_success: 0.0041 },
    ],
    ...over,
  },
  days: [day("2026-11-30", { local: 2, cache: 1 }), day("2026-12-01", { local: 1, none: 1 })],
  cache: { entries: 3, bytes: 4000, hits: 1 },
  currency: "EUR",
});

describe("Ledger view", () => {
  // jsdom has no 2D canvas: Chart.js gets no context and the tables carry the data.
  beforeAll(() => {
    HTMLCanvasElement.prototype.getContext = (() => null) as unknown as HTMLCanvasElement["getContext"];
  });
  afterEach(reset);

  it("shapes the charts' data: route mix per day, latency, trial", () => {
    const mix = routeMix(dashboard().days);
    expect(mix.labels).toEqual(["2026-11-30", "2026-12-01"]);
    expect(mix.datasets.map((d) => d.label)).toEqual(["Cache", "Local model", "Refused"]);
    expect(mix.datasets[1].data).toEqual([2, 1]);
    expect(mix.datasets[2].data).toEqual([0, 1]);
    expect(latencySeries([day("d", {}, 99.6, 401.2)]).datasets.map((d) => d.data)).toEqual([[100], [401]]);
    const trial = trialSeries(dashboard().report.trial);
    expect(trial.labels).toEqual(["balanced · cpu, 16 GiB, battery"]);
    expect(trial.datasets.map((d) => d.data[0])).toEqual([66.7, 25]);
    const cloudOnly = trialSeries([{ ...dashboard().report.trial[0], local_requests: 0, local_success_rate: null }]);
    expect(cloudOnly.datasets[0].data).toEqual([null]);
    expect(money(0.0041, "EUR")).toBe("0.00410 EUR");
    expect(money(12, "EUR")).toBe("12.00 EUR");
    expect(money(null, "EUR")).toBe("—");
  });

  it("shows cost per successful summary, cache hit rate and the trial table", async () => {
    const shell = fakeShell({ dashboard: () => dashboard() });
    const v = ledgerView(fakeContext());
    document.body.append(v.el);
    await v.refresh();
    expect(shell.named("dashboard")).toEqual([{ since: null }]);
    expect(byId("card-cost").textContent).toContain("0.00410 EUR");
    expect(byId("card-cache").textContent).toContain("25.0 %");
    expect(byId("card-success").textContent).toContain("75.0 %");
    const trial = byId("trial-body").textContent!;
    expect(trial).toContain("qwen@0123");
    expect(trial).toContain("66.7 %");
    expect(document.querySelector("#ledger-rows tr[data-route='none']")!.textContent).toContain("Refused");
    expect(byId("ledger-empty").hidden).toBe(true);

    byId<HTMLSelectElement>("ledger-since").value = "7";
    byId("ledger-since").dispatchEvent(new Event("change"));
    await new Promise((r) => setTimeout(r, 0));
    const since = shell.named("dashboard")[1].since as string;
    expect(since).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("says plainly when there is nothing yet", async () => {
    fakeShell({ dashboard: () => ({ ...dashboard({ requests: 0, succeeded: 0, rows: [], trial: [], cost_per_success: null, cache_hit_rate: 0 }), days: [] }) });
    const v = ledgerView(fakeContext());
    document.body.append(v.el);
    await v.refresh();
    expect(byId("ledger-empty").hidden).toBe(false);
    expect(byId("card-cost").textContent).toContain("—");
  });
});
