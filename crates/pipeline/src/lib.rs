//! The one path every request takes, shared by the CLI and the desktop app so that both do
//! exactly the same thing (the app's shell and the CLI are thin layers over [`Fieldbrief`]):
//!
//! ```text
//! ingest → save the note → route → engine → quality gate → summary + ledger row (one transaction)
//! ```
//!
//! Ordering matters: the note is committed before routing or summarizing, so nothing the
//! technician typed or imported is lost to a crash, a kill or an engine failure afterwards; a
//! failed request still leaves a ledger row saying why.

mod bench;
mod cache;
mod cloud;
mod deferred;
mod eval;
mod gate;
mod history;
mod home;
mod local;
mod models;
mod power;
mod printing;
mod reports;
mod request;
mod settings;
mod status;

pub use bench::{BenchReport, NoteBench, NoteRun, PathBench};
pub use cache::{CachedFrom, SimilarOffer};
pub use cloud::{CloudPreview, NetState, SendWhen};
pub use deferred::{Refinement, RefinementState};
pub use eval::EVAL_ROUTES;
pub use fieldbrief_cloud::{ChatMessage, KeySource};
pub use fieldbrief_device::PowerState;
pub use fieldbrief_engine::protocol::WORKER_ARG;
pub use fieldbrief_engine::supervisor::WorkerCommand;
pub use fieldbrief_fs::write_atomically;
pub use fieldbrief_models::download::Control as DownloadControl;
pub use fieldbrief_models::install::{Rollback, Trust, VerifyReport};
pub use fieldbrief_store::DeferredJob;
pub use fieldbrief_store::{Draft, NoteListItem, NoteRecord, SearchHit};
pub use home::Home;
pub use models::{
    AutoPull, CatalogItem, CatalogView, ModelEntry, PullProgress, PullState, UpdateOffer,
};
pub use printing::PdfExport;
pub use reports::{Dashboard, Since, parse_since};
pub use settings::{SettingsForm, SettingsView, edit_config};
pub use status::{CloudStatus, EngineStatus, StatusReport};

