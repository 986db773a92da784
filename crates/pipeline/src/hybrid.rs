//! The hybrid half of the pipeline: the power state the router sees, the cloud gate and the
//! connectivity probe, the redacted cloud request, and the deferred refinements queue.
//!
//! Privacy ordering: [`Fieldbrief::static_gate`] is decided from the settings and the note's
//! flags alone, without any I/O. Only when it says the cloud is permitted *and* the router (or
//! a failed quality gate) actually wants the cloud for this note is a [`CloudLink`] built and
//! the endpoint probed; only then is the redacted note sent. Every other path makes no
//! connection at all, which the privacy tests check by counting connections at a loopback
//! server.

use crate::request::{Request, Stage};
use crate::{Error, Fieldbrief, Result, now};
use fieldbrief_cloud::{ChatMessage, Client, CloudError, Connectivity, KeySource, Monitor};
use fieldbrief_core::config::SettingsWatch;
use fieldbrief_core::engine::{EngineEvent, EngineOutput, ModelRef, SummaryRequest};
use fieldbrief_core::ledger::{CloudTokens, Status};
use fieldbrief_core::power::Mode;
use fieldbrief_core::quality;
use fieldbrief_core::redact::{self, Redacted, Replacement};
use fieldbrief_core::route::{CloudGate, Reason, ReasonCode, Route};
use fieldbrief_core::{Document, Style};
use fieldbrief_device::{PowerMonitor, PowerState};
use fieldbrief_store::{DeferredJob, NewSummary};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A configured endpoint and what is known of its reachability.
pub(crate) struct CloudLink {
    pub client: Client,
    pub monitor: Monitor,
    pub key_source: KeySource,
    /// [`KEY_GENERATION`] when the client was built.
    pub key_generation: u64,
}

/// Bumped whenever the API key is stored or removed, so every handle in the process (the app
/// has three) rebuilds its client with the key of the moment.
pub(crate) static KEY_GENERATION: AtomicU64 = AtomicU64::new(0);

/// What was known of the network for a request, for the ledger and the user.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NetState {
    /// No probe was made, and why (cloud off, note kept on device, work offline, not needed…).
    NotProbed {
        why: String,
    },
    Online,
    Offline {
        error: String,
    },
}

/// What a cloud request would send: shown by `--dry-run` and the app's send preview, and
/// exactly what the cloud route sends.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloudPreview {
    pub endpoint: String,
    pub model: String,
    /// The chat messages, after redaction.
    pub messages: Vec<ChatMessage>,
    /// What was replaced (placeholder and kind; never the original value).
    pub redactions: Vec<Replacement>,
    pub bytes: usize,
}

/// The outcome of one queued refinement.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Refinement {
    pub job_id: i64,
    pub note_id: i64,
    pub note_title: String,
    pub state: RefinementState,
    pub detail: String,
    /// The request that produced the refined summary.
    pub request_id: Option<String>,
}

/// How one queued refinement ended this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RefinementState {
    /// The cloud summary is ready (`request_id`).
    Done,
    /// Offline, or being sent by another process: tried again later.
    Waiting,
    /// The send failed; kept for another try.
    Failed,
    /// Never to be sent (see `detail`).
    Dropped,
}

impl RefinementState {
    /// The name the queue stores and the JSON carries.
    pub fn as_str(self) -> &'static str {
        match self {
            RefinementState::Done => "done",
            RefinementState::Waiting => "waiting",
            RefinementState::Failed => "failed",
            RefinementState::Dropped => "dropped",
        }
    }
}

/// Attempts after which a refinement that keeps failing is given up.
const MAX_DEFERRED_ATTEMPTS: u32 = 5;

impl Fieldbrief {
    /// The power state now (the trace in `FIELDBRIEF_POWER_TRACE`, else the sensors). The mode
    /// is remembered in the database so hysteresis survives a restart.
    pub fn power_state(&mut self) -> Result<PowerState> {
        let (monitor, remembered) = match &mut self.power {
            Some(p) => p,
            None => {
                let previous = self.store.setting("power_mode")?.as_deref().and_then(Mode::parse);
                let poll = Duration::from_secs(self.settings.power.poll_secs);
                let monitor = PowerMonitor::from_env(self.settings.power.mode, poll, previous)
                    .map_err(|e| Error::Power(e.to_string()))?;
                self.power.insert((monitor, previous))
            }
        };
        let state = monitor.state();
        // Written only when the mode changes (the app asks for the status every few seconds).
        if *remembered != Some(state.mode) {
            self.store.set_setting("power_mode", state.mode.as_str())?;
            *remembered = Some(state.mode);
        }
        Ok(state)
    }

