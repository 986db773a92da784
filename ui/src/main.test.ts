import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import { byId, fakeShell, reset, settle } from "./test-helpers";

const status = {
  report: {
    version: "0.1.0",
    active_model: null,
    engine: { backend: "cpu", device: "CPU", devices: [], available: ["extractive"] },
    cloud: { enabled: true, endpoint: "https://llm.example/v1", model: "m", work_offline: false, deferred_pending: 1 },
    connectivity: { state: "online" },
    power: { source: "trace", snapshot: { battery: null, cpu_celsius: null, throttling: false, cpu_load: null }, thermal: "unknown", mode: "performance", why: "on AC", missing: [] },
    counts: { notes: 1, summaries: 1, requests: 1 },
  },
  busy: false,
  worker: false,
};

describe("app shell", () => {
  afterEach(reset);

  it("announces a refined summary until it is read, and opens its note", async () => {
    const shell = fakeShell({
      app_info: () => ({ version: "0.1.0", home: "/tmp/h", openError: null, worker: null }),
      status: () => status,
      load_draft: () => null,
      history: () => [],
      open_note: (a) => ({ id: a.id, created_at: "2026-11-30T10:00:00Z", title: "Pump P-101", source_kind: "typed", source_name: "typed", source_path: null, original_bytes: 10, est_tokens: 3, encoding: "utf-8", pages: null, notices: [], text: "Pump P-101 note", summaries: [] }),
    });
    const root = document.createElement("div");
    document.body.append(root);
    await start(root);
    await settle();
    expect(byId("refined-notice").hidden).toBe(true);
    await emit("fieldbrief://refined", { job_id: 1, note_id: 42, note_title: "Pump P-101", state: "done", detail: "a cloud summary is ready", request_id: "r1" });
    await settle();
    expect(byId("refined-notice").hidden).toBe(false);
    expect(byId("refined-notice").textContent).toContain("A better summary of “Pump P-101” is ready");
    byId("open-refined").click();
    await settle();
    expect(shell.named("open_note")).toEqual([{ id: 42 }]);
    expect(byId("view-history").hidden).toBe(false);
    expect(byId("refined-notice").hidden).toBe(true);
  });

  it("has a Settings tab reached by Alt+5", async () => {
    fakeShell({
      app_info: () => ({ version: "0.1.0", home: "/tmp/h", openError: null, worker: null }),
      status: () => status,
      load_draft: () => null,
      get_settings: () => ({ form: { cloudEnabled: false, endpoint: null, model: null, workOffline: false, redact: {}, powerMode: "auto", prefer: "auto" }, keySource: "none", configPath: "/tmp/h/config.toml" }),
    });
    const root = document.createElement("div");
    document.body.append(root);
    await start(root);
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "5", altKey: true, bubbles: true }));
    await settle();
    expect(byId("view-settings").hidden).toBe(false);
    expect(byId("tab-settings").getAttribute("aria-selected")).toBe("true");
  });
});