use fieldbrief_core::config::{ConfigError, Settings};
use fieldbrief_core::engine::{EngineError, LengthFrom, ModelRef};
use fieldbrief_core::ledger::Timings;
use fieldbrief_core::quality::Verdict;
use fieldbrief_core::route::{self, ReasonCode, Route};
use fieldbrief_core::{Document, Style};
use fieldbrief_engine::local::{LocalEngine, LocalModel, LocalSettings};
use fieldbrief_engine::protocol::Sampling;
use fieldbrief_store::Store;
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot become a note (unreadable, empty, binary, corrupt, too large…).
    #[error(transparent)]
    Input(#[from] fieldbrief_ingest::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Home(String),
    #[error(transparent)]
    Store(#[from] fieldbrief_store::Error),
    #[error("summarizing {input}: {source}")]
    Engine { input: String, source: EngineError },
    #[error("no note with id {0}")]
    NoSuchNote(i64),
    #[error("no draft with id {0}")]
    NoSuchDraft(i64),
    #[error("no request with id {0}")]
    NoSuchRequest(String),
    #[error("{0}")]
    BadArgument(String),
    /// A model file that is not usable; the message says exactly why.
    #[error("invalid model file {0}")]
    InvalidModel(String),
    /// The power trace (or the power settings) cannot be used.
    #[error("{0}")]
    Power(String),
    #[error("cloud: {0}")]
    Cloud(String),
    #[error("cancelled")]
    Cancelled,
    /// Model management failed for a reason of the environment (network, disk).
    #[error("{0}")]
    Models(String),
}

impl Error {
    /// Bad input or bad usage (exit code 2 in the CLI), as opposed to a failure of ours.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Input(_)
                | Error::Config(_)
                | Error::BadArgument(_)
                | Error::InvalidModel(_)
                | Error::Power(_)
                | Error::Engine { source: EngineError::Unsummarizable(_), .. }
                | Error::NoSuchNote(_)
                | Error::NoSuchDraft(_)
                | Error::NoSuchRequest(_)
                | Error::Store(fieldbrief_store::Error::BadQuery(_))
        )
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Where a note comes from.
pub enum Input {
    Path(PathBuf),
    /// Bytes from a stream such as stdin, with a label for messages.
    Stream(Box<dyn Read + Send>, String),
    /// Typed or pasted text.
    Typed(String),
    /// A draft (see [`Fieldbrief::save_draft`]): it becomes a note, and the draft is removed
    /// once the note is committed.
    Draft(i64),
    /// A note already saved: summarized again (another style, another model) without saving
    /// it twice.
    Saved(i64),
}

/// The technician's per-request choice about the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudChoice {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Default)]
pub struct SummarizeOptions {
    pub style: Option<Style>,
    pub max_words: Option<usize>,
    /// Behave as if there were no network.
    pub offline: bool,
    pub cloud: Option<CloudChoice>,
    /// Decide and report, but save, summarize and send nothing.
    pub dry_run: bool,
    /// A local model to use (a path to a GGUF file or a model id); else the active model.
    pub model: Option<String>,
    /// Save the note marked "keep on this device": it never goes to the cloud, now or later.
    pub keep_on_device: bool,
    /// A scanned PDF (or one whose fonts cannot be read) has its text recognised by OCR on
    /// the laptop (Tesseract) instead of being refused.
    pub ocr: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentInfo {
    pub name: String,
    pub kind: String,
    pub words: usize,
    /// The note's size in tokens: the local model's own count when one was used, else an
    /// estimate.
    pub tokens: usize,
    pub bytes: u64,
    pub encoding: String,
    pub pages: Option<u32>,
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Tokens {
    pub input: usize,
    pub output: usize,
}

/// What a summarize request produced. Serialises to the CLI contract's JSON object.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SummaryReport {
    pub request_id: String,
    /// `None` for a dry run, which saves nothing.
    pub note_id: Option<i64>,
    pub route: Route,
    pub reasons: Vec<route::Reason>,
    /// `None` for a dry run.
    pub summary: Option<String>,
    pub model: Option<ModelRef>,
    pub engine: Option<String>,
    pub prompt_version: Option<String>,
    pub style: Style,
    /// The length target in words…
    pub max_words: usize,
    /// …and where it came from: asked for (`request`), configured (`settings`) or scaled to
    /// the note's length (`note`).
    pub length_from: Option<LengthFrom>,
    pub tokens: Tokens,
    pub timings_ms: Timings,
    pub quality: Option<Verdict>,
    pub dry_run: bool,
    /// Parts the note was summarized in (1 when it fitted whole).
    pub chunks: usize,
    /// For a summary the local model wrote line by line: lines it rewrote, and lines that kept
    /// the note's own words because the rewrites failed the checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub lines: Option<fieldbrief_core::engine::Lines>,
    pub document: DocumentInfo,
    /// For `deferred`: the route that served the note now.
    pub interim_route: Option<Route>,
    /// The power state the request ran under.
    pub power: Option<PowerState>,
    /// What was known of the network (probed only when the cloud was wanted and allowed).
    pub connectivity: NetState,
    /// Dry run of a cloud or deferred route: exactly what would be sent.
    pub preview: Option<CloudPreview>,
    /// Tokens the cloud counted, when it was used.
    pub cloud_tokens: Option<fieldbrief_core::ledger::CloudTokens>,
    /// A very similar note summarized before (offered, not served).
    pub similar: Option<SimilarOffer>,
    /// For route `cache`: the request whose summary was served again.
    pub cached: Option<CachedFrom>,
    /// What the request cost (cloud tokens and energy, in `[cost] currency`).
    pub cost: Option<f64>,
    pub energy_wh: Option<f64>,
    pub device_class: Option<String>,
}

/// An open Fieldbrief data directory: settings and database.
pub struct Fieldbrief {
    home: Home,
    settings: Settings,
    store: Store,
    /// The worker, the engine kept warm, the cancel flag, what a worker said of the machine.
    local: local::LocalSlot,
    power: power::PowerSlot,
    /// Built only when the cloud is permitted and wanted (see `cloud.rs`).
    cloud: Option<cloud::CloudLink>,
    /// The executable that extracts PDF text in a process of its own (see
    /// `fieldbrief_ingest::pdf`); without one, a thread of this process does.
    pdf_extractor: Option<PathBuf>,
}

impl Fieldbrief {
    /// Opens (creating if needed) the data directory: `explicit`, else `FIELDBRIEF_HOME` as the
    /// caller resolved it, else the OS data directory.
    pub fn open(explicit: Option<PathBuf>) -> Result<Fieldbrief> {
        let home = Home::resolve(explicit)?;
        let settings = Settings::load(&home.config_path())?;
        let store = Store::open(&home.database_path())?;
        Ok(Fieldbrief {
            home,
            settings,
            store,
            local: local::LocalSlot::new(),
            power: power::PowerSlot::default(),
            cloud: None,
            pdf_extractor: None,
        })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn summarize(&mut self, input: Input, opts: &SummarizeOptions) -> Result<SummaryReport> {
        self.summarize_with(input, opts, &mut |_| {})
    }

    /// Counts a crash; when it rolled a new version back, the reason to show.
    fn note_engine_failure(
        &mut self,
        model: &LocalModel,
        e: &EngineError,
    ) -> Result<Option<route::Reason>> {
        tracing::warn!(error = %e, model = %model.id, "local engine failed");
        if let EngineError::Crashed(why) = e {
            let rolled_back = self.model_crashed(model, why)?;
            if rolled_back.is_some() {
                // The next request starts a worker on the version now current.
                self.local.forget();
            }
            return Ok(rolled_back);
        }
        Ok(None)
    }

    /// The local engine for this request: the named model, else the active one, else none.
    /// Validates the file before any process sees it, and skips a quarantined model.
    /// The engine runs as the power mode's `profile` allows: fewer threads, a smaller batch and
    /// no GPU in saver mode (a mode change starts a worker with the new settings).
    fn local_engine(
        &mut self,
        name: Option<&str>,
        profile: &fieldbrief_core::power::Profile,
        reasons: &mut Vec<route::Reason>,
    ) -> Result<Option<(Arc<LocalEngine>, String)>> {
        if self.local.worker().is_none() {
            return Ok(None);
        }
        let mut model = match name.map(str::to_string).or_else(|| self.active_model_id()) {
            Some(n) => self.resolve_model(&n)?,
            None => return Ok(None),
        };
        // The active model's new version, past its probation and clearly worse than the one
        // before: rolled back before it summarizes again.
        if name.is_none()
            && let Some(regressed) = self.probation_verdict(&model)?
        {
            reasons.push(regressed);
            model = match self.active_model_id() {
                Some(n) => self.resolve_model(&n)?,
                None => return Ok(None),
            };
        }
        let info = fieldbrief_gguf::inspect(&model.path)
            .map_err(|e| Error::InvalidModel(format!("{}: {e}", model.path.display())))?;
        let crashes = models::crashes(&self.store, &model)?;
        if crashes >= models::QUARANTINE_AFTER {
            reasons.push(route::Reason {
                code: ReasonCode::ModelQuarantined,
                detail: format!(
                    "model {}@{} crashed the engine {crashes} times in a row and is quarantined; import a good copy or choose another model",
                    model.id, model.version
                ),
            });
            return Ok(None);
        }
        let e = &self.settings.engine;
        let settings = LocalSettings {
            gpu_layers: match (e.gpu_layers, profile.max_gpu_layers) {
                (Some(n), Some(cap)) => Some(n.min(cap)),
                (None, cap) => cap,
                (n, None) => n,
            },
            context: e.context,
            // A configured thread count is the most the power mode may use.
            threads: match (e.threads, profile.threads) {
                (0, p) => p,
                (n, 0) => n,
                (n, p) => n.min(p),
            },
            batch: profile.batch,
            sampling: Sampling {
                temperature: e.temperature,
                top_p: e.top_p,
                repeat_penalty: e.repeat_penalty,
                max_tokens: 0,
                seed: e.seed,
                grammar: None,
                draft: e.draft_tokens,
            },
            state_dir: Some(self.home.engine_state_dir()),
        };
        let idle_secs = e.idle_unload_secs;
        Ok(self.local.engine(model, settings, idle_secs).map(|engine| (engine, info.quantization)))
    }

    /// Set to stop the running summary (Ctrl-C, the app's Cancel).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.local.cancel().clone()
    }

    /// Runs local models in `worker` processes (normally this executable in worker mode).
    /// Without it only the extractive engine is available.
    pub fn with_worker(mut self, worker: WorkerCommand, backend: &'static str) -> Fieldbrief {
        self.local.set_worker(worker, backend);
        self
    }

    /// Extracts PDF text by starting `program` with `fieldbrief_ingest::pdf::PDF_EXTRACT_ARG`
    /// (normally this executable), under `[limits]`' memory and CPU-time limits: a hostile
    /// PDF then costs the request, never this process.
    pub fn with_pdf_extractor(mut self, program: PathBuf) -> Fieldbrief {
        self.pdf_extractor = Some(program);
        self
    }

    /// The input limits of the settings, with the PDF extractor.
    pub(crate) fn input_limits(&self) -> fieldbrief_ingest::Limits {
        let mut limits = fieldbrief_ingest::Limits::from(&self.settings.limits);
        let max_text = limits.max_bytes;
        limits.pdf = self.pdf_extractor.clone().map(|program| {
            fieldbrief_ingest::pdf::Extractor::new(
                program,
                self.settings.limits.pdf_memory_mib,
                max_text,
            )
        });
        limits
    }
}

/// Stable codes for refused inputs, for the ledger (and aggregate reports, which must not
/// carry file names).
pub(crate) fn input_error_code(p: &fieldbrief_ingest::Problem) -> &'static str {
    use fieldbrief_ingest::Problem::*;
    match p {
        NotFound => "not_found",
        IsDirectory => "is_directory",
        PermissionDenied => "permission_denied",
        Io(_) => "io_error",
        TooLarge { .. } => "too_large",
        Empty => "empty",
        WhitespaceOnly => "whitespace_only",
        Binary(_) => "binary",
        NotAPdf(_) => "not_a_pdf",
        Unsupported(_) => "unsupported_type",
        InvalidUtf8 { .. } => "invalid_utf8",
        InvalidUtf16(_) => "invalid_utf16",
        PdfCorrupt(_) => "pdf_corrupt",
        PdfEncrypted => "pdf_encrypted",
        PdfNoText { .. } => "pdf_no_text",
        PdfUnmappedText { .. } => "pdf_unmapped_text",
        PdfBlank { .. } => "pdf_blank",
        PdfTimeout { .. } => "pdf_timeout",
        PdfTooCostly(_) => "pdf_too_costly",
        OcrUnavailable(_) => "ocr_unavailable",
        OcrFailed(_) => "ocr_failed",
        OcrCancelled => "cancelled",
        OcrNoText { .. } => "ocr_no_text",
    }
}

/// Fixed-width UTC timestamps ("2026-11-21T09:40:00.000000Z"), so that comparing them as
/// text, as SQLite does, orders them in time.
fn timestamp(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".into())
}

/// A saved note as the document it was.
pub(crate) fn saved_document(note: NoteRecord) -> Document {
    Document {
        kind: fieldbrief_core::SourceKind::parse(&note.source_kind)
            .unwrap_or(fieldbrief_core::SourceKind::Typed),
        name: note.source_name,
        path: note.source_path,
        text: note.text,
        original_bytes: note.original_bytes,
        encoding: note.encoding,
        pages: note.pages,
        notices: note.notices,
    }
}

pub(crate) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

pub(crate) fn now() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests;
