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

  async function startApp() {
    fakeShell({
      app_info: () => ({ version: "0.1.0", home: "/tmp/h", openError: null, worker: null }),
      status: () => status,
      load_draft: () => null,
      history: () => [],
      list_models: () => [],
      model_catalog: () => ({ source: "built-in catalog", signed_by: null, error: null, metered: false, entries: [] }),
      ledger_report: () => null,
      get_settings: () => ({ form: { cloudEnabled: false, endpoint: null, model: null, workOffline: false, redact: {}, powerMode: "auto", prefer: "auto", notifications: true }, keySource: "none", configPath: "/tmp/h/config.toml" }),
    });
    const root = document.createElement("div");
    document.body.append(root);
    await start(root);
    await settle();
    return root;
  }

  it("steps the text size with Ctrl +/− and Ctrl 0, and keeps it for the next start", async () => {
    localStorage.removeItem("fieldbrief.textScale");
    await startApp();
    const scale = () => document.documentElement.style.getPropertyValue("--text-scale");
    expect(scale()).toBe("1");
    const ctrl = (k: string) => document.dispatchEvent(new KeyboardEvent("keydown", { key: k, ctrlKey: true, bubbles: true, cancelable: true }));
    ctrl("+");
    ctrl("=");
    expect(scale()).toBe("1.3");
    expect(byId<HTMLSelectElement>("text-size").value).toBe("1.3");
    expect(byId("toast").textContent).toBe("Text 130 %");
    ctrl("-");
    expect(scale()).toBe("1.15");
    for (let i = 0; i < 10; i++) ctrl("+");
    expect(scale()).toBe("2");
    expect(localStorage.getItem("fieldbrief.textScale")).toBe("2");
    // The next start reads it back (the laptop's saved preference).
    document.documentElement.style.removeProperty("--text-scale");
    await startApp();
    expect(scale()).toBe("2");
    ctrl("0");
    expect(scale()).toBe("1");
  });

  it("offers a high-contrast theme", async () => {
    await startApp();
    const theme = byId<HTMLSelectElement>("theme");
    theme.value = "contrast";
    theme.dispatchEvent(new Event("change"));
    expect(document.documentElement.dataset.theme).toBe("contrast");
    expect(localStorage.getItem("fieldbrief.theme")).toBe("contrast");
    theme.value = "system";
    theme.dispatchEvent(new Event("change"));
  });

  it("names every control for screen readers and lets the keyboard reach every view", async () => {
    const root = await startApp();
    const views = ["summarize", "history", "models", "ledger", "settings"];
    for (const [i, v] of views.entries()) {
      document.dispatchEvent(new KeyboardEvent("keydown", { key: String(i + 1), altKey: true, bubbles: true }));
      await settle();
      expect(byId(`view-${v}`).hidden, v).toBe(false);
    }
    const unnamed: string[] = [];
    const controls = root.querySelectorAll<HTMLElement>("button, select, input, textarea, [role=tab], summary");
    expect(controls.length).toBeGreaterThan(40);
    for (const el of controls) {
      if (el.closest("[hidden]") && !el.id) continue;
      const labelled = el.id && root.querySelector(`label[for="${el.id}"]`);
      const name = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.closest("label")?.textContent?.trim() || labelled || el.title || el.textContent?.trim() || (el as HTMLInputElement).placeholder;
      if (!name) unnamed.push(el.outerHTML.slice(0, 120));
      // Reachable by Tab: nothing interactive is taken out of the tab order except the
      // tabs themselves (arrow keys move between them, as WAI-ARIA's tab pattern says).
      if (el.getAttribute("role") !== "tab" && el.tabIndex < 0) unnamed.push(`not focusable: ${el.outerHTML.slice(0, 120)}`);
    }
    expect(unnamed).toEqual([]);
  });
});