    /// Whether the cloud may be used for a note, from the settings and the note's own flags
    /// only: no I/O, no probe.
    pub(crate) fn static_gate(&self, deny: bool, offline: bool) -> CloudGate {
        let cloud = &self.settings.cloud;
        // `--cloud allow` cannot switch the cloud on: the opt-in is the settings' alone, and
        // nothing is sent or probed while it is off.
        if deny {
            CloudGate::DeniedForNote
        } else if !cloud.enabled {
            CloudGate::Disabled
        } else if cloud.endpoint.is_none() || cloud.model.is_none() {
            CloudGate::NotConfigured
        } else if cloud.work_offline {
            CloudGate::WorkOffline
        } else if offline {
            CloudGate::Offline
        } else {
            CloudGate::Available
        }
    }

    fn link(&mut self) -> std::result::Result<&mut CloudLink, CloudError> {
        // A key stored or removed through any handle of this process: build the client anew.
        let generation = KEY_GENERATION.load(Ordering::SeqCst);
        if self.cloud.as_ref().is_some_and(|l| l.key_generation != generation) {
            self.cloud = None;
        }
        if self.cloud.is_none() {
            let (key, key_source) = fieldbrief_cloud::find_api_key();
            let client = Client::new(&self.settings.cloud, key)?;
            self.cloud = Some(CloudLink {
                client,
                monitor: Monitor::default(),
                key_source,
                key_generation: generation,
            });
        }
        self.cloud.as_mut().ok_or_else(|| CloudError::Config("no cloud client".into()))
    }

    /// Why no probe is made for a request under `gate`.
    pub(crate) fn not_probed(gate: CloudGate) -> NetState {
        let why =
            if gate == CloudGate::Available { "not needed for this note" } else { gate.describe() };
        NetState::NotProbed { why: why.into() }
    }

    /// Probes the endpoint (with the monitor's backoff). Call only when the gate is
    /// `Available` and the cloud is wanted for this note.
    pub(crate) fn probe(&mut self) -> NetState {
        match self.link() {
            Err(e) => NetState::Offline { error: e.to_string() },
            Ok(link) => match link.monitor.check(&link.client) {
                Connectivity::Online => NetState::Online,
                Connectivity::Offline => NetState::Offline {
                    error: link.monitor.last_error.clone().unwrap_or_else(|| "unreachable".into()),
                },
            },
        }
    }

    /// The exact request a cloud summary of `doc` would send.
    pub(crate) fn preview(
        &self,
        doc: &Document,
        request: &SummaryRequest,
    ) -> Result<(CloudPreview, Redacted)> {
        let patterns = self
            .settings
            .cloud
            .redaction_patterns()
            .map_err(|e| Error::BadArgument(e.to_string()))?;
        let redacted = redact::redact(&doc.text, &patterns);
        let layout = fieldbrief_engine::prompt::Layout::new(
            request.style,
            request.max_words,
            request.attempt,
        );
        let messages: Vec<ChatMessage> = fieldbrief_engine::prompt::single(&layout, &redacted.text)
            .into_iter()
            .map(|m| ChatMessage { role: m.role, content: m.content })
            .collect();
        let bytes = messages.iter().map(|m| m.content.len()).sum();
        let preview = CloudPreview {
            endpoint: self.settings.cloud.endpoint.clone().unwrap_or_default(),
            model: self.settings.cloud.model.clone().unwrap_or_default(),
            redactions: redacted.replacements.clone(),
            messages,
            bytes,
        };
        Ok((preview, redacted))
    }

