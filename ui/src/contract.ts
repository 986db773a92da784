// Generated from the Rust types by src-tauri/src/contract.rs (ts-rs): do not edit.
// After changing one of them: FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --lib contract

export type AppInfo = { version: string, home: string | null, 
/**
 * Why the data directory could not be opened; the UI shows it instead of its views.
 */
openError: string | null, 
/**
 * The engine worker beside the app; without it only extractive summaries are possible.
 */
worker: string | null, };

export type AppStatus = { report: StatusReport, 
/**
 * A summary is running.
 */
busy: boolean, worker: boolean, };

/**
 * A battery's state as the OS reports it. `None` fields: the OS does not say.
 */
export type Battery = { 
/**
 * State of charge, 0–100.
 */
percent: number, 
/**
 * Mains power is connected (charging or full).
 */
on_ac: boolean, 
/**
 * Seconds until empty at the current draw, while discharging.
 */
time_to_empty_s: number | null, 
/**
 * Watts flowing out of (discharging) or into (charging) the battery.
 */
energy_rate_w: number | null, };

export type CacheStats = { entries: number, bytes: number, hits: number, };

/**
 * Where a cache hit came from.
 */
export type CachedFrom = { 
/**
 * The request that first made this summary.
 */
request_id: string, created_at: string, producer: string, 
/**
 * Times it was served from the cache before this one.
 */
hits: number, };

export type CatalogItem = { size_bytes: number, 
/**
 * The catalog publishes no hash: a "trust on first use" badge.
 */
trust_on_first_use: boolean, 
/**
 * The versions of this id on disk.
 */
installed: Array<string>, 
/**
 * The id's current version.
 */
current: string | null, update_available: boolean, 
/**
 * The laptop has the memory the catalog asks for.
 */
fits_ram: boolean, 
/**
 * Why this version will not run here (app version, engine, disk, memory, context);
 * empty when it will. The Models view greys it out with these.
 */
incompatible: Array<string>, 
/**
 * Offered to this laptop: not staged away from it, not for other cohorts, not halted,
 * not held after a rollback.
 */
offered: boolean, 
/**
 * Where this laptop stands in the entry's rollout, in words ("staged: 5 %, this laptop is
 * not in it yet").
 */
rollout: string, 
/**
 * A download running or paused (its partial file kept).
 */
download: PullProgress | null, id: string, version: string, url: string, 
/**
 * Lower-case hex; `None` when the publisher's hash is not known (trust on first use).
 */
sha256: string | null, 
/**
 * Bytes (exact when `sha256` is known; the download checks it).
 */
size: number, quantization: string, context_length: number, licence: string, min_ram_gb: number, 
/**
 * The chat format the model expects (used when the file carries no template).
 */
prompt_template: string, description: string, 
/**
 * The organisation wants this version installed without asking (never on battery saver
 * or a metered connection). Ignored in the built-in catalog.
 */
auto_install: boolean, 
/**
 * A staged rollout: the share of laptops (0–100 %) that are offered this version
 * (`None`: all). Raising it later reaches more laptops without moving the earlier ones
 * (see [`crate::rollout`]).
 */
rollout_percent?: number | null, 
/**
 * Only laptops in one of these cohorts (`[models] cohort` in their settings) are offered
 * this version, within the share; empty: every laptop.
 */
cohorts?: Array<string>, 
/**
 * The organisation stopped this version: it is not offered, and laptops on it roll back
 * to their previous version at the next check.
 */
halted?: boolean, 
/**
 * What a laptop needs to run this version (besides `min_ram_gb`).
 */
requires?: Requirements, 
/**
 * The file as parts with their hashes (`fieldbrief models parts FILE`), so a laptop with
 * an earlier version fetches only the parts it lacks (see [`crate::delta`]).
 */
parts?: Array<Part>, };

/**
 * The catalog as the app and `models catalog` show it.
 */
export type CatalogView = { 
/**
 * e.g. "built-in catalog" or "organisation catalog https://…".
 */
source: string, 
/**
 * The publisher of a verified signed catalog.
 */
signed_by: string | null, 
/**
 * Why the organisation's catalog could not be used; the built-in entries are listed.
 */
error: string | null, 
/**
 * The user said the connection is metered: nothing downloads without being asked.
 */
metered: boolean, entries: Array<CatalogItem>, };

