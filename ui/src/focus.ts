// Whether the window is in front: what the desktop says (focus and blur events, hidden
// when minimized), so finished work is announced by a notification only when it would
// otherwise go unseen.

let focused = typeof document !== "undefined" && document.hasFocus();
if (typeof window !== "undefined") {
  window.addEventListener("focus", () => (focused = true));
  window.addEventListener("blur", () => (focused = false));
}

export function windowInFront(): boolean {
  return focused && !document.hidden;
}