    /// Summarizes `doc` in the cloud: redacted, streamed, placeholders restored.
    pub(crate) fn run_cloud(
        &mut self,
        doc: &Document,
        request: &SummaryRequest,
        events: &mut dyn FnMut(EngineEvent),
    ) -> std::result::Result<(EngineOutput, CloudTokens), CloudError> {
        let (preview, redacted) =
            self.preview(doc, request).map_err(|e| CloudError::Config(e.to_string()))?;
        let temperature = self.settings.engine.temperature;
        let cancel = self.cancel.clone();
        let link = self.link()?;
        let mut restorer = StreamRestorer::new(&redacted.replacements);
        let max_tokens = (request.max_words * 2 + 64) as u32;
        let c =
            link.client.chat(&preview.messages, max_tokens, temperature, &cancel, &mut |t| {
                let text = restorer.push(t);
                if !text.is_empty() {
                    events(EngineEvent::Token { text });
                }
            })?;
        let rest = restorer.finish();
        if !rest.is_empty() {
            events(EngineEvent::Token { text: rest });
        }
        let text = redact::restore(&c.text, &redacted.replacements);
        // Out of tokens: what is shown ends at the last complete bullet or sentence.
        let trimmed = (c.finish_reason.as_deref() == Some("length"))
            .then(|| fieldbrief_core::ending::trim_to_complete(&text))
            .flatten();
        let tokens = CloudTokens {
            input: c.input_tokens.unwrap_or_else(|| {
                fieldbrief_core::segment::estimate_tokens(
                    &preview.messages.iter().map(|m| m.content.as_str()).collect::<String>(),
                )
            }),
            output: c
                .output_tokens
                .unwrap_or_else(|| fieldbrief_core::segment::estimate_tokens(&c.text)),
        };
        tracing::info!(
            attempts = c.attempts,
            first_byte_ms = c.first_byte_ms,
            redactions = redacted.replacements.len(),
            "cloud answered"
        );
        let output = EngineOutput {
            trimmed: trimmed.is_some(),
            lines: None,
            decoding: None,
            text: trimmed.unwrap_or_else(|| text.trim().to_string()),
            input_tokens: tokens.input,
            output_tokens: tokens.output,
            model: Some(ModelRef { id: c.model.clone(), version: "cloud".into() }),
            prompt_version: fieldbrief_engine::prompt::version(request.style),
            chunks: 1,
            gpu_fallback: None,
        };
        Ok((output, tokens))
    }

    pub fn key_source(&self) -> Option<KeySource> {
        self.cloud.as_ref().map(|l| l.key_source)
    }

    /// Queued refinements (pending only unless `all`).
    pub fn deferred(&self, all: bool) -> Result<Vec<DeferredJob>> {
        Ok(self.store.deferred(all)?)
    }

    /// Runs the queued cloud refinements if the endpoint is reachable; jobs for notes now kept
    /// on this device, or queued before cloud escalation was switched off, are dropped unsent.
    pub fn run_deferred(
        &mut self,
        events: &mut dyn FnMut(i64, EngineEvent),
    ) -> Result<Vec<Refinement>> {
        let jobs = self.store.deferred(false)?;
        let mut out = Vec::new();
        let mut online = None;
        for job in jobs {
            // The settings may have changed while the previous job streamed (the cloud switched
            // off, "work offline" on): each job is judged by the settings of the moment.
            self.reload_settings()?;
            let r = |state, detail: String, request_id| Refinement {
                job_id: job.id,
                note_id: job.note_id,
                note_title: job.note_title.clone(),
                state,
                detail,
                request_id,
            };
            let Some(note) = self.store.note(job.note_id)? else { continue };
            let gate = self.static_gate(note.keep_on_device, false);
            match gate {
                CloudGate::DeniedForNote | CloudGate::Disabled | CloudGate::NotConfigured => {
                    let why = format!("not sent: {}", gate.describe());
                    self.store.finish_deferred(
                        job.id,
                        RefinementState::Dropped.as_str(),
                        &why,
                        &now(),
                    )?;
                    out.push(r(RefinementState::Dropped, why, None));
                    continue;
                }
                CloudGate::WorkOffline | CloudGate::Offline => {
                    out.push(r(RefinementState::Waiting, gate.describe().into(), None));
                    continue;
                }
                CloudGate::Available => {}
            }
            let net = match &online {
                Some(n) => n,
                None => online.insert(self.probe()),
            };
            if let NetState::Offline { error } = net {
                out.push(r(RefinementState::Waiting, format!("offline: {error}"), None));
                continue;
            }
            // Another runner (the app's, or a CLI's) may be sending this one right now.
            let lease = time::OffsetDateTime::now_utc()
                + Duration::from_secs(self.settings.cloud.total_timeout_secs * 2 + 60);
            if !self.store.claim_deferred(job.id, &now(), &crate::timestamp(lease))? {
                out.push(r(
                    RefinementState::Waiting,
                    "being sent by another Fieldbrief process".into(),
                    None,
                ));
                continue;
            }
            let (result, stopped_by) =
                self.refine_watching_settings(&job, &note, &mut |e| events(job.note_id, e));
            let (state, detail, request_id) = self.settle_refinement(&job, result, stopped_by)?;
            out.push(r(state, detail, request_id));
        }
        Ok(out)
    }