/**
 * Chat markups of the model families Fieldbrief knows, told apart by the special tokens in
 * the vocabulary: a Gemma file without a template still has `<start_of_turn>`, and feeding it
 * ChatML would be text it never saw in training.
 */
export type ChatFormat = "chat_ml" | "llama3" | "gemma" | "phi3";

export type ChatMessage = { role: string, content: string, };

export type Check = { name: string, passed: boolean, detail: string, };

/**
 * What a cloud request would send: shown by `--dry-run` and the app's send preview, and
 * exactly what the cloud route sends.
 */
export type CloudPreview = { endpoint: string, model: string, 
/**
 * The chat messages, after redaction.
 */
messages: Array<ChatMessage>, 
/**
 * What was replaced (placeholder and kind; never the original value).
 */
redactions: Array<Replacement>, bytes: number, 
/**
 * When it would be sent.
 */
when: SendWhen, };

export type CloudStatus = { enabled: boolean, endpoint: string | null, model: string | null, work_offline: boolean, 
/**
 * Where the API key comes from (`environment`, `keychain`, `none`); never the key.
 * `None` while no cloud request or probe has been made.
 */
key_source: KeySource | null, 
/**
 * Names of the organisation's redaction patterns.
 */
redact_patterns: Array<string>, 
/**
 * Cloud refinements waiting for the network.
 */
deferred_pending: number, };

export type CloudTokens = { input: number, output: number, };

export type Counts = { notes: number, summaries: number, requests: number, };

/**
 * The Ledger view's data.
 */
export type Dashboard = { report: LedgerReport, days: Array<LedgerDay>, cache: CacheStats, currency: string, };

export type Device = { name: string, description: string, 
/**
 * "CPU", "CUDA", "Vulkan", "Metal"…
 */
backend: string, memory_total: number, memory_free: number, gpu: boolean, };

export type DocumentInfo = { name: string, kind: string, words: number, 
/**
 * The note's size in tokens: the local model's own count when one was used, else an
 * estimate.
 */
tokens: number, bytes: number, encoding: string, pages: number | null, notices: Array<string>, };

export type Draft = { id: number, updated_at: string, body: string, };

/**
 * What an engine reports while it works, for streaming to the user.
 */
export type EngineEvent = { "event": "token", text: string, } | { "event": "progress", stage: string, done: number, total: number, };

export type EngineStatus = { 
/**
 * Compute backend of the local engine.
 */
backend: string, 
/**
 * What a local model runs on: the GPU's name, or "CPU".
 */
device: string, 
/**
 * Every compute device llama.cpp sees (asked of a worker process).
 */
devices: Array<Device>, 
/**
 * The CPU instruction set the worker's kernels were built for (`x86-64-v4-vnni`: AVX-512
 * with VNNI, `x86-64-v4`: AVX-512, `x86-64-v3-vnni`: AVX2 with AVX-VNNI, `x86-64-v3`: AVX2;
 * the best one this CPU runs is started).
 */
cpu_variant: string | null, 
/**
 * Engines that can serve a request right now.
 */
available: Array<string>, 
/**
 * What the power mode lets the local engine do now (threads, GPU layers, batch…).
 */
profile: PowerProfile, };

/**
 * What the window does with a failure: point at the input, stay quiet, or show a failure.
 */
export type ErrorKind = "bad_input" | "cancelled" | "scanned" | "failure";

/**
 * What a granted file is, by its extension: the Summarize view takes notes and reports, the
 * Models view takes models.
 */
export type FileKind = "pdf" | "text" | "model";

/**
 * What finished, for a desktop notification.
 */
export type Finished = "summary" | "refinement";

/**
 * A file the user chose in a dialog or dropped on the window. The UI holds only the token:
 * it can name files it was given, never read a path of its own choosing.
 */
export type GrantedFile = { token: number, name: string, bytes: number, kind: FileKind, };

