// Small pieces of DOM both sections of the Models view draw.

import { h } from "../../dom";
import type { Trust } from "../../types";
import { type Line, TRUST_LABELS, TRUST_MEANINGS } from "./shape";

export function trustBadge(trust: Trust): HTMLElement {
  return h("span", { class: "badge trust-badge", "data-trust": trust, title: TRUST_MEANINGS[trust] }, TRUST_LABELS[trust] ?? trust);
}

/** A shaped line as an element: `strong` for emphasis, a span with the tone's class otherwise. */
export function lineEl(line: Line): HTMLElement {
  switch (line.tone) {
    case "strong":
      return h("strong", {}, line.text);
    case "plain":
      return h("span", {}, line.text);
    default:
      return h("span", { class: line.tone }, line.text);
  }
}
