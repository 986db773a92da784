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

mod cache;
mod eval;
mod gate;
mod home;
mod hybrid;
mod models;
mod request;
mod settings;

pub use cache::{CachedFrom, SimilarOffer};
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
pub use hybrid::{CloudPreview, NetState, Refinement, RefinementState};
pub use models::{
    AutoPull, CatalogItem, CatalogView, ModelEntry, PullProgress, PullState, UpdateOffer,
};
pub use settings::{SettingsForm, SettingsView, edit_config};

use fieldbrief_core::config::{ConfigError, Settings};
use fieldbrief_core::engine::{
    Engine, EngineError, LengthFrom, LengthTarget, ModelRef, SummaryRequest,
};
use fieldbrief_core::ledger::{self, Entry, Outcome, Timings};
use fieldbrief_core::quality::{self, Verdict};
use fieldbrief_core::route::{self, CloudGate, ReasonCode, Route};
use fieldbrief_core::{Document, Style};
use fieldbrief_engine::local::{LocalEngine, LocalModel, LocalSettings};
use fieldbrief_engine::protocol::{BenchStats, Sampling};
use fieldbrief_extractive::Extractive;
use fieldbrief_store::{Counts, Store};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
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

/// A model in the models directory.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: ModelRef,
    pub stats: BenchStats,
    /// Token events that crossed the worker protocol in the measured run.
    pub tokens_streamed: usize,
    /// A real 16-word summary on the warm worker, then the same again: the second one reuses
    /// the prompt prefix in the KV cache.
    pub summary_cold_ms: f64,
    pub summary_warm_ms: f64,
    /// What formats the prompts (see `ModelDescription::chat`).
    pub chat: String,
    /// `bench --note`: a real summary of the note, with and without speculative decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteBench>,
}