export type KeySource = "environment" | "keychain" | "none";

/**
 * One day of the ledger, for the dashboard's charts over time.
 */
export type LedgerDay = { 
/**
 * `YYYY-MM-DD` (UTC).
 */
day: string, requests: number, succeeded: number, 
/**
 * Requests per route (`none` for those refused before routing).
 */
routes: { [key in string]: number }, cache_hits: number, latency_p50_ms: number, latency_p95_ms: number, cost: number, };

export type LedgerReport = { since: string | null, requests: number, succeeded: number, cache_hits: number, 
/**
 * Cache hits over the requests that were routed.
 */
cache_hit_rate: number, cost: number, energy_wh: number, cost_per_success: number | null, rows: Array<ReportRow>, trial: Array<TrialRow>, };

/**
 * Where a request's length target came from: the technician (per request, or in the
 * settings), or the default for a note of this length ([`Style::target_words`]).
 */
export type LengthFrom = "request" | "settings" | "note";

export type Lines = { written: number, kept: number, };

/**
 * An installed version of a model, as `models list` and the app show it.
 */
export type ModelEntry = { id: string, version: string, path: string, size_bytes: number, 
/**
 * Summaries use it: its id is the active model and this is the id's current version.
 */
active: boolean, 
/**
 * The version its id points at; the others are kept for rollback.
 */
current: boolean, quarantined: boolean, sha256: string, trust: Trust, 
/**
 * RFC 3339.
 */
installed_at: string, 
/**
 * The URL or the imported path.
 */
source: string, 
/**
 * The last automatic (or manual) rollback of this id.
 */
rollback: Rollback | null, 
/**
 * What the file says about itself; `None` when it is not a valid model (see `problem`).
 */
info: ModelInfo | null, problem: string | null, };

/**
 * What a valid model file is, for the models view, routing and the ledger.
 */
export type ModelInfo = { architecture: string, name: string | null, context_length: number, embedding_length: number, block_count: number, vocab_size: number, parameters: number, 
/**
 * The dominant weight type, e.g. "Q8_0".
 */
quantization: string, tensor_count: number, file_size: number, chat_template: string | null, 
/**
 * The chat markup the vocabulary's special tokens belong to, for a file that carries no
 * template llama.cpp can apply (a base model, an older conversion).
 */
chat_format: ChatFormat | null, 
/**
 * Bytes one token takes in an f16 KV cache: every layer's keys and values for the
 * key/value heads (fewer than the query heads in grouped-query attention). Sizes the
 * context to the memory there is.
 */
kv_bytes_per_token: number, };

/**
 * The model behind a summary, as recorded in the ledger.
 */
export type ModelRef = { id: string, version: string, };

/**
 * What was known of the network for a request, for the ledger and the user.
 */
export type NetState = { "state": "not_probed", why: string, } | { "state": "online" } | { "state": "offline", error: string, };

/**
 * A note as listed in history.
 */
export type NoteListItem = { id: number, created_at: string, title: string, source_kind: string, source_name: string, words: number, summaries: number, };

export type NoteRecord = { id: number, created_at: string, title: string, source_kind: string, source_name: string, source_path: string | null, content_hash: string, original_bytes: number, est_tokens: number, encoding: string, pages: number | null, notices: Array<string>, text: string, 
/**
 * Never sent to the cloud, whatever the settings say.
 */
keep_on_device: boolean, summaries: Array<SummaryRecord>, };

/**
 * What the user made of the summary. `Pending` until they react.
 */
export type Outcome = "pending" | "accepted" | "edited" | "rejected" | "regenerated" | "escalated";

/**
 * A byte range of a model file and the SHA-256 of its bytes.
 */
export type Part = { offset: number, size: number, 
/**
 * Lower-case hex.
 */
sha256: string, };

export type PowerMode = "performance" | "balanced" | "saver";

/**
 * The user's choice in the settings: automatic, or one mode always.
 */
export type PowerOverride = "auto" | "performance" | "balanced" | "saver";

/**
 * What a mode lets the local engine do.
 */