    /// Updates the queue with how a refinement ended: its state, detail and (when done) the
    /// request that made the cloud summary. A user's cancel is returned as the error.
    fn settle_refinement(
        &mut self,
        job: &DeferredJob,
        result: Result<String>,
        stopped_by: Option<SettingsStop>,
    ) -> Result<(RefinementState, String, Option<String>)> {
        Ok(match result {
            Err(Error::Cancelled) if stopped_by == Some(SettingsStop::CloudOff) => {
                let why = "not finished: the cloud was switched off while it was being sent; its answer was discarded".to_string();
                self.store.finish_deferred(
                    job.id,
                    RefinementState::Dropped.as_str(),
                    &why,
                    &now(),
                )?;
                (RefinementState::Dropped, why, None)
            }
            Err(Error::Cancelled) if stopped_by == Some(SettingsStop::WorkOffline) => {
                self.store.release_deferred(job.id)?;
                let why = "stopped: \"work offline\" was switched on while it was being sent";
                (RefinementState::Waiting, why.into(), None)
            }
            Ok(request_id) => {
                self.store.finish_deferred(
                    job.id,
                    RefinementState::Done.as_str(),
                    &request_id,
                    &now(),
                )?;
                // The interim summary was escalated: the ledger says so on its request.
                self.store.set_outcome_if_pending(
                    &job.request_id,
                    fieldbrief_core::ledger::Outcome::Escalated,
                )?;
                (RefinementState::Done, "a cloud summary is ready".into(), Some(request_id))
            }
            Err(Error::Cancelled) => {
                self.store.release_deferred(job.id)?;
                return Err(Error::Cancelled);
            }
            Err(e) => {
                let detail = e.to_string();
                if job.attempts + 1 >= MAX_DEFERRED_ATTEMPTS {
                    let why = format!("gave up after {MAX_DEFERRED_ATTEMPTS} attempts: {detail}");
                    self.store.finish_deferred(
                        job.id,
                        RefinementState::Dropped.as_str(),
                        &why,
                        &now(),
                    )?;
                    (RefinementState::Dropped, detail, None)
                } else {
                    self.store.retry_deferred(job.id, &detail, &now())?;
                    (RefinementState::Failed, detail, None)
                }
            }
        })
    }

