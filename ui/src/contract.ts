// Generated from the Rust types by src-tauri/tests/ui_types.rs (ts-rs): do not edit.
// After changing one of them: FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --test ui_types

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
auto_install: boolean, };

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
 * Progress of `pull`, for the CLI's bar and the app's event (`fieldbrief://model-download`).
 */
export type PullProgress = { id: string, version: string, state: PullState, downloaded: number, total: number | null, rate_bps: number, eta_s: number | null, message: string | null, };

export type PullState = "starting" | "downloading" | "retrying" | "paused" | "verifying" | "testing" | "installed" | "failed" | "cancelled";

/**
 * The last rollback of a model id (an update that failed its smoke test, or one by hand).
 */
export type Rollback = { from_version: string, to_version: string, reason: string, 
/**
 * RFC 3339.
 */
at: string, };

/**
 * Where an installed model's hash came from.
 */
export type Trust = "verified" | "signed" | "first-use" | "imported";

/**
 * One installed file checked against its recorded hash.
 */
export type VerifyReport = { id: string, version: string, ok: boolean, expected: string, actual: string | null, problem: string | null, };