export type PowerProfile = { 
/**
 * CPU threads for generation (see [`profile`]).
 */
threads: number, 
/**
 * Upper bound on GPU layers (`None`: as configured / as many as fit).
 */
max_gpu_layers: number | null, 
/**
 * Prompt-processing batch size in tokens.
 */
batch: number, 
/**
 * Share of the requested summary length the engine may generate, in percent.
 */
output_budget_percent: number, 
/**
 * Router limit: the most parts a long note may be summarized in locally before the
 * router prefers the cloud (when allowed) or the extractive summarizer.
 */
max_local_parts: number, };

/**
 * One reading of the laptop's power and thermal state.
 */
export type PowerSnapshot = { 
/**
 * `None`: this machine has no battery (a desktop, a VM) or it cannot be read.
 */
battery: Battery | null, 
/**
 * Hottest CPU sensor, °C. `None`: no sensor.
 */
cpu_celsius: number | null, 
/**
 * The OS or the trace says the CPU is being throttled for heat.
 */
throttling: boolean, 
/**
 * Whole-machine CPU load, 0–1. `None` before the first measurement.
 */
cpu_load: number | null, };

/**
 * Where the readings come from.
 */
export type PowerSource = "system" | "trace";

/**
 * What the status bar, `fieldbrief status` and the ledger show.
 */
export type PowerState = { source: PowerSource, snapshot: PowerSnapshot, thermal: Thermal, mode: PowerMode, 
/**
 * Why the mode is what it is, in words.
 */
why: string, 
/**
 * Plainly what could not be read, e.g. "no battery" or "no temperature sensor".
 */
missing: Array<string>, };

/**
 * The user's routing preference (`[routing] prefer`).
 */
export type Preference = "auto" | "local" | "cloud";

/**
 * Progress of `pull`, for the CLI's bar and the app's event (`fieldbrief://model-download`).
 */
export type PullProgress = { id: string, version: string, state: PullState, downloaded: number, total: number | null, rate_bps: number, eta_s: number | null, message: string | null, };

export type PullState = "starting" | "downloading" | "retrying" | "paused" | "verifying" | "testing" | "installed" | "failed" | "cancelled";

export type Reason = { code: ReasonCode, detail: string, };

/**
 * Stable reason codes. Serialised in snake_case into JSON output and the ledger.
 */
export type ReasonCode = "no_local_model" | "fits_local_context" | "doc_exceeds_local_context" | "doc_complex" | "prefer_cloud" | "prefer_local" | "cloud_permitted" | "cloud_disabled" | "cloud_denied_for_note" | "cloud_not_configured" | "offline" | "work_offline" | "deferred_refinement" | "power_mode_limits_local" | "cache_hit" | "local_engine_failed" | "model_quarantined" | "model_rolled_back" | "model_regressed" | "gpu_fallback" | "quality_gate_failed" | "escalated_after_quality_gate" | "cloud_failed" | "endpoint_unreachable" | "summary_trimmed" | "local_retried" | "extractive_after_quality_gate" | "scanned_pdf_ocr";

/**
 * The outcome of one queued refinement.
 */
export type Refinement = { job_id: number, note_id: number, note_title: string, state: RefinementState, detail: string, 
/**
 * The request that produced the refined summary.
 */
request_id: string | null, };

/**
 * How one queued refinement ended this time.
 */
export type RefinementState = "done" | "waiting" | "failed" | "dropped";

export type Replacement = { placeholder: string, 
/**
 * What the placeholder stands for: `email`, `phone`, `ip` or the configured pattern's name.
 */
kind: string, };

/**
 * One line of the report: one route, served by one model version, in one power mode, on one
 * device class.
 */
export type ReportRow = { route: string, 
/**
 * `model-id@version`, or the engine name for model-free engines.
 */
model: string, power_mode: string, device_class: string, requests: number, succeeded: number, failed: number, success_rate: number, 
/**
 * Requests whose chain fell back somewhere (see [`Entry::fell_back`]).
 */
fallback_rate: number, latency_p50_ms: number, latency_p95_ms: number, output_tokens: number, cost: number, energy_wh: number, 
/**
 * Everything the group spent over the summaries that succeeded; `None` when none did.
 */
cost_per_success: number | null, };

