// The shapes the shell's commands return: serde's serialisation of the Rust types in
// crates/pipeline, crates/store and crates/core (snake_case fields, as the CLI's JSON).

export type Style = "bullets" | "brief" | "handover";
export type Route = "cache" | "local" | "local-chunked" | "cloud" | "extractive" | "deferred";
export type Outcome = "pending" | "accepted" | "rejected" | "edited" | "regenerated";

export interface UiError {
  kind: "bad_input" | "cancelled" | "failure";
  message: string;
}

export interface Reason {
  code: string;
  detail: string;
}

export interface ModelRef {
  id: string;
  version: string;
}

export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

export interface Verdict {
  passed: boolean;
  checks: Check[];
}

export interface DocumentInfo {
  name: string;
  kind: string;
  words: number;
  tokens: number;
  bytes: number;
  encoding: string;
  pages: number | null;
  notices: string[];
}

export interface SummaryReport {
  request_id: string;
  note_id: number | null;
  route: Route;
  reasons: Reason[];
  summary: string | null;
  model: ModelRef | null;
  engine: string | null;
  prompt_version: string | null;
  style: Style;
  /** The length target in words… */
  max_words: number;
  /** …and where it came from: asked for, configured, or scaled to the note's length. */
  length_from?: "request" | "settings" | "note" | null;
  tokens: { input: number; output: number };
  timings_ms: {
    ingest: number;
    save_note: number;
    route: number;
    generate: number;
    store: number;
    total: number;
    /** The local model's time to its first token (0 without one). */
    first_token?: number;
    /** Speculative decoding: tokens guessed from the note, and how many were right. */
    drafted?: number;
    accepted?: number;
  };
  quality: Verdict | null;
  dry_run: boolean;
  chunks: number;
  /** Lines the local model rewrote, and lines that kept the note's own words. */
  lines?: { written: number; kept: number };
  document: DocumentInfo;
  /** For "deferred": the route that served the note now. */
  interim_route?: Route | null;
  power?: PowerState | null;
  connectivity?: NetState;
  /** A dry run of a cloud or deferred route: exactly what would be sent. */
  preview?: CloudPreview | null;
  /** A very similar note summarized before: offered, never served in place of this one. */
  similar?: SimilarOffer | null;
  /** For route "cache": the request whose summary was served again. */
  cached?: { request_id: string; created_at: string; producer: string; hits: number } | null;
  cost?: number | null;
  energy_wh?: number | null;
  device_class?: string | null;
}

export interface SimilarOffer {
  note_id: number | null;
  note_title: string;
  summarized_at: string;
  similarity: number;
  summary: string;
  request_id: string;
  route: Route;
}

export interface CloudPreview {
  endpoint: string;
  model: string;
  messages: { role: string; content: string }[];
  redactions: { placeholder: string; kind: string }[];
  bytes: number;
}

export type NetState = { state: "not_probed"; why: string } | { state: "online" } | { state: "offline"; error: string };

export interface PowerState {
  source: "system" | "trace";
  snapshot: {
    battery: { percent: number; on_ac: boolean; time_to_empty_s: number | null; energy_rate_w: number | null } | null;
    cpu_celsius: number | null;
    throttling: boolean;
    cpu_load: number | null;
  };
  thermal: "unknown" | "nominal" | "warm" | "throttling";
  mode: "performance" | "balanced" | "saver";
  why: string;
  missing: string[];
}

export type EngineEvent =
  | { event: "token"; text: string }
  | { event: "progress"; stage: string; done: number; total: number };

export interface GrantedFile {
  token: number;
  name: string;
  bytes: number;
  kind: "pdf" | "text" | "model";
}

/** What the Summarize view summarizes. */
export type Source =
  | { kind: "draft"; id: number | null; body: string }
  | { kind: "file"; token: number }
  | { kind: "saved"; id: number };

export interface Draft {
  id: number;
  body: string;
  updated_at: string;
}

export interface NoteListItem {
  id: number;
  created_at: string;
  title: string;
  source_kind: string;
  source_name: string;
  words: number;
  summaries: number;
}

