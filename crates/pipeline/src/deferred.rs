//! The deferred queue: cloud refinements queued while the laptop was offline, sent when the
//! network is back. Each job is judged by the settings and the note's flags of the moment it
//! is sent, and a job whose note is now kept on this device, or that was queued before the
//! cloud was switched off, is dropped unsent.

use crate::request::{Request, Stage};
use crate::{Error, Fieldbrief, NetState, Result, now};
use fieldbrief_cloud::CloudError;
use fieldbrief_core::Style;
use fieldbrief_core::config::SettingsWatch;
use fieldbrief_core::engine::EngineEvent;
use fieldbrief_core::ledger::Status;
use fieldbrief_core::quality;
use fieldbrief_core::route::{CloudGate, Reason, ReasonCode, Route};
use fieldbrief_store::{DeferredJob, NewSummary};
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

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
                    self.drop_job(job.id, &why)?;
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

    /// Ends a queued refinement as dropped, never to be sent, saying why.
    fn drop_job(&self, job_id: i64, why: &str) -> Result<()> {
        Ok(self.store.finish_deferred(job_id, RefinementState::Dropped.as_str(), why, &now())?)
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
                self.drop_job(job.id, &why)?;
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
            // The cloud switched off since the queue looked (refused at the moment of sending,
            // or stopped while streaming): never to be sent, as for a stop by the watcher.
            Err(_) if !self.settings.cloud.enabled => {
                let why =
                    "not sent: the cloud was switched off before it could be sent".to_string();
                self.drop_job(job.id, &why)?;
                (RefinementState::Dropped, why, None)
            }
            // "Work offline" switched on since: it waits.
            Err(_) if self.settings.cloud.work_offline => {
                self.store.release_deferred(job.id)?;
                (RefinementState::Waiting, "\"work offline\" is on".into(), None)
            }
            // Kept on this device (or deleted) since the queue looked: refused at the moment of
            // sending, and never to be sent.
            Err(e) if self.store.kept_on_device(job.note_id).map_or(true, |k| k != Some(false)) => {
                let why = e.to_string();
                self.drop_job(job.id, &why)?;
                (RefinementState::Dropped, why, None)
            }
            Err(e) => {
                let detail = e.to_string();
                if job.attempts + 1 >= MAX_DEFERRED_ATTEMPTS {
                    let why = format!("gave up after {MAX_DEFERRED_ATTEMPTS} attempts: {detail}");
                    self.drop_job(job.id, &why)?;
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
        let cancel = self.local.cancel().clone();
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
                self.local.cancel().store(false, Ordering::SeqCst);
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
        match self.run_cloud(Some(note.id), &doc, &req.summary, req.events) {
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
