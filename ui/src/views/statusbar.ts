// The status bar: engine state and device, active model, and the places power and
// connectivity take when their monitors arrive.

import { h } from "../dom";
import type { AppStatus, UiError } from "../types";

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
      device.textContent = s.worker ? `Device: ${r.engine.device}${gpu && r.engine.device === "CPU" ? " (GPU not used)" : ""}` : "Device: CPU (no engine worker installed)";
      model.textContent = r.active_model ? `Model: ${r.active_model.id}` : "Model: none";
      network.textContent = r.cloud.enabled ? "Cloud: on" : "Cloud: off (nothing leaves this laptop)";
      network.title = r.connectivity;
      if (r.power) power.textContent = "Power: see details";
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