export interface SearchHit {
  note_id: number;
  title: string;
  created_at: string;
  matched_in: string;
  snippet: string;
}

export interface SummaryRecord {
  id: number;
  request_id: string;
  created_at: string;
  style: string;
  route: string;
  engine: string;
  model: ModelRef | null;
  prompt_version: string;
  /** The summary as it stands: the technician's edit, if they made one. */
  text: string;
  /** What the engine wrote, when the technician edited it. */
  original_text: string | null;
  edited_at: string | null;
}

export interface NoteRecord {
  id: number;
  created_at: string;
  title: string;
  source_kind: string;
  source_name: string;
  source_path: string | null;
  original_bytes: number;
  est_tokens: number;
  encoding: string;
  pages: number | null;
  notices: string[];
  text: string;
  summaries: SummaryRecord[];
}

// The Models view's types are generated from the Rust ones (src-tauri/tests/ui_types.rs checks
// that contract.ts is what they say).
export type { CatalogItem, CatalogView, ChatFormat, ModelEntry, ModelInfo, PullProgress, PullState, Rollback, Trust, VerifyReport } from "./contract";

export interface Device {
  name: string;
  description: string;
  backend: string;
  gpu: boolean;
}

export interface StatusReport {
  version: string;
  active_model: ModelRef | null;
  engine: {
    backend: string;
    device: string;
    devices: Device[];
    /** The CPU instruction set of the running worker's kernels ("x86-64-v4": AVX-512…). */
    cpu_variant?: string | null;
    available: string[];
  };
  cloud: { enabled: boolean; endpoint: string | null; model: string | null; work_offline?: boolean; deferred_pending?: number };
  connectivity: NetState;
  power: PowerState;
  counts: { notes: number; summaries: number; requests: number };
}

export interface AppStatus {
  report: StatusReport;
  busy: boolean;
  worker: boolean;
}

export interface AppInfo {
  version: string;
  home: string | null;
  openError: string | null;
  worker: string | null;
}

export type PowerOverride = "auto" | "performance" | "balanced" | "saver";
export type Preference = "auto" | "local" | "cloud";
export type KeySource = "environment" | "keychain" | "none";

/** What the Settings view edits (written to config.toml by the shell). */
export interface SettingsForm {
  cloudEnabled: boolean;
  endpoint: string | null;
  model: string | null;
  workOffline: boolean;
  redact: Record<string, string>;
  powerMode: PowerOverride;
  prefer: Preference;
  /** The connection is metered: models are never downloaded on their own. */
  metered: boolean;
}

export interface SettingsView {
  form: SettingsForm;
  keySource: KeySource;
  configPath: string;
}

/** A cloud refinement the background runner finished (event `fieldbrief://refined`). */
export interface Refinement {
  job_id: number;
  note_id: number;
  note_title: string;
  state: "done" | "waiting" | "failed" | "dropped";
  detail: string;
  request_id: string | null;
}

export interface ReportRow {
  route: string;
  model: string;
  power_mode: string;
  device_class: string;
  requests: number;
  succeeded: number;
  failed: number;
  success_rate: number;
  fallback_rate: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  output_tokens: number;
  cost: number;
  energy_wh: number;
  cost_per_success: number | null;
}

export interface TrialRow {
  device_class: string;
  power_mode: string;
  local_models: string[];
  requests: number;
  local_requests: number;
  local_success_rate: number | null;
  local_latency_p50_ms: number;
  local_latency_p95_ms: number;
  cloud_fallback_rate: number;
  cost_per_success: number | null;
}

export interface LedgerReport {
  since: string | null;
  requests: number;
  succeeded: number;
  cache_hits: number;
  cache_hit_rate: number;
  cost: number;
  energy_wh: number;
  cost_per_success: number | null;
  rows: ReportRow[];
  trial: TrialRow[];
}

export interface LedgerDay {
  day: string;
  requests: number;
  succeeded: number;
  routes: Record<string, number>;
  cache_hits: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  cost: number;
}

export interface Dashboard {
  report: LedgerReport;
  days: LedgerDay[];
  cache: { entries: number; bytes: number; hits: number };
  currency: string;
}