    /// [`Fieldbrief::refine`], stopped as soon as the saved settings switch the cloud off or
    /// "work offline" on (the app's Settings, or a person editing `config.toml`): the
    /// settings file is read every half second on a watcher thread while the answer streams,
    /// so that no more is received, paid for or stored after the user said no.
    fn refine_watching_settings(
        &mut self,
        job: &DeferredJob,
        note: &fieldbrief_store::NoteRecord,
        events: &mut dyn FnMut(EngineEvent),
    ) -> (Result<String>, Option<SettingsStop>) {
        let cancel = self.cancel.clone();
        let mut watch = SettingsWatch::new(self.home.config_path(), Duration::from_millis(500));
        let (finished, watching) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let watcher = scope.spawn(move || {
                loop {
                    match watching.recv_timeout(watch.until_due()) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return None,
                    }
                    let Some(settings) = watch.poll() else { continue };
                    let stop = match (settings.cloud.enabled, settings.cloud.work_offline) {
                        (false, _) => SettingsStop::CloudOff,
                        (true, true) => SettingsStop::WorkOffline,
                        (true, false) => continue,
                    };
                    tracing::info!(
                        ?stop,
                        "the refinement being sent is stopped: the settings changed"
                    );
                    cancel.store(true, Ordering::SeqCst);
                    return Some(stop);
                }
            });
            let result = self.refine(job, note, events);
            drop(finished);
            let stopped_by = watcher.join().ok().flatten();
            if stopped_by.is_some() {
                // The flag was this watcher's; the next job starts clean.
                self.cancel.store(false, Ordering::SeqCst);
            }
            (result, stopped_by)
        })
    }

    fn refine(
        &mut self,
        job: &DeferredJob,
        note: &fieldbrief_store::NoteRecord,
        events: &mut dyn FnMut(EngineEvent),
    ) -> Result<String> {
        let style: Style = job.style.parse().unwrap_or_default();
        let mut req = Request::new(style, Some(job.max_words), events);
        let doc = crate::saved_document(note.clone());
        let entry = &mut req.entry;
        entry.note_id = Some(note.id);
        entry.note_hash = Some(doc.content_hash());
        entry.input_bytes = doc.original_bytes;
        entry.route = Some(Route::Cloud);
        entry.engine = Some("cloud".into());
        entry.reasons = vec![Reason::new(
            ReasonCode::DeferredRefinement,
            format!("the cloud refinement queued by request {} while offline", job.request_id),
        )];
        entry.connectivity = serde_json::to_string(&NetState::Online).ok();
        if let Ok(p) = self.power_state() {
            entry.power_mode = Some(p.mode);
            entry.power = serde_json::to_string(&p).ok();
        }
        req.enter(Stage::Generate);
        match self.run_cloud(&doc, &req.summary, req.events) {
            Ok((output, tokens)) => {
                req.close_stage();
                let verdict = quality::assess(&doc.text, &output.text, req.summary.max_words);
                let entry = &mut req.entry;
                entry.status = Status::Ok;
                entry.input_tokens = output.input_tokens;
                entry.output_tokens = output.output_tokens;
                entry.cloud_tokens = Some(tokens);
                entry.model = output.model.clone();
                entry.prompt_version = Some(output.prompt_version.clone());
                entry.quality = Some(verdict);
                self.account(entry, None);
                let summary = NewSummary {
                    note_id: note.id,
                    route: Route::Cloud,
                    engine: "cloud",
                    text: &output.text,
                };
                self.store.record_summary(&summary, &req.entry)?;
                Ok(req.id().to_string())
            }
            Err(CloudError::Cancelled) => {
                // The request went out: the ledger keeps it, marked cancelled.
                let message = "stopped before the answer was complete".to_string();
                self.record_failure(&mut req, "cancelled", message);
                Err(Error::Cancelled)
            }
            Err(e) => {
                self.record_failure(&mut req, e.code(), e.to_string());
                Err(Error::Cloud(e.to_string()))
            }
        }
    }

    /// Marks a saved note "keep on this device" (or lifts it). Pending refinements of a note
    /// so marked are dropped the next time the queue runs.
    pub fn set_keep_on_device(&self, note_id: i64, keep: bool) -> Result<()> {
        if self.store.set_keep_on_device(note_id, keep)? {
            Ok(())
        } else {
            Err(Error::NoSuchNote(note_id))
        }
    }
}

/// Why a refinement was stopped while it streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SettingsStop {
    CloudOff,
    WorkOffline,
}

/// Puts placeholders back while text streams: a placeholder split across pieces ("[EMA",
/// "IL_1]") is held back until it is complete.
struct StreamRestorer<'a> {
    replacements: &'a [Replacement],
    pending: String,
}

impl<'a> StreamRestorer<'a> {
    fn new(replacements: &'a [Replacement]) -> Self {
        StreamRestorer { replacements, pending: String::new() }
    }

    fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        // Hold back from an unclosed '[' that could still become a placeholder.
        let hold = match self.pending.rfind('[') {
            Some(i) if !self.pending[i..].contains(']') && self.pending.len() - i <= 40 => i,
            _ => self.pending.len(),
        };
        let ready: String = self.pending.drain(..hold).collect();
        redact::restore(&ready, self.replacements)
    }

    fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        redact::restore(&rest, self.replacements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_across_pieces_are_restored() {
        let r = redact::redact("mail jo@example.org or call 0171 555 0199", &[]);
        let mut s = StreamRestorer::new(&r.replacements);
        let mut out = String::new();
        for piece in ["- mail [EMA", "IL_1] or [", "PHONE_1", "]; [note] ok", " [x"] {
            out.push_str(&s.push(piece));
        }
        out.push_str(&s.finish());
        assert_eq!(out, "- mail jo@example.org or 0171 555 0199; [note] ok [x");
    }
}