/// One note summarized end to end on the local model (the first, whole-note pass, greedy), on
/// a fresh worker each time: without speculative decoding, with it, and with it again from a
/// warm start (the prompt's fixed beginning restored from the state the run before saved).
#[derive(Debug, Clone, Serialize)]
pub struct NoteBench {
    pub name: String,
    pub words: usize,
    pub target_words: usize,
    /// Plain decoding (cold), speculative (cold), speculative (warm start).
    pub runs: Vec<NoteRun>,
    /// All runs wrote exactly the same summary (greedy decoding: they must).
    pub identical: bool,
    /// Effective decode speed with speculation over without.
    pub speedup: f64,
    /// Time to first token of the warm start over the cold one.
    pub warm_first_token_ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteRun {
    /// Tokens guessed per step (0 = plain decoding).
    pub draft: u32,
    pub warm_start: bool,
    pub seconds: f64,
    pub first_token_ms: f64,
    pub output_tokens: usize,
    /// Output tokens over the time after the first token.
    pub decode_tok_s: f64,
    pub drafted: usize,
    pub accepted: usize,
    /// The summary it wrote.
    #[serde(rename = "summary")]
    pub text: String,
}

const BENCH_NOTE: &str = "Pump P-101 inspected on 2026-03-14. Discharge 4.2 bar, bearing 78 °C, \
vibration 7.1 mm/s at the drive end. Replaced bearing P/N 6309-2Z-C3. Seal kit to order.";

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusReport {
    pub version: &'static str,
    pub home: PathBuf,
    pub database: PathBuf,
    pub schema_version: usize,
    pub counts: Counts,
    /// The model `summarize` uses when none is named.
    pub active_model: Option<ModelRef>,
    pub engine: EngineStatus,
    pub cloud: CloudStatus,
    /// Reachability of the cloud endpoint; never probed while cloud escalation is off.
    pub connectivity: NetState,
    /// Battery, AC, thermal state and power mode.
    pub power: PowerState,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngineStatus {
    /// Compute backend of the local engine.
    pub backend: &'static str,
    /// What a local model runs on: the GPU's name, or "CPU".
    pub device: String,
    /// Every compute device llama.cpp sees (asked of a worker process).
    pub devices: Vec<fieldbrief_engine::protocol::Device>,
    /// The CPU instruction set the worker's kernels were built for (`x86-64-v4`: AVX-512,
    /// `x86-64-v3`: AVX2; the best one this CPU runs is started).
    pub cpu_variant: Option<String>,
    /// Engines that can serve a request right now.
    pub available: Vec<&'static str>,
    /// What the power mode lets the local engine do now (threads, GPU layers, batch…).
    pub profile: fieldbrief_core::power::Profile,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloudStatus {
    pub enabled: bool,
    pub endpoint: Option<String>,
    pub model: Option<String>,
    pub work_offline: bool,
    /// Where the API key comes from (`environment`, `keychain`, `none`); never the key.
    /// `None` while no cloud request or probe has been made.
    pub key_source: Option<KeySource>,
    /// Names of the organisation's redaction patterns.
    pub redact_patterns: Vec<String>,
    /// Cloud refinements waiting for the network.
    pub deferred_pending: usize,
}

/// The Ledger view's data.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dashboard {
    pub report: ledger::Report,
    pub days: Vec<ledger::Day>,
    pub cache: fieldbrief_store::CacheStats,
    pub currency: String,
}

/// An open Fieldbrief data directory: settings and database.
pub struct Fieldbrief {
    home: Home,
    settings: Settings,
    store: Store,
    worker: Option<WorkerCommand>,
    backend: &'static str,
    local: Option<Arc<LocalEngine>>,
    cancel: Arc<AtomicBool>,
    /// The compute devices a worker reported: they do not change while the process runs, and
    /// asking starts a process (the app asks for its status after every summary).
    devices: std::sync::OnceLock<(Vec<fieldbrief_engine::protocol::Device>, Option<String>)>,
    /// This machine's memory, for the ledger's device class: read once, it does not change.
    ram_bytes: std::sync::OnceLock<Option<u64>>,
    /// Started on first use: reading sensors costs a little, and the CLI's history commands
    /// need none.
    /// The monitor, and the mode last remembered in the database.
    power: Option<(fieldbrief_device::PowerMonitor, Option<fieldbrief_core::power::Mode>)>,
    /// Built only when the cloud is permitted and wanted (see `hybrid`).
    cloud: Option<hybrid::CloudLink>,
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
            worker: None,
            backend: "cpu",
            local: None,
            cancel: Arc::default(),
            devices: std::sync::OnceLock::new(),
            ram_bytes: std::sync::OnceLock::new(),
            power: None,
            cloud: None,
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
                self.local = None;
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
        let Some(worker) = self.worker.clone() else { return Ok(None) };
        let model = match name.map(str::to_string).or_else(|| self.active_model_id()) {
            Some(n) => self.resolve_model(&n)?,
            None => return Ok(None),
        };
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
        if let Some(engine) =
            self.local.as_ref().filter(|e| e.model() == &model && e.settings() == &settings)
        {
            return Ok(Some((engine.clone(), info.quantization)));
        }
        let mut command = worker;
        command.args.extend(["--idle-secs".to_string(), e.idle_unload_secs.to_string()]);
        let engine =
            Arc::new(LocalEngine::with_cancel(command, model, settings, self.cancel.clone()));
        self.local = Some(engine.clone());
        Ok(Some((engine, info.quantization)))
    }

    /// Set to stop the running summary (Ctrl-C, the app's Cancel).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Runs local models in `worker` processes (normally this executable in worker mode).
    /// Without it only the extractive engine is available.
    pub fn with_worker(mut self, worker: WorkerCommand, backend: &'static str) -> Fieldbrief {
        self.worker = Some(worker);
        self.backend = backend;
        self
    }

    /// Speed of a model through the worker path `summarize` uses.
    pub fn bench(
        &mut self,
        model: &str,
        threads: u32,
        prompt_tokens: u32,
        gen_tokens: u32,
        note: Option<&Path>,
    ) -> Result<BenchReport> {
        let worker = self
            .worker
            .clone()
            .ok_or_else(|| Error::Home("no engine worker in this build".into()))?;
        let model = self.resolve_model(model)?;
        fieldbrief_gguf::inspect(&model.path)
            .map_err(|e| Error::InvalidModel(format!("{}: {e}", model.path.display())))?;
        let e = &self.settings.engine;
        // The model's own context (or the configured one) also holds the real summaries below.
        let settings = LocalSettings {
            gpu_layers: e.gpu_layers,
            context: e.context,
            threads,
            ..Default::default()
        };
        let engine = LocalEngine::new(worker.clone(), model.clone(), settings);
        let first =
            engine.bench(prompt_tokens, gen_tokens).map_err(|e| self.engine_error(&model, e))?;
        // A second, real request on the warm worker: its time to first token shows what the
        // prefix cache saves when a prompt starts like the previous one.
        let doc = fieldbrief_ingest::from_typed(BENCH_NOTE)?;
        let request = SummaryRequest::new(Style::Bullets, Some(16));
        let t = Instant::now();
        engine.summarize(&doc, &request, &mut |_| {}).map_err(|e| self.engine_error(&model, e))?;
        let cold = ms(t);
        let t = Instant::now();
        engine.summarize(&doc, &request, &mut |_| {}).map_err(|e| self.engine_error(&model, e))?;
        let warm = ms(t);
        let chat = engine.describe().map(|d| d.chat).unwrap_or_default();
        drop(engine);
        let note = match note {
            Some(path) => Some(self.bench_note(&worker, &model, threads, path)?),
            None => None,
        };
        Ok(BenchReport {
            model: ModelRef { id: model.id, version: model.version },
            stats: first.0,
            tokens_streamed: first.1,
            summary_cold_ms: cold,
            summary_warm_ms: warm,
            chat,
            note,
        })
    }

    fn bench_note(
        &self,
        worker: &WorkerCommand,
        model: &LocalModel,
        threads: u32,
        path: &Path,
    ) -> Result<NoteBench> {
        let limits = fieldbrief_ingest::Limits::from(&self.settings.limits);
        let doc = fieldbrief_ingest::read_path(path, &limits)?;
        let words = quality::summary_words(&doc.text);
        let target = LengthTarget::choose(Style::Bullets, None, None, words).words;
        let request = SummaryRequest::new(Style::Bullets, Some(target));
        let e = &self.settings.engine;
        let draft =
            if e.draft_tokens > 0 { e.draft_tokens } else { fieldbrief_engine::protocol::DRAFT };
        // Its own states, started empty: the first runs are cold starts.
        let states = self.home.engine_state_dir().join("bench");
        let _ = std::fs::remove_dir_all(&states);
        let mut runs = Vec::new();
        for (d, state) in [(0, "plain"), (draft, "speculative"), (draft, "speculative")] {
            let sampling = Sampling { draft: d, ..Sampling::deterministic(0) };
            let state_dir = Some(states.join(state));
            let settings = LocalSettings {
                gpu_layers: e.gpu_layers,
                context: e.context,
                threads,
                sampling,
                state_dir,
                ..Default::default()
            };
            let engine = LocalEngine::new(worker.clone(), model.clone(), settings);
            // Loaded first: the run measures the summary, not the model load.
            engine.describe().map_err(|err| self.engine_error(model, err))?;
            let t = Instant::now();
            let out = engine
                .summarize(&doc, &request, &mut |_| {})
                .map_err(|err| self.engine_error(model, err))?;
            let seconds = t.elapsed().as_secs_f64();
            let decoding = out.decoding.unwrap_or_default();
            let decode_s = (seconds - decoding.first_token_ms / 1000.0).max(1e-6);
            runs.push(NoteRun {
                draft: d,
                warm_start: decoding.warm_start,
                seconds,
                first_token_ms: decoding.first_token_ms,
                output_tokens: out.output_tokens,
                decode_tok_s: out.output_tokens as f64 / decode_s,
                drafted: decoding.drafted,
                accepted: decoding.accepted,
                text: out.text,
            });
        }
        let _ = std::fs::remove_dir_all(&states);
        let identical = runs.iter().all(|r| r.text == runs[0].text);
        let speedup = runs[1].decode_tok_s / runs[0].decode_tok_s.max(1e-9);
        let warm_first_token_ratio = runs[2].first_token_ms / runs[1].first_token_ms.max(1e-9);
        Ok(NoteBench {
            name: doc.name.clone(),
            words,
            target_words: target,
            runs,
            identical,
            speedup,
            warm_first_token_ratio,
        })
    }

    fn engine_error(&self, model: &LocalModel, e: EngineError) -> Error {
        match e {
            EngineError::InvalidModel(m) => Error::InvalidModel(m),
            other => Error::Engine { input: model.id.clone(), source: other },
        }
    }

    /// Asks a short-lived worker which devices llama.cpp sees (once: the answer is kept);
    /// none without a worker.
    fn devices(&self) -> (Vec<fieldbrief_engine::protocol::Device>, Option<String>) {
        if let Some(known) = self.devices.get() {
            return known.clone();
        }
        let found = self.ask_devices();
        // A failed answer is not kept: the next status asks again.
        if !found.0.is_empty() {
            let _ = self.devices.set(found.clone());
        }
        found
    }

    /// The devices and the worker's CPU variant.
    fn ask_devices(&self) -> (Vec<fieldbrief_engine::protocol::Device>, Option<String>) {
        let Some(worker) = self.worker.clone() else { return (Vec::new(), None) };
        let mut supervisor = fieldbrief_engine::supervisor::Supervisor::new(worker);
        supervisor.patience = std::time::Duration::from_secs(10);
        match supervisor.call(
            &fieldbrief_engine::protocol::Request::Devices { id: "devices".into() },
            None,
            |_| {},
        ) {
            Ok(fieldbrief_engine::protocol::Event::Devices { devices, .. }) => {
                (devices, supervisor.cpu_variant().map(str::to_string))
            }
            other => {
                tracing::warn!(?other, "could not list compute devices");
                (Vec::new(), None)
            }
        }
    }

    fn active_model_ref(&self) -> Option<ModelRef> {
        let id = self.active_model_id()?;
        let model = self.resolve_model(&id).ok()?;
        Some(ModelRef { id: model.id, version: model.version })
    }

    /// Saves what is being typed (autosave): a new draft, or over draft `id`. Returns its id.
    pub fn save_draft(&self, id: Option<i64>, body: &str) -> Result<i64> {
        Ok(self.store.save_draft(id, body, &now())?)
    }

    pub fn drafts(&self) -> Result<Vec<fieldbrief_store::Draft>> {
        Ok(self.store.drafts()?)
    }

    pub fn delete_draft(&self, id: i64) -> Result<()> {
        if self.store.delete_draft(id)? { Ok(()) } else { Err(Error::NoSuchDraft(id)) }
    }

    /// Deletes a note with its summaries; its ledger rows stay as anonymous counts.
    pub fn delete_note(&self, id: i64) -> Result<()> {
        if self.store.delete_note(id)? { Ok(()) } else { Err(Error::NoSuchNote(id)) }
    }

    /// Records what the user made of a summary (thumbs up = accepted, down = rejected…). A
    /// rejected, regenerated or edited summary is also forgotten by the cache, so the same
    /// note is never answered with it again.
    pub fn feedback(&self, request_id: &str, outcome: Outcome) -> Result<()> {
        if !self.store.set_outcome(request_id, outcome)? {
            return Err(Error::NoSuchRequest(request_id.into()));
        }
        if matches!(outcome, Outcome::Rejected | Outcome::Regenerated | Outcome::Edited) {
            self.store.cache_forget_request(request_id)?;
        }
        Ok(())
    }

    /// The technician corrected a summary: `text` replaces it in history, search and exports
    /// (the engine's own text is kept beside it), the request's outcome becomes `edited`, and
    /// the cache forgets the engine's version.
    pub fn edit_summary(&self, request_id: &str, text: &str) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::BadArgument(
                "an edited summary cannot be empty (rate it as poor instead)".into(),
            ));
        }
        if !self.store.edit_summary(request_id, text, &now())? {
            return Err(Error::NoSuchRequest(request_id.into()));
        }
        self.store.cache_forget_request(request_id)?;
        Ok(())
    }

    /// What the app's Ledger view shows: the report, the ledger day by day, the cache and the
    /// currency the costs are in.
    pub fn dashboard(&self, since: Option<&Since>) -> Result<Dashboard> {
        let entries = self.store.ledger(since.map(|s| s.0.as_str()))?;
        Ok(Dashboard {
            report: ledger::report(&entries, since.map(|s| s.0.clone())),
            days: ledger::daily(&entries),
            cache: self.store.cache_stats()?,
            currency: self.settings.cost.currency.clone(),
        })
    }

    /// The ledger as fleet telemetry: counts and sums only (no note text, no hashes).
    pub fn ledger_aggregate(&self, since: Option<&Since>) -> Result<ledger::AggregateExport> {
        let entries = self.store.ledger(since.map(|s| s.0.as_str()))?;
        Ok(ledger::aggregate(&entries, since.map(|s| s.0.clone())))
    }

    /// Empties the response cache; returns how many entries were removed.
    pub fn clear_cache(&self) -> Result<usize> {
        Ok(self.store.cache_clear()?)
    }

    pub fn cache_stats(&self) -> Result<fieldbrief_store::CacheStats> {
        Ok(self.store.cache_stats()?)
    }

    pub fn history(&self, limit: usize) -> Result<Vec<NoteListItem>> {
        Ok(self.store.list_notes(limit, 0)?)
    }

    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        Ok(self.store.search(query, limit.max(1))?)
    }

    pub fn note(&self, id: i64) -> Result<NoteRecord> {
        self.store.note(id)?.ok_or(Error::NoSuchNote(id))
    }

    /// `since`: a value from [`parse_since`].
    pub fn ledger_report(&self, since: Option<&Since>) -> Result<ledger::Report> {
        let entries = self.store.ledger(since.map(|s| s.0.as_str()))?;
        Ok(ledger::report(&entries, since.map(|s| s.0.clone())))
    }

    pub fn ledger_entries(&self, since: Option<&Since>) -> Result<Vec<Entry>> {
        Ok(self.store.ledger(since.map(|s| s.0.as_str()))?)
    }

    /// Everything the status bar and `fieldbrief status` show. Probes the endpoint only when
    /// cloud escalation is on and not switched to "work offline" (at most as often as the
    /// connectivity monitor's backoff allows).
    pub fn status(&mut self) -> Result<StatusReport> {
        let power = self.power_state()?;
        let gate = self.static_gate(false, false);
        let connectivity = match gate {
            CloudGate::Available => self.probe(),
            other => Self::not_probed(other),
        };
        let deferred_pending = self.store.deferred(false)?.len();
        let cloud = &self.settings.cloud;
        let (devices, cpu_variant) = self.devices();
        let active_model = self.active_model_ref();
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION"),
            home: self.home.root().to_path_buf(),
            database: self.home.database_path(),
            schema_version: self.store.schema_version()?,
            counts: self.store.counts()?,
            active_model: active_model.clone(),
            engine: EngineStatus {
                backend: self.backend,
                device: devices
                    .iter()
                    .find(|d| {
                        d.gpu && self.backend != "cpu" && self.settings.engine.gpu_layers != Some(0)
                    })
                    .map_or_else(
                        || "CPU".to_string(),
                        |d| {
                            if d.description.is_empty() {
                                d.name.clone()
                            } else {
                                d.description.clone()
                            }
                        },
                    ),
                devices,
                cpu_variant,
                available: if self.worker.is_some() && active_model.is_some() {
                    vec!["local", Extractive.name()]
                } else {
                    vec![Extractive.name()]
                },
                profile: power.profile(),
            },
            cloud: CloudStatus {
                enabled: cloud.enabled,
                endpoint: cloud.endpoint.clone(),
                model: cloud.model.clone(),
                work_offline: cloud.work_offline,
                key_source: self.key_source(),
                redact_patterns: cloud.redact.keys().cloned().collect(),
                deferred_pending,
            },
            connectivity,
            power,
        })
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
        PdfTimeout { .. } => "pdf_timeout",
    }
}

/// A point in time to report from, normalised to the ledger's UTC timestamp form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since(pub String);

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time with any offset.
pub fn parse_since(s: &str) -> Result<Since> {
    use time::format_description::well_known::Rfc3339;
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let instant = if let Ok(date) = time::Date::parse(s, &date_format) {
        date.midnight().assume_utc()
    } else if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        t.to_offset(time::UtcOffset::UTC)
    } else {
        return Err(Error::BadArgument(format!(
            "--since {s:?}: expected a date like 2026-05-14 or a time like 2026-05-14T08:00:00Z"
        )));
    };
    Ok(Since(timestamp(instant)))
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