/**
 * What an entry needs of the app and the laptop; an entry that does not fit is shown greyed
 * out with the reason, and neither downloaded nor imported.
 */
export type Requirements = { 
/**
 * The oldest Fieldbrief version that can use it, e.g. "0.4.0".
 */
app_version?: string | null, 
/**
 * The model architecture the engine must know, as GGUF names it (`qwen2`, `gemma3`…).
 */
architecture?: string | null, 
/**
 * Free disk space needed beyond the file itself, in GB (staging, a previous version).
 */
free_disk_gb?: number | null, 
/**
 * The context window, in tokens, the model must be run with (the laptop must have the
 * memory for it and the engine must allow it).
 */
context?: number | null, };

/**
 * The last rollback of a model id (an update that failed its smoke test, or one by hand).
 */
export type Rollback = { from_version: string, to_version: string, reason: string, 
/**
 * RFC 3339.
 */
at: string, };

export type Route = "cache" | "local" | "local-chunked" | "cloud" | "extractive" | "deferred";

/**
 * Where a PDF went, and what it could not draw.
 */
export type SavedPdf = { path: string, pages: number, 
/**
 * Characters the font could not draw (printed as boxes).
 */
missing: Array<string>, };

export type SearchHit = { note_id: number, title: string, created_at: string, 
/**
 * Where the best match was: `"note"` or `"summary"`.
 */
matched_in: string, 
/**
 * Matching text with the hits in `[brackets]`.
 */
snippet: string, };

/**
 * When a previewed request would leave the laptop.
 */
export type SendWhen = "now" | "when_online" | "if_quality_gate_fails";

/**
 * What the app's Settings view shows and edits.
 */
export type SettingsForm = { cloudEnabled: boolean, endpoint: string | null, model: string | null, workOffline: boolean, 
/**
 * The organisation's redaction patterns, name → regular expression.
 */
redact: { [key in string]: string }, powerMode: PowerOverride, prefer: Preference, 
/**
 * The connection is metered: models are never downloaded on their own.
 */
metered: boolean, 
/**
 * A desktop notification when a summary or refinement finishes behind other windows.
 */
notifications: boolean, };

/**
 * The form, and what the view shows beside it.
 */
export type SettingsView = { form: SettingsForm, 
/**
 * Where the cloud's API key comes from (never the key itself).
 */
keySource: KeySource, configPath: string, };

/**
 * A very similar note summarized before: offered to the user, never served in place of a
 * summary of this note.
 */
export type SimilarOffer = { note_id: number | null, note_title: string, 
/**
 * When that summary was made (RFC 3339).
 */
summarized_at: string, 
/**
 * Estimated Jaccard similarity of the two notes' word shingles, 0–1.
 */
similarity: number, summary: string, request_id: string, route: string, };

export type Source = { "kind": "draft", id: number | null, body: string, } | { "kind": "file", token: number, } | { "kind": "saved", id: number, };

export type StatusReport = { version: string, home: string, database: string, schema_version: number, counts: Counts, 
/**
 * The model `summarize` uses when none is named.
 */
active_model: ModelRef | null, engine: EngineStatus, cloud: CloudStatus, 
/**
 * Reachability of the cloud endpoint; never probed while cloud escalation is off.
 */
connectivity: NetState, 
/**
 * Battery, AC, thermal state and power mode.
 */
power: PowerState, };

/**
 * How the summary is laid out. The technician picks one per request.
 */
export type Style = "bullets" | "brief" | "handover";

export type SummarizeRequest = { source: Source, style: Style, maxWords: number | null, 
/**
 * The note never goes to the cloud, now or later.
 */
keepOnDevice: boolean, 
/**
 * Decide and show what would be sent; save, summarize and send nothing.
 */
dryRun: boolean, 
/**
 * Recognise a scanned PDF's text with OCR on the laptop (offered after a scan's refusal).
 */
ocr: boolean, };

export type SummaryRecord = { id: number, request_id: string, created_at: string, style: string, route: string, engine: string, model: ModelRef | null, prompt_version: string, 
/**
 * The summary as it stands: the technician's edit, if they made one.
 */
text: string, 
/**
 * What the engine wrote, when the technician edited it.
 */
original_text: string | null, edited_at: string | null, };

