// One download's widget: a bar, its state (a live region that changes with the state only),
// bytes, rate and time left, and Pause / Resume / Cancel as the state allows. Where it sits
// (its catalog row, or the list below the catalog) is catalog.ts's business.

import { h } from "../../dom";
import type { PullProgress } from "../../types";
import { downloadControls, downloadDetail, downloadStateText } from "./shape";

export interface DownloadWidget {
  el: HTMLElement;
  progress: PullProgress;
  update: (p: PullProgress) => void;
  /** Focuses the first button the state shows (the widget itself when none). */
  focus: () => void;
}

export interface DownloadActions {
  pause: (id: string) => void;
  resume: (id: string) => void;
  cancel: (id: string) => void;
}

export function downloadWidget(initial: PullProgress, actions: DownloadActions): DownloadWidget {
  const id = initial.id;
  const bar = h("progress", { class: "download-progress" });
  const state = h("span", { class: "download-state", "aria-live": "polite" });
  const detail = h("span", { class: "download-detail muted" });
  const pause = h("button", { type: "button", class: "pause-download", "aria-label": `Pause download of ${id}`, onclick: () => actions.pause(id) }, "Pause");
  const resume = h("button", { type: "button", class: "resume-download", "aria-label": `Resume download of ${id}`, onclick: () => actions.resume(id) }, "Resume");
  const cancel = h(
    "button",
    { type: "button", class: "cancel-download", "aria-label": `Cancel download of ${id}`, title: "Stop and delete the partial file", onclick: () => actions.cancel(id) },
    "Cancel",
  );
  const el = h(
    "div",
    { class: "download", "data-download": id, tabindex: -1 },
    bar,
    h("div", { class: "download-text" }, state, " ", detail),
    h("div", { class: "download-actions" }, pause, resume, cancel),
  );
  const w: DownloadWidget = {
    el,
    progress: initial,
    update(p) {
      w.progress = p;
      el.dataset.state = p.state;
      el.dataset.version = p.version;
      bar.setAttribute("aria-label", `Download of ${p.id} ${p.version}`);
      if (p.total && p.total > 0) {
        bar.max = p.total;
        bar.value = Math.min(p.downloaded, p.total);
      } else {
        bar.removeAttribute("value"); // size unknown: an indeterminate bar
      }
      const text = downloadDetail(p);
      bar.setAttribute("aria-valuetext", text);
      detail.textContent = text;
      const stateText = downloadStateText(p);
      if (state.textContent !== stateText) state.textContent = stateText;
      const focused = document.activeElement;
      const shown = downloadControls(p.state);
      pause.hidden = !shown.pause;
      resume.hidden = !shown.resume;
      cancel.hidden = !shown.cancel;
      if (focused instanceof HTMLElement && el.contains(focused) && focused.hidden) w.focus();
    },
    focus() {
      ([resume, pause, cancel].find((b) => !b.hidden) ?? el).focus();
    },
  };
  w.update(initial);
  return w;
}
