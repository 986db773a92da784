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

mod home;

pub use home::Home;

use fieldbrief_core::config::{ConfigError, Settings};
use fieldbrief_core::engine::{Engine, EngineError, ModelRef, SummaryRequest};
use fieldbrief_core::ledger::{self, Entry, Status, Timings};
use fieldbrief_core::quality::{self, Verdict};
use fieldbrief_core::route::{self, CloudGate, Decision, Route};
use fieldbrief_core::segment::estimate_tokens;
use fieldbrief_core::{Document, Style};
use fieldbrief_extractive::Extractive;
use fieldbrief_store::{Counts, NewSummary, NoteListItem, NoteRecord, SearchHit, Store};
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;
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
    #[error("{0}")]
    BadArgument(String),
}

impl Error {
    /// Bad input or bad usage (exit code 2 in the CLI), as opposed to a failure of ours.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Input(_)
                | Error::Config(_)
                | Error::BadArgument(_)
                | Error::Engine { source: EngineError::Unsummarizable(_), .. }
                | Error::NoSuchNote(_)
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
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentInfo {
    pub name: String,
    pub kind: String,
    pub words: usize,
    pub bytes: u64,
    pub encoding: String,
    pub pages: Option<u32>,
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tokens {
    pub input: usize,
    pub output: usize,
}

/// What a summarize request produced. Serialises to the CLI contract's JSON object.
#[derive(Debug, Clone, Serialize)]
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
    pub max_words: usize,
    pub tokens: Tokens,
    pub timings_ms: Timings,
    pub quality: Option<Verdict>,
    pub dry_run: bool,
    pub document: DocumentInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub version: &'static str,
    pub home: PathBuf,
    pub database: PathBuf,
    pub schema_version: usize,
    pub counts: Counts,
    /// No local model management exists yet; the extractive engine needs none.
    pub active_model: Option<ModelRef>,
    pub engine: EngineStatus,
    pub cloud: CloudStatus,
    /// Reachability of the cloud endpoint; never probed while cloud escalation is off.
    pub connectivity: &'static str,
    /// Battery, AC, thermal state and power mode. `None` until the power manager exists.
    pub power: Option<()>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    /// Compute backend of the local engine.
    pub backend: &'static str,
    /// Engines that can serve a request right now.
    pub available: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CloudStatus {
    pub enabled: bool,
    pub endpoint: Option<String>,
    pub model: Option<String>,
}

/// An open Fieldbrief data directory: settings and database.
pub struct Fieldbrief {
    home: Home,
    settings: Settings,
    store: Store,
}

impl Fieldbrief {
    /// Opens (creating if needed) the data directory: `explicit`, else `FIELDBRIEF_HOME` as the
    /// caller resolved it, else the OS data directory.
    pub fn open(explicit: Option<PathBuf>) -> Result<Fieldbrief> {
        let home = Home::resolve(explicit)?;
        let settings = Settings::load(&home.config_path())?;
        let store = Store::open(&home.database_path())?;
        Ok(Fieldbrief { home, settings, store })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn summarize(&mut self, input: Input, opts: &SummarizeOptions) -> Result<SummaryReport> {
        let started = Instant::now();
        let request_id = uuid::Uuid::now_v7().to_string();
        let style = opts.style.unwrap_or(self.settings.summary.style);
        let request = SummaryRequest::new(style, opts.max_words.or(self.settings.summary.max_words));
        let span = tracing::info_span!("summarize", request_id = %request_id);
        let _enter = span.enter();

        let mut timings = Timings::default();
        let mut base = Entry::started(request_id.clone(), now(), style, request.max_words);

        // 1. Ingest.
        let t = Instant::now();
        let limits = fieldbrief_ingest::Limits::from(&self.settings.limits);
        let doc = match input {
            Input::Path(path) => fieldbrief_ingest::read_path(&path, &limits),
            Input::Stream(reader, label) => fieldbrief_ingest::read_stream(reader, &label, &limits),
            Input::Typed(text) => fieldbrief_ingest::from_typed(&text),
        };
        timings.ingest = ms(t);
        let doc = match doc {
            Ok(doc) => doc,
            Err(e) => {
                tracing::info!(error = %e, "input refused");
                if !opts.dry_run {
                    base.error_code = Some(input_error_code(&e.problem).into());
                    base.error = Some(e.to_string());
                    base.timings = Timings { total: ms(started), ..timings };
                    // The ledger row is best effort: the input error is what the user must see.
                    if let Err(store_err) = self.store.record_failure(&base) {
                        tracing::warn!(error = %store_err, "could not record the failed request");
                    }
                }
                return Err(e.into());
            }
        };
        base.note_hash = Some(doc.content_hash());
        base.input_bytes = doc.original_bytes;
        base.input_tokens = estimate_tokens(&doc.text);

        // 2. Save the note before anything else can fail.
        let t = Instant::now();
        let note_id = if opts.dry_run { None } else { Some(self.store.insert_note(&doc, &base.created_at)?) };
        base.note_id = note_id;
        timings.save_note = ms(t);

        // 3. Route.
        let t = Instant::now();
        let decision = route::decide(&route::Snapshot {
            doc_tokens: base.input_tokens,
            local: None,
            cloud: self.cloud_gate(opts),
        });
        timings.route = ms(t);
        base.route = Some(decision.route);
        base.reasons = decision.reasons.clone();

        if opts.dry_run {
            timings.total = ms(started);
            return Ok(report(&base, &doc, decision, None, None, timings, true));
        }

        // 4. Summarize. Only the extractive engine exists so far; every route ends there.
        let engine: &dyn Engine = &Extractive;
        base.engine = Some(engine.name().to_string());
        let t = Instant::now();
        let output = match engine.summarize(&doc, &request) {
            Ok(o) => o,
            Err(source) => {
                base.error_code = Some("engine_failed".into());
                base.error = Some(source.to_string());
                base.timings = Timings { generate: ms(t), total: ms(started), ..timings };
                // Best effort: the engine's error is what the user must see.
                if let Err(store_err) = self.store.record_failure(&base) {
                    tracing::warn!(error = %store_err, "could not record the failed request");
                }
                return Err(Error::Engine { input: doc.name.clone(), source });
            }
        };
        timings.generate = ms(t);

        // 5. Quality gate, then summary and ledger row in one transaction.
        let t = Instant::now();
        let verdict = quality::assess(&doc.text, &output.text, request.max_words);
        base.status = Status::Ok;
        base.output_tokens = output.output_tokens;
        base.input_tokens = output.input_tokens;
        base.model = output.model.clone();
        base.prompt_version = Some(output.prompt_version.clone());
        base.quality = Some(verdict.clone());
        let summary = NewSummary {
            note_id: note_id.expect("saved above when not a dry run"),
            route: decision.route,
            engine: engine.name(),
            text: &output.text,
        };
        // Timings are final except for the commit itself, which the ledger cannot contain.
        timings.store = ms(t);
        timings.total = ms(started);
        base.timings = timings;
        self.store.record_summary(&summary, &base)?;
        timings.store = ms(t);
        timings.total = ms(started);
        tracing::info!(route = %decision.route, total_ms = timings.total, "summarized");
        Ok(report(&base, &doc, decision, Some(output.text), Some(verdict), timings, false))
    }

    fn cloud_gate(&self, opts: &SummarizeOptions) -> CloudGate {
        let cloud = &self.settings.cloud;
        // `--cloud allow` cannot switch the cloud on: the opt-in is the settings' alone, and
        // nothing is sent or probed while it is off. It only permits this note when it is on.
        match opts.cloud {
            Some(CloudChoice::Deny) => CloudGate::DeniedForNote,
            _ if !cloud.enabled => CloudGate::Disabled,
            _ if cloud.endpoint.is_none() => CloudGate::NotConfigured,
            _ if opts.offline => CloudGate::Offline,
            _ => CloudGate::Available,
        }
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

    pub fn status(&self) -> Result<StatusReport> {
        let cloud = &self.settings.cloud;
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION"),
            home: self.home.root().to_path_buf(),
            database: self.home.database_path(),
            schema_version: self.store.schema_version()?,
            counts: self.store.counts()?,
            active_model: None,
            engine: EngineStatus { backend: "cpu", available: vec![Extractive.name()] },
            cloud: CloudStatus { enabled: cloud.enabled, endpoint: cloud.endpoint.clone(), model: cloud.model.clone() },
            connectivity: if cloud.enabled {
                "not probed (the connectivity monitor is not built yet)"
            } else {
                "not probed (cloud escalation is off)"
            },
            power: None,
        })
    }
}

fn report(
    base: &Entry,
    doc: &Document,
    decision: Decision,
    summary: Option<String>,
    quality: Option<Verdict>,
    timings: Timings,
    dry_run: bool,
) -> SummaryReport {
    SummaryReport {
        request_id: base.request_id.clone(),
        note_id: base.note_id,
        route: decision.route,
        reasons: decision.reasons,
        summary,
        model: base.model.clone(),
        engine: base.engine.clone(),
        prompt_version: base.prompt_version.clone(),
        style: base.style,
        max_words: base.max_words,
        tokens: Tokens { input: base.input_tokens, output: base.output_tokens },
        timings_ms: timings,
        quality,
        dry_run,
        document: DocumentInfo {
            name: doc.name.clone(),
            kind: doc.kind.as_str().into(),
            words: doc.word_count(),
            bytes: doc.original_bytes,
            encoding: doc.encoding.clone(),
            pages: doc.pages,
            notices: doc.notices.clone(),
        },
    }
}

/// Stable codes for refused inputs, for the ledger (and aggregate reports, which must not
/// carry file names).
fn input_error_code(p: &fieldbrief_ingest::Problem) -> &'static str {
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
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".into())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn now() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests;
