// The app shell: header with the three views, the status bar, theme, keyboard shortcuts.

import "./style.css";
import { api, onDragging, onFilesDropped, onRefined, onReopened } from "./api";
import { windowInFront } from "./focus";
import { clear, h } from "./dom";
import type { Context, View, ViewName } from "./context";
import { historyView } from "./views/history";
import { ledgerView } from "./views/ledger";
import { modelsView } from "./views/models";
import { settingsView } from "./views/settings";
import { statusBar } from "./views/statusbar";
import { summarizeView } from "./views/summarize";
import type { Refinement, UiError } from "./types";

type Theme = "system" | "light" | "dark" | "contrast";

/** Text sizes offered (Ctrl +/− steps through them, Ctrl 0 goes back to 100 %). */
export const TEXT_SCALES = [0.85, 1, 1.15, 1.3, 1.5, 1.75, 2];

export async function start(root: HTMLElement): Promise<void> {
  const status = statusBar();
  const toast = h("div", { id: "toast", class: "toast", role: "status", "aria-live": "polite", hidden: true });
  let toastTimer: ReturnType<typeof setTimeout> | undefined;

  const views: Partial<Record<ViewName, View>> = {};
  let current: ViewName = "summarize";
  const ctx: Context = {
    api,
    refreshStatus: () => {
      api.status().then(status.update, (e: UiError) => status.failed(e));
    },
    setBusy: (b) => status.setBusy(b),
    show: (v) => show(v),
    notify: (message) => {
      toast.textContent = message;
      toast.hidden = false;
      if (toastTimer) clearTimeout(toastTimer);
      toastTimer = setTimeout(() => (toast.hidden = true), 2500);
    },
    openNote: (id) => {
      show("history");
      void history.openNote(id);
    },
  };

  const summarize = summarizeView(ctx);
  const history = historyView(ctx, (id, title) => {
    show("summarize");
    summarize.summarizeSaved(id, title);
  });
  const models = modelsView(ctx);
  const ledger = ledgerView(ctx);
  const settings = settingsView(ctx);
  views.summarize = summarize;
  views.history = history;
  views.models = models;
  views.ledger = ledger;
  views.settings = settings;

  const tabs: Record<ViewName, HTMLButtonElement> = {
    summarize: tab("summarize", "Summarize", "Alt+1"),
    history: tab("history", "History", "Alt+2"),
    models: tab("models", "Models", "Alt+3"),
    ledger: tab("ledger", "Ledger", "Alt+4"),
    settings: tab("settings", "Settings", "Alt+5"),
  };
  function tab(name: ViewName, label: string, key: string) {
    return h("button", { type: "button", role: "tab", id: `tab-${name}`, "aria-controls": `view-${name}`, title: `${label} (${key})`, onclick: () => show(name) }, label);
  }

  const themeSelect = h(
    "select",
    { id: "theme", "aria-label": "Theme" },
    h("option", { value: "system" }, "System theme"),
    h("option", { value: "light" }, "Light"),
    h("option", { value: "dark" }, "Dark"),
    h("option", { value: "contrast" }, "High contrast"),
  );
  const savedTheme = (localStorage.getItem("fieldbrief.theme") as Theme | null) ?? "system";
  themeSelect.value = savedTheme;
  applyTheme(savedTheme);
  themeSelect.addEventListener("change", () => {
    const t = themeSelect.value as Theme;
    localStorage.setItem("fieldbrief.theme", t);
    applyTheme(t);
  });
  systemDark?.addEventListener("change", () => applyTheme(themeSelect.value as Theme));

  // Text size, for gloves, sunlight and small screens: saved on this laptop like the theme.
  const sizeSelect = h(
    "select",
    { id: "text-size", "aria-label": "Text size", title: "Text size (Ctrl + / Ctrl − / Ctrl 0)" },
    ...TEXT_SCALES.map((f) => h("option", { value: String(f) }, `Text ${Math.round(f * 100)} %`)),
  );
  function setScale(f: number) {
    const nearest = TEXT_SCALES.reduce((a, b) => (Math.abs(b - f) < Math.abs(a - f) ? b : a));
    sizeSelect.value = String(nearest);
    document.documentElement.style.setProperty("--text-scale", String(nearest));
    localStorage.setItem("fieldbrief.textScale", String(nearest));
  }
  setScale(Number(localStorage.getItem("fieldbrief.textScale") ?? "1") || 1);
  sizeSelect.addEventListener("change", () => setScale(Number(sizeSelect.value)));
  function stepScale(by: number) {
    const i = TEXT_SCALES.indexOf(Number(sizeSelect.value));
    setScale(TEXT_SCALES[Math.min(TEXT_SCALES.length - 1, Math.max(0, i + by))]);
    ctx.notify(`Text ${Math.round(Number(sizeSelect.value) * 100)} %`);
  }

  const tablist = h("nav", { role: "tablist", "aria-label": "Views" }, ...Object.values(tabs));
  const header = h("header", { id: "app-header" }, h("h1", {}, "Fieldbrief"), tablist, h("span", { class: "spacer" }), sizeSelect, themeSelect);
  const main = h("main", { id: "views" }, summarize.el, history.el, models.el, ledger.el, settings.el);
  // "A better summary is ready": stays until read or dismissed (unlike the toast), with a way
  // to the note.
  const refined = h("div", { id: "refined-notice", class: "notice", role: "status", "aria-live": "polite", hidden: true });
  function announceRefined(r: Refinement) {
    clear(
      refined,
      h("span", {}, `A better summary of “${r.note_title}” is ready (refined in the cloud).`),
      h("button", { type: "button", id: "open-refined", class: "primary", onclick: () => {
        refined.hidden = true;
        show("history");
        void history.openNote(r.note_id);
      } }, "Open"),
      h("button", { type: "button", id: "dismiss-refined", onclick: () => (refined.hidden = true) }, "Dismiss"),
    );
    refined.hidden = false;
    ctx.refreshStatus();
    if (r.state === "done" && !windowInFront()) void api.notifyFinished("refinement", r.note_title).catch(() => {});
  }
  root.replaceChildren(header, refined, main, status.el, toast);
  root.removeAttribute("aria-busy");

  function show(name: ViewName) {
    current = name;
    for (const [n, v] of Object.entries(views) as [ViewName, View][]) {
      v.el.hidden = n !== name;
      tabs[n].setAttribute("aria-selected", String(n === name));
      tabs[n].tabIndex = n === name ? 0 : -1;
    }
    views[name]?.shown?.();
  }

  tablist.addEventListener("keydown", (e) => {
    const order: ViewName[] = ["summarize", "history", "models", "ledger", "settings"];
    const i = order.indexOf(current);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const next = order[(i + (e.key === "ArrowRight" ? 1 : order.length - 1)) % order.length];
      show(next);
      tabs[next].focus();
      e.preventDefault();
    }
  });

  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && ["+", "=", "-", "_", "0"].includes(e.key)) {
      if (e.key === "0") setScale(1);
      else stepScale(e.key === "-" || e.key === "_" ? -1 : 1);
      e.preventDefault();
      return;
    }
    if (e.altKey && ["1", "2", "3", "4", "5"].includes(e.key)) {
      show((["summarize", "history", "models", "ledger", "settings"] as ViewName[])[Number(e.key) - 1]);
      e.preventDefault();
      return;
    }
    if (views[current]?.onKey?.(e)) e.preventDefault();
  });
  window.addEventListener("beforeunload", () => summarize.flush());
  document.addEventListener("visibilitychange", () => summarize.flush());

  show("summarize");
  // Nothing below blocks the window from being used.
  const info = await api.appInfo().catch((e: UiError) => ({ openError: e.message }) as { openError: string | null });
  if (info.openError) {
    main.replaceChildren(
      h(
        "section",
        { class: "view fatal", role: "alert" },
        h("h2", {}, "Fieldbrief cannot open its data"),
        h("p", {}, info.openError),
        h("p", { class: "muted" }, "Nothing was changed. Fix the problem above (for example the settings file) and start Fieldbrief again."),
      ),
    );
    return;
  }
  void summarize.restoreDraft();
  ctx.refreshStatus();
  void onFilesDropped((files) => {
    show("summarize");
    summarize.filesDropped(files);
  });
  void onDragging((active) => summarize.dragging(active));
  // Started again: this window is the one (the second launch exits), with its files.
  void onReopened((files) => {
    ctx.notify("Fieldbrief is already open: here it is.");
    if (files.length) {
      show("summarize");
      summarize.filesDropped(files);
    }
  });
  void onRefined(announceRefined);
  // Keeps the status bar's battery, mode and cloud state current.
  setInterval(() => {
    if (!document.hidden) ctx.refreshStatus();
  }, 15000);
}

// "System" follows the OS setting as it changes; the stylesheet has one palette per theme.
const systemDark = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;

function applyTheme(t: Theme) {
  document.documentElement.dataset.theme = t === "system" ? (systemDark?.matches ? "dark" : "light") : t;
}

const root = document.getElementById("app");
if (root && !import.meta.env.VITEST) {
  start(root).catch((e) => {
    root.textContent = `Fieldbrief could not start its window: ${e instanceof Error ? e.message : String(e)}`;
  });
}