/**
 * What a summarize request produced. Serialises to the CLI contract's JSON object.
 */
export type SummaryReport = { request_id: string, 
/**
 * `None` for a dry run, which saves nothing.
 */
note_id: number | null, route: Route, reasons: Array<Reason>, 
/**
 * `None` for a dry run.
 */
summary: string | null, model: ModelRef | null, engine: string | null, prompt_version: string | null, style: Style, 
/**
 * The length target in words…
 */
max_words: number, 
/**
 * …and where it came from: asked for (`request`), configured (`settings`) or scaled to
 * the note's length (`note`).
 */
length_from: LengthFrom | null, tokens: Tokens, timings_ms: Timings, quality: Verdict | null, dry_run: boolean, 
/**
 * Parts the note was summarized in (1 when it fitted whole).
 */
chunks: number, 
/**
 * For a summary the local model wrote line by line: lines it rewrote, and lines that kept
 * the note's own words because the rewrites failed the checks.
 */
lines?: Lines, document: DocumentInfo, 
/**
 * For `deferred`: the route that served the note now.
 */
interim_route: Route | null, 
/**
 * The power state the request ran under.
 */
power: PowerState | null, 
/**
 * What was known of the network (probed only when the cloud was wanted and allowed).
 */
connectivity: NetState, 
/**
 * Dry run of a cloud or deferred route: exactly what would be sent.
 */
preview: CloudPreview | null, 
/**
 * Tokens the cloud counted, when it was used.
 */
cloud_tokens: CloudTokens | null, 
/**
 * A very similar note summarized before (offered, not served).
 */
similar: SimilarOffer | null, 
/**
 * For route `cache`: the request whose summary was served again.
 */
cached: CachedFrom | null, 
/**
 * What the request cost (cloud tokens and energy, in `[cost] currency`).
 */
cost: number | null, energy_wh: number | null, device_class: string | null, };

export type Thermal = "unknown" | "nominal" | "warm" | "throttling";

/**
 * Milliseconds spent in each stage of a request.
 */
export type Timings = { ingest: number, 
/**
 * Saving the note before anything else can fail.
 */
save_note: number, route: number, 
/**
 * The engines, the quality gate, and a cloud escalation after a failed gate.
 */
generate: number, 
/**
 * The summary/ledger transaction.
 */
store: number, total: number, 
/**
 * From the local model's first generation start to its first token; 0 without one.
 */
first_token: number, 
/**
 * Speculative decoding on the local route: tokens guessed from the note and how many
 * were right (the accepted-draft rate is their ratio).
 */
drafted: number, accepted: number, };

export type Tokens = { input: number, output: number, };

/**
 * The hybrid route trial: per device class and power mode, how the local model did and how
 * often the cloud had to take over.
 */
export type TrialRow = { device_class: string, power_mode: string, 
/**
 * The local model versions seen in the group.
 */
local_models: Array<string>, requests: number, local_requests: number, local_success_rate: number | null, local_latency_p50_ms: number, local_latency_p95_ms: number, 
/**
 * Requests that went (or were queued) to the cloud.
 */
cloud_fallback_rate: number, cost_per_success: number | null, };

/**
 * Where an installed model's hash came from.
 */
export type Trust = "verified" | "signed" | "first-use" | "imported";

export type UiError = { kind: ErrorKind, message: string, };

export type Verdict = { passed: boolean, checks: Array<Check>, };

/**
 * One installed file checked against its recorded hash.
 */
export type VerifyReport = { id: string, version: string, ok: boolean, expected: string, actual: string | null, problem: string | null, };

/**
 * The events the shell sends its window (src-tauri/src/events.rs): name → payload.
 */
export type Events = {
  "fieldbrief://refined": Refinement,
  "fieldbrief://model-download": PullProgress,
  "fieldbrief://dropped": Array<GrantedFile>,
  "fieldbrief://drag": boolean,
  "fieldbrief://reopened": Array<GrantedFile>,
};
