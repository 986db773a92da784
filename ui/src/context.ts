// What the views share: the API, and hooks into the app shell around them.

import type { api } from "./api";
import type { UiError } from "./types";

export interface Context {
  api: typeof api;
  /** Refreshes the status bar (after a summary, a model change…). */
  refreshStatus: () => void;
  /** Tells the status bar whether the engine is working. */
  setBusy: (busy: boolean) => void;
  /** Switches to a view. */
  show: (view: ViewName) => void;
  /** A short confirmation ("Copied") in the corner, announced to screen readers. */
  notify: (message: string) => void;
  /** Opens a saved note in the History view. */
  openNote: (id: number) => void;
}

export type ViewName = "summarize" | "history" | "models" | "ledger" | "settings";

export interface View {
  el: HTMLElement;
  /** Called each time the view is shown. */
  shown?: () => void;
  /** Keyboard shortcuts while the view is shown; true when handled. */
  onKey?: (e: KeyboardEvent) => boolean;
}

/** An error box: role=alert, so screen readers announce it; hidden when empty. */
export function errorBox(id: string) {
  const el = document.createElement("div");
  el.id = id;
  el.className = "error";
  el.setAttribute("role", "alert");
  el.hidden = true;
  return {
    el,
    show(e: UiError | string) {
      const message = typeof e === "string" ? e : e.message;
      el.textContent = message;
      el.dataset.kind = typeof e === "string" ? "failure" : e.kind;
      el.hidden = false;
    },
    clear() {
      el.textContent = "";
      el.hidden = true;
    },
  };
}
