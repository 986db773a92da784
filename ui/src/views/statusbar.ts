// The status bar: engine state and device, active model, battery / thermal state with the
// power mode, and whether the cloud is off, online or offline.

import { h } from "../dom";
import type { AppStatus, NetState, PowerState, StatusReport, UiError } from "../types";

/** "Battery 15 % (on battery) · 56 °C · Saver", or what the machine cannot report. */
export function powerText(p: PowerState): string {
  const b = p.snapshot.battery;
  const battery = b ? `Battery ${Math.round(b.percent)} % (${b.on_ac ? "on AC" : "on battery"})` : "No battery (on AC)";
  const t = p.snapshot.cpu_celsius;
  const thermal = p.thermal === "throttling" ? `${t != null ? `${Math.round(t)} °C, ` : ""}throttling` : t != null ? `${Math.round(t)} °C` : "no temperature sensor";
  const mode = p.mode[0].toUpperCase() + p.mode.slice(1);
  return `${battery} · ${thermal} · ${mode}`;
}

/** The cloud's state in a few words, and the detail for the tooltip. */
export function networkText(r: StatusReport): [string, string] {
  const n: NetState = r.connectivity;
  const pending = r.cloud.deferred_pending ? ` · ${r.cloud.deferred_pending} waiting` : "";
  if (!r.cloud.enabled) return ["Cloud: off (nothing leaves this laptop)", "Cloud escalation is off in the settings."];
  if (r.cloud.work_offline) return [`Working offline${pending}`, "\"Work offline\" is on: nothing is sent or probed."];
  switch (n.state) {
    case "online":
      return [`Cloud: online${pending}`, r.cloud.endpoint ?? ""];
    case "offline":
      return [`Cloud: offline${pending}`, n.error];
    default:
      return [`Cloud: on${pending}`, n.why];
  }
}

export function statusBar() {
  const engine = h("span", { id: "status-engine", class: "status-item" }, "Engine: …");
  const device = h("span", { id: "status-device", class: "status-item" });
  const model = h("span", { id: "status-model", class: "status-item" });
  const power = h("span", { id: "status-power", class: "status-item muted", title: "Battery and thermal state" }, "Power: not monitored");
  const network = h("span", { id: "status-network", class: "status-item muted" });
  const el = h("footer", { id: "status-bar", role: "status", "aria-label": "Status" }, engine, device, model, h("span", { class: "spacer" }), power, network);
  let last: AppStatus | null = null;
  let busy = false;

  function renderEngine() {
    if (!last) return;
    const r = last.report;
    const local = r.engine.available.includes("local");
    engine.textContent = busy ? "Engine: working…" : local ? "Engine: ready" : last.worker ? "Engine: extractive only (no model)" : "Engine: extractive only";
    engine.dataset.state = busy ? "working" : local ? "ready" : "extractive";
  }

  return {
    el,
    update(s: AppStatus) {
      last = s;
      busy = busy || s.busy;
      const r = s.report;
      renderEngine();
      const gpu = r.engine.devices.find((d) => d.gpu);
      const kernels = r.engine.device === "CPU" && r.engine.cpu_variant ? ` (${r.engine.cpu_variant} kernels)` : "";
      device.textContent = s.worker
        ? `Device: ${r.engine.device}${kernels}${gpu && r.engine.device === "CPU" ? " (GPU not used)" : ""}`
        : "Device: CPU (no engine worker installed)";
      model.textContent = r.active_model ? `Model: ${r.active_model.id}` : "Model: none";
      const [net, netTitle] = networkText(r);
      network.textContent = net;
      network.title = netTitle;
      network.dataset.state = r.connectivity.state;
      power.textContent = powerText(r.power);
      power.title = `${r.power.why}${r.power.missing.length ? ` (${r.power.missing.join(", ")})` : ""}`;
      power.dataset.mode = r.power.mode;
      power.classList.toggle("muted", r.power.mode !== "saver");
    },
    setBusy(on: boolean) {
      busy = on;
      renderEngine();
    },
    failed(e: UiError) {
      engine.textContent = `Engine: status unavailable (${e.message})`;
    },
  };
}
