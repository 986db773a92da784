// Pure presentation helpers, unit tested in format.test.ts.

import type { Reason, Route, SummaryReport } from "./types";

export const ROUTE_LABELS: Record<Route, string> = {
  cache: "Cache",
  local: "Local model",
  "local-chunked": "Local model, in parts",
  cloud: "Cloud",
  extractive: "Extractive",
  deferred: "Deferred",
};

/** One line saying what each route means, for the badge's tooltip. */
export const ROUTE_MEANINGS: Record<Route, string> = {
  cache: "Served from the offline cache: the same note was summarized before.",
  local: "Written by the language model on this laptop.",
  "local-chunked": "Too long for the local model at once: summarized in parts, then combined.",
  cloud: "Written by your organisation's cloud model (you allowed it for this note).",
  extractive: "Sentences picked from the note itself, word for word; no model involved.",
  deferred: "A local summary now; a better one is queued for when the laptop is online.",
};

export function routeLabel(route: string): string {
  return ROUTE_LABELS[route as Route] ?? route;
}

/** The router's reasons as sentences: the detail when there is one, else the code. */
export function reasonLines(reasons: Reason[]): string[] {
  return reasons.map((r) => (r.detail ? r.detail : r.code.replace(/_/g, " ")));
}

/** The summary's length against its target, e.g. "38 of 45 words (scaled to the 150-word note)". */
export function lengthLine(r: Pick<SummaryReport, "summary" | "max_words" | "length_from" | "document">): string {
  const words = (r.summary ?? "").split(/\s+/).filter((w) => w && !["-", "*", "•"].includes(w)).length;
  const from =
    r.length_from === "note"
      ? `scaled to the ${r.document.words}-word note`
      : r.length_from === "settings"
        ? "the length in Settings"
        : r.length_from === "request"
          ? "the length asked for"
          : "";
  return `${words} of ${r.max_words} words${from ? ` (${from})` : ""}`;
}

/** How the local model wrote the summary, for one written line by line; "" otherwise. */
export function linesLine(r: Pick<SummaryReport, "lines">): string {
  if (!r.lines) return "";
  const total = r.lines.written + r.lines.kept;
  const kept = r.lines.kept ? `; ${r.lines.kept} kept the note's own words` : "";
  return `the model rewrote ${r.lines.written} of ${total} lines${kept}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A transfer rate in the decimal units download tools show, e.g. "3.2 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 1) return "0 B/s";
  const units = ["kB/s", "MB/s", "GB/s"];
  if (bytesPerSecond < 1000) return `${Math.round(bytesPerSecond)} B/s`;
  let v = bytesPerSecond / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Time left, roughly (an estimate jumps about: no false precision), e.g. "about 2 min left".
 * Empty when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 10) return "a few seconds left";
  if (seconds < 60) return "less than a minute left";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `about ${hours} h left` : `about ${hours} h ${rest} min left`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A stored UTC timestamp in the user's local time, e.g. "21 Nov 2026, 10:42". */
export function formatWhen(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The summary as a Markdown document that says where it came from. */
export function summaryMarkdown(r: SummaryReport, when: Date = new Date()): string {
  const lines = [
    `# Summary: ${r.document.name}`,
    "",
    (r.summary ?? "").trim(),
    "",
    "---",
    "",
    `- Source: ${r.document.name} (${r.document.words} words)`,
    `- Style: ${r.style}, ${lengthLine(r)}`,
    `- Route: ${routeLabel(r.route)}${r.model ? ` (${r.model.id}@${r.model.version})` : ""}`,
    `- Made: ${when.toISOString().replace(/\.\d+Z$/, "Z")} by Fieldbrief`,
  ];
  if (r.quality && !r.quality.passed) {
    const failed = r.quality.checks.filter((c) => !c.passed).map((c) => c.name);
    lines.push(`- Quality checks failed: ${failed.join(", ")}`);
  }
  return lines.join("\n") + "\n";
}

/** A file name for the exported summary, from the note's name. */
export function exportName(documentName: string): string {
  const stem = documentName.replace(/\.[A-Za-z0-9]{1,5}$/, "").replace(/[^\p{L}\p{N}._-]+/gu, "-").replace(/^-+|-+$/g, "");
  return `${stem || "note"}-summary.md`;
}

/** Search snippets mark hits with [brackets]: split them for highlighting. */
export function snippetParts(snippet: string): { text: string; hit: boolean }[] {
  const parts: { text: string; hit: boolean }[] = [];
  const re = /\[([^\]]*)\]/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) parts.push({ text: snippet.slice(last, m.index), hit: false });
    parts.push({ text: m[1], hit: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) parts.push({ text: snippet.slice(last), hit: false });
  return parts;
}
