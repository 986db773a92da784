// The Models view's data shaping, without the DOM: what each installed version's state reads,
// which rollback notices show, what a verification says, what a catalog row offers and what
// a download's line reads. Pure functions, tested on their own (shape.test.ts); the sections
// (installed.ts, catalog.ts, download.ts) only draw what these return.

import { formatBytes, formatEta, formatRate } from "../../format";
import type { CatalogItem, CatalogView, PullProgress, PullState, ModelEntry, Rollback, Trust, VerifyReport } from "../../types";

export const TRUST_LABELS: Record<Trust, string> = {
  verified: "Verified",
  signed: "Signed",
  "first-use": "Trust on first use",
  imported: "Imported",
};

export const TRUST_MEANINGS: Record<Trust, string> = {
  verified: "Its hash matches the one published in Fieldbrief's built-in catalog.",
  signed: "Its hash matches the one in your organisation's signed catalog.",
  "first-use":
    "No hash was published for this file: the hash computed when it downloaded is pinned, so later changes are caught, but nobody vouched for the copy that arrived.",
  imported: "Imported from disk; no catalog published its hash.",
};

export const TOFU_NOTE =
  "Trust on first use: no catalog publishes a hash for these files, so the download cannot be checked against one. Fieldbrief pins the hash of the copy it got and catches any later change. Only use them if you trust where they came from.";

export const DOWNLOAD_STATES: Record<PullState, string> = {
  starting: "Starting…",
  downloading: "Downloading…",
  retrying: "Retrying…",
  paused: "Paused",
  verifying: "Verifying…",
  testing: "Testing the model…",
  installed: "Installed",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** States in which bytes are moving (or about to): a download can be paused. */
export const RUNNING: PullState[] = ["starting", "downloading", "retrying"];
/** States of a download that is not over: it keeps its widget. */
export const LIVE: PullState[] = [...RUNNING, "paused", "verifying", "testing"];

/** How a piece of text is shown: as a problem, emphasised, plainly or muted. */
export type Tone = "bad" | "strong" | "plain" | "muted";

export interface Line {
  text: string;
  tone: Tone;
}

/** The line under a download's bar: bytes so far, and while it moves, rate and time left. */
export function downloadDetail(p: PullProgress): string {
  const parts = [p.total ? `${formatBytes(p.downloaded)} of ${formatBytes(p.total)}` : formatBytes(p.downloaded)];
  if (p.state === "downloading") {
    if (p.rate_bps > 0) parts.push(formatRate(p.rate_bps));
    const eta = formatEta(p.eta_s);
    if (eta) parts.push(eta);
  }
  return parts.join(" · ");
}

/** The live line of a download: it changes with the state, not with every byte. */
export function downloadStateText(p: PullProgress): string {
  return `${p.id} ${p.version}: ${DOWNLOAD_STATES[p.state] ?? p.state}${p.message ? ` (${p.message})` : ""}`;
}

/** Which of a download's buttons show in a state. */
export function downloadControls(state: PullState): { pause: boolean; resume: boolean; cancel: boolean } {
  const running = RUNNING.includes(state);
  return { pause: running, resume: state === "paused", cancel: running || state === "paused" };
}

/** Versions of one id together, in the order the ids first come; its current version first. */
export function grouped(models: ModelEntry[]): ModelEntry[] {
  const order = new Map<string, number>();
  models.forEach((m) => order.has(m.id) || order.set(m.id, order.size));
  return [...models].sort(
    (a, b) =>
      order.get(a.id)! - order.get(b.id)! ||
      Number(b.current) - Number(a.current) ||
      (b.installed_at ?? "").localeCompare(a.installed_at ?? ""),
  );
}

/** An installed version's state column: the main line, and what it is besides when it is broken. */
export function installedState(m: ModelEntry): { primary: Line; secondary: string | null } {
  const role = m.current ? "Current version" : "Kept for rollback";
  if (m.problem) return { primary: { text: `Unusable: ${m.problem}`, tone: "bad" }, secondary: role };
  if (m.quarantined) return { primary: { text: "Quarantined: it failed a check or crashed the engine", tone: "bad" }, secondary: role };
  if (m.active) return { primary: { text: "Active", tone: "strong" }, secondary: null };
  return { primary: { text: role, tone: m.current ? "plain" : "muted" }, secondary: null };
}

/** Whether `m` offers "Roll back": it is its id's current version and a usable older one is kept. */
export function canRollBack(m: ModelEntry, all: ModelEntry[]): boolean {
  return m.current && all.some((o) => o.id === m.id && !o.current && !o.problem);
}

/** The rollback notices to show: one per model (its latest), less those dismissed (by key). */
export function rollbackNotices(models: ModelEntry[], dismissed: string[]): { id: string; key: string; rollback: Rollback }[] {
  const seen = new Set<string>();
  const out = [];
  for (const m of models) {
    const r = m.rollback;
    if (!r || seen.has(m.id)) continue;
    seen.add(m.id);
    const key = `${m.id}@${r.at}`;
    if (!dismissed.includes(key)) out.push({ id: m.id, key, rollback: r });
  }
  return out;
}

/** The headline of a verification. */
export function verifyHeadline(reports: VerifyReport[]): Line {
  const bad = reports.filter((r) => !r.ok).length;
  if (reports.length === 0) return { text: "No model files to check.", tone: "plain" };
  if (bad === 0) return { text: `All ${reports.length} model files match their recorded hashes.`, tone: "plain" };
  return { text: `${bad} of ${reports.length} model files do not match their recorded hashes.`, tone: "bad" };
}

/** A catalog row's "On this laptop" column. */
export function catalogHere(item: CatalogItem): Line {
  if (item.current === item.version) return { text: "Installed", tone: "strong" };
  if (item.installed.includes(item.version)) return { text: "Downloaded, not in use", tone: "plain" };
  if (item.current) return { text: `You have ${item.current}`, tone: "muted" };
  return { text: "Not installed", tone: "muted" };
}

/** The button a catalog row offers when no download of it runs: none once that version is here. */
export function catalogAction(item: CatalogItem): "Update" | "Download" | null {
  if (item.installed.includes(item.version)) return null;
  // What will not run here (or was halted) is shown greyed out with why, never downloaded.
  if (item.incompatible.length > 0 || item.halted) return null;
  return item.update_available ? "Update" : "Download";
}

/** What "Check for updates" reports. */
export function updatesText(view: CatalogView): string {
  if (view.error) return "Could not use the organisation catalog.";
  const updates = view.entries.filter((e) => e.update_available && e.offered).length;
  return updates === 0 ? "Everything is up to date." : updates === 1 ? "1 update available." : `${updates} updates available.`;
}
