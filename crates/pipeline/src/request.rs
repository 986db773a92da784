//! A summarize request as stages, each a small function over the [`Request`] value:
//!
//! ```text
//! ingest → save → route → generate → gate → commit
//! ```
//!
//! [`Request`] carries what every stage adds to: the ledger [`Entry`] (one type for a success
//! and a failure: a failed request is the same row with an error code), the stage timings, the
//! length target and the caller's event sink. The decisions are made in `fieldbrief_core`
//! (`route::decide`, `Decision::after_cloud_failure`, `route::after_quality_gate`…, pure
//! functions with table tests); the stages carry them out and write down why.
//!
//! Ordering matters: the note is committed by `save` before anything that can fail on the
//! engines' side, and a request that fails after `ingest` leaves a ledger row saying why.

use crate::{
    CachedFrom, CloudChoice, CloudPreview, DocumentInfo, Error, Fieldbrief, Input, NetState,
    Result, SendWhen, SimilarOffer, SummarizeOptions, SummaryReport, Tokens, input_error_code, ms,
    now, saved_document,
};
use fieldbrief_core::engine::{
    Engine, EngineError, EngineEvent, EngineOutput, LengthFrom, LengthTarget, Lines, SummaryRequest,
};
use fieldbrief_core::ledger::{Entry, Outcome, Status};
use fieldbrief_core::quality::{self, Verdict};
use fieldbrief_core::route::{self, CloudGate, Decision, ReasonCode, Route};
use fieldbrief_core::segment::estimate_tokens;
use fieldbrief_core::{Document, Style};
use fieldbrief_device::PowerState;
use fieldbrief_engine::local::{LocalEngine, Plan};
use fieldbrief_extractive::Extractive;
use fieldbrief_store::NewSummary;
use std::sync::Arc;
use std::time::Instant;

/// The longest summary that can be asked for, in words (the CLI's `--max-words` range).
pub const MAX_WORDS: usize = 5000;

/// The stage a request is in; closing it writes its duration into [`Timings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Ingest,
    Save,
    Route,
    /// The engines, the quality gate and what follows it.
    Generate,
    Store,
}

/// One summarize request on its way through the stages.
pub(crate) struct Request<'e> {
    /// The ledger row as it stands: status `Failed` until `commit` says otherwise.
    pub entry: Entry,
    pub summary: SummaryRequest,
    pub events: &'e mut dyn FnMut(EngineEvent),
    started: Instant,
    stage: (Stage, Instant),
}

impl<'e> Request<'e> {
    pub fn new(
        style: Style,
        max_words: Option<usize>,
        events: &'e mut dyn FnMut(EngineEvent),
    ) -> Request<'e> {
        let summary = SummaryRequest::new(style, max_words);
        let id = uuid::Uuid::now_v7().to_string();
        let now_instant = Instant::now();
        Request {
            entry: Entry::started(id, now(), style, summary.max_words),
            summary,
            events,
            started: now_instant,
            stage: (Stage::Ingest, now_instant),
        }
    }

    pub fn id(&self) -> &str {
        &self.entry.request_id
    }

    /// Closes the running stage and starts `next`.
    pub fn enter(&mut self, next: Stage) {
        self.close_stage();
        self.stage = (next, Instant::now());
    }

    /// Writes the running stage's duration so far, and the total, into the timings.
    pub fn close_stage(&mut self) {
        let (stage, since) = self.stage;
        let t = &mut self.entry.timings;
        let elapsed = ms(since);
        match stage {
            Stage::Ingest => t.ingest = elapsed,
            Stage::Save => t.save_note = elapsed,
            Stage::Route => t.route = elapsed,
            Stage::Generate => t.generate = elapsed,
            Stage::Store => t.store = elapsed,
        }
        t.total = ms(self.started);
    }

    /// Sets the length target everywhere it is kept.
    fn set_max_words(&mut self, words: usize) {
        self.summary.max_words = words;
        self.entry.max_words = words;
    }
}

/// The note, and where it came from.
struct Ingested {
    doc: Document,
    /// Summarized again: the note is already saved.
    saved: Option<i64>,
    /// The saved note is marked "keep on this device".
    kept: bool,
    /// The draft it came from, removed once the note is saved.
    draft: Option<i64>,
}

/// The route a request takes, as it changes after the first decision (the cloud failed, the
/// local engine failed, a summary failed the quality gate).
pub(crate) struct Course {
    pub decision: Decision,
    /// What is known of the network: probed only when the cloud is wanted and allowed.
    pub net: NetState,
    /// Whether this note may go to the cloud at all.
    pub gate: CloudGate,
    /// The cloud was tried for this request already: one request sends at most once.
    pub cloud_tried: bool,
}

/// What the route stage decided, and what later stages need of what it learned.
pub(crate) struct Routed {
    pub course: Course,
    pub power: PowerState,
    pub local: Option<Arc<LocalEngine>>,
    /// The local model's quantization (part of the cache key).
    pub quant: Option<String>,
    /// What the router saw, for deciding again.
    pub snapshot: route::Snapshot,
    pub similar: Option<SimilarOffer>,
    /// The note's size in tokens: the local model's count when there is one.
    pub doc_tokens: usize,
}

impl Routed {
    fn local_with_quant(&self) -> Option<(&LocalEngine, &str)> {
        self.local.as_deref().zip(self.quant.as_deref())
    }
}

/// The route stage's answer: a cache hit ends the request there.
enum Routing {
    Cached(Box<CacheHit>),
    Decided(Box<Routed>),
}

/// An exact cache hit, with what serving it needs.
struct CacheHit {
    hit: fieldbrief_store::CacheEntry,
    producer: fieldbrief_core::cache::Producer,
    power: PowerState,
    gate: CloudGate,
}

/// The extra parts of a report that not every route has.
#[derive(Default)]
struct Extras {
    chunks: Option<usize>,
    lines: Option<Lines>,
    power: Option<PowerState>,
    connectivity: Option<NetState>,
    preview: Option<CloudPreview>,
    similar: Option<SimilarOffer>,
    cached: Option<CachedFrom>,
}

impl Fieldbrief {
    /// Like [`Fieldbrief::summarize`], reporting generated text and progress to `events` as
    /// the engine works.
    pub fn summarize_with(
        &mut self,
        input: Input,
        opts: &SummarizeOptions,
        events: &mut dyn FnMut(EngineEvent),
    ) -> Result<SummaryReport> {
        // A new request: a cancel of the previous one is forgotten (the app's shell also
        // clears the flag before it starts one).
        self.local.cancel().store(false, std::sync::atomic::Ordering::SeqCst);
        if let Some(n) = opts.max_words.filter(|n| !(1..=MAX_WORDS).contains(n)) {
            return Err(Error::BadArgument(format!(
                "a summary of {n} words cannot be asked for: the length is 1 to {MAX_WORDS} words"
            )));
        }
        let style = opts.style.unwrap_or(self.settings.summary.style);
        let mut req =
            Request::new(style, opts.max_words.or(self.settings.summary.max_words), events);
        let span = tracing::info_span!("summarize", request_id = %req.id());
        let _enter = span.enter();

        let ingested = self.ingest(input, opts, &mut req)?;
        req.enter(Stage::Save);
        self.save(&ingested, opts, &mut req)?;
        req.enter(Stage::Route);
        let doc = &ingested.doc;
        let mut routed = match self.route(doc, opts, ingested.kept, &mut req)? {
            Routing::Cached(cached) => {
                let CacheHit { hit, producer, power, gate } = *cached;
                return self.serve_cached(hit, producer, doc, req, power, gate, opts.dry_run);
            }
            Routing::Decided(routed) => *routed,
        };
        // Recognised by this request (a saved note summarized again ran no OCR).
        if let Some(engine) = doc.ocr().filter(|_| ingested.saved.is_none()) {
            routed.course.decision.reasons.insert(
                0,
                route::Reason::new(
                    ReasonCode::ScannedPdfOcr,
                    format!(
                        "a scanned PDF: the text of its {} pages was recognised by OCR on this laptop ({engine}) in {:.1} s",
                        doc.pages.unwrap_or(0),
                        req.entry.timings.ingest / 1000.0
                    ),
                ),
            );
        }
        req.close_stage();
        if opts.dry_run {
            return self.dry_run(doc, req, routed);
        }
        req.enter(Stage::Generate);
        let mut output = self.generate(doc, &mut routed, &mut req)?;
        let local = routed.local.clone();
        let verdict = self.gate_and_reroute(
            doc,
            &mut output,
            local.as_deref(),
            &mut routed.course,
            &mut req,
        )?;
        self.commit(doc, routed, output, verdict, req)
    }

    /// Reads the input into a note and sets the length target. A refused input leaves a
    /// failed ledger row (outside a dry run).
    fn ingest(
        &mut self,
        input: Input,
        opts: &SummarizeOptions,
        req: &mut Request,
    ) -> Result<Ingested> {
        let mut limits = self.input_limits();
        if opts.ocr {
            limits.ocr = Some(fieldbrief_ingest::ocr::OcrOptions {
                languages: self.settings.limits.ocr_languages.clone(),
                // Cancel (Ctrl-C, the app's Cancel) stops OCR between pages and mid-page.
                cancel: Some(self.local.cancel().clone()),
                ..Default::default()
            });
        }
        let (mut saved, mut kept, mut draft) = (None, false, None);
        let events = &mut *req.events;
        let mut progress = |done: usize, total: usize| {
            events(EngineEvent::Progress { stage: "ocr".into(), done, total });
        };
        let doc = match input {
            Input::Path(path) => fieldbrief_ingest::read_path_with(&path, &limits, &mut progress),
            Input::Stream(reader, label) => {
                fieldbrief_ingest::read_stream_with(reader, &label, &limits, &mut progress)
            }
            Input::Typed(text) => fieldbrief_ingest::from_typed_within(&text, &limits),
            Input::Draft(id) => {
                let found = self.store.drafts()?.into_iter().find(|d| d.id == id);
                let body = found.ok_or(Error::NoSuchDraft(id))?.body;
                draft = Some(id);
                fieldbrief_ingest::from_typed_within(&body, &limits)
            }
            Input::Saved(id) => {
                let note = self.store.note(id)?.ok_or(Error::NoSuchNote(id))?;
                saved = Some(id);
                kept = note.keep_on_device;
                Ok(saved_document(note))
            }
        };
        let doc = match doc {
            Ok(doc) => doc,
            Err(e) => {
                tracing::info!(error = %e, "input refused");
                if !opts.dry_run {
                    // The device it happened on, for the report (a power trace that cannot be
                    // read only leaves the battery unknown).
                    if let Ok(p) = self.power_state() {
                        req.entry.power_mode = Some(p.mode);
                        req.entry.power = serde_json::to_string(&p).ok();
                    }
                    self.record_failure(req, input_error_code(&e.problem), e.to_string());
                }
                if matches!(e.problem, fieldbrief_ingest::Problem::OcrCancelled) {
                    return Err(Error::Cancelled);
                }
                return Err(e.into());
            }
        };
        // The length target: asked for, configured, or scaled to the note.
        let target = LengthTarget::choose(
            req.summary.style,
            opts.max_words,
            self.settings.summary.max_words,
            &doc.text,
        );
        req.set_max_words(target.words);
        req.entry.length_from = Some(target.from);
        // Summarizing a saved note again in the same style and length says the last summary
        // was not the answer: that request's outcome becomes `regenerated` (unless the user
        // already judged it), and the cache forgets it so an engine runs. Another style or
        // length is a new request, not a verdict on the old one.
        if let (Some(id), false) = (saved, opts.dry_run)
            && let Some(previous) = self.store.latest_request_for_note(
                id,
                req.summary.style.as_str(),
                req.summary.max_words,
            )?
        {
            self.store.set_outcome_if_pending(&previous, Outcome::Regenerated)?;
            self.store.cache_forget_request(&previous)?;
        }
        req.entry.note_hash = Some(doc.content_hash());
        req.entry.input_bytes = doc.original_bytes;
        req.entry.input_tokens = estimate_tokens(&doc.text);
        Ok(Ingested { doc, saved, kept, draft })
    }

    /// Saves the note before anything else can fail (not in a dry run, which saves nothing).
    fn save(
        &mut self,
        ingested: &Ingested,
        opts: &SummarizeOptions,
        req: &mut Request,
    ) -> Result<()> {
        // "Keep on this device" and `--cloud deny` are properties of the note, stored with it:
        // summarized again, refined later or escalated, it never leaves the laptop.
        let keep = opts.keep_on_device || opts.cloud == Some(CloudChoice::Deny);
        req.entry.note_id = match (opts.dry_run, ingested.saved) {
            (true, _) => None,
            (false, Some(id)) => {
                if keep && !ingested.kept {
                    self.store.set_keep_on_device(id, true)?;
                }
                Some(id)
            }
            (false, None) => {
                let id = self.store.insert_note_kept(&ingested.doc, &req.entry.created_at, keep)?;
                // The note is committed; the draft it came from is no longer needed. (A crash
                // between the two leaves both: the text twice, never none.)
                if let Some(draft) = ingested.draft {
                    self.store.delete_draft(draft)?;
                }
                Some(id)
            }
        };
        Ok(())
    }

    /// Power, the cache, then the route, with the local model's own token counts when there
    /// is one (measuring starts a worker, so an exact cache hit is looked for first).
    fn route(
        &mut self,
        doc: &Document,
        opts: &SummarizeOptions,
        kept_note: bool,
        req: &mut Request,
    ) -> Result<Routing> {
        let power = self.power_state()?;
        req.entry.power_mode = Some(power.mode);
        req.entry.power = serde_json::to_string(&power).ok();
        let profile = power.profile();
        if req.entry.length_from == Some(LengthFrom::Note) && profile.output_budget_percent < 100 {
            // Saver mode: a shorter summary by default (a length the user asked for stands).
            let words = req.summary.max_words * profile.output_budget_percent as usize / 100;
            req.set_max_words(words.max(10));
        }
        let mut reasons_before: Vec<route::Reason> = Vec::new();
        let local_quant =
            self.local_engine(opts.model.as_deref(), &profile, &mut reasons_before)?;
        let (local, quant) = local_quant.unzip();
        let keep_on_device =
            opts.keep_on_device || kept_note || opts.cloud == Some(CloudChoice::Deny);
        let gate = self.static_gate(keep_on_device, opts.offline);

        // An exact hit is served; a near-duplicate is only offered.
        let style = req.summary.style;
        let lq = local.as_deref().zip(quant.as_deref());
        let candidates = self.cache_candidates(style, lq, gate);
        let served_by = (!opts.dry_run).then_some(req.id());
        if let Some((hit, producer)) =
            self.cache_lookup(doc, style, req.summary.max_words, &candidates, served_by)?
        {
            return Ok(Routing::Cached(Box::new(CacheHit { hit, producer, power, gate })));
        }
        let similar = self.similar_offer(doc, style, &candidates)?;
        let plan = self.plan_locally(doc, local.as_deref(), req, &mut reasons_before)?;
        let snapshot = route::Snapshot {
            doc_tokens: req.entry.input_tokens,
            complexity: route::complexity(&doc.text),
            local: plan.as_ref().map(|p| route::LocalModel {
                context_tokens: p.context_tokens,
                reserved_tokens: p.reserved_tokens,
            }),
            cloud: gate,
            power: power.mode,
            preference: self.settings.routing.prefer,
            cache_hit: false,
        };
        let mut routed = Routed {
            course: Course {
                decision: route::decide(&snapshot),
                net: Self::not_probed(gate),
                gate,
                cloud_tried: false,
            },
            power,
            local,
            quant,
            snapshot,
            similar,
            doc_tokens: req.entry.input_tokens,
        };
        self.probe_for_cloud(&mut routed, opts.dry_run);
        let decision = &mut routed.course.decision;
        if plan.is_none() && !reasons_before.is_empty() {
            // The model exists but cannot serve: say why instead of "no local model".
            decision.reasons.retain(|r| r.code != ReasonCode::NoLocalModel);
        }
        decision.reasons.splice(0..0, reasons_before);
        req.entry.route = Some(decision.route);
        req.entry.reasons = decision.reasons.clone();
        req.entry.connectivity = serde_json::to_string(&routed.course.net).ok();
        Ok(Routing::Decided(Box::new(routed)))
    }

    /// Measures the note with the local model (its context and token count). A model that
    /// fails here is noted in `reasons`, and the router goes on without it.
    fn plan_locally(
        &mut self,
        doc: &Document,
        local: Option<&LocalEngine>,
        req: &mut Request,
        reasons: &mut Vec<route::Reason>,
    ) -> Result<Option<Plan>> {
        let Some(engine) = local else { return Ok(None) };
        match engine.plan(doc, &req.summary) {
            Ok(plan) => {
                req.entry.input_tokens = plan.doc_tokens;
                if let Some(why) = &plan.model.gpu_fallback {
                    reasons.push(route::Reason::new(ReasonCode::GpuFallback, why.clone()));
                }
                Ok(Some(plan))
            }
            Err(EngineError::InvalidModel(m)) => Err(Error::InvalidModel(m)),
            Err(e) => {
                let rolled_back = self.note_engine_failure(engine.model(), &e)?;
                reasons.push(route::Reason::new(ReasonCode::LocalEngineFailed, e.to_string()));
                reasons.extend(rolled_back);
                Ok(None)
            }
        }
    }

    /// When the router chose the cloud, whether it is reachable; if not, the router decides
    /// again without it. A dry run sends nothing, probes included.
    fn probe_for_cloud(&mut self, routed: &mut Routed, dry_run: bool) {
        let course = &mut routed.course;
        if course.decision.route != Route::Cloud {
            return;
        }
        if dry_run {
            course.net =
                NetState::NotProbed { why: "a dry run sends nothing, probes included".into() };
            return;
        }
        course.net = self.probe();
        if let NetState::Offline { error } = &course.net {
            routed.snapshot.cloud = CloudGate::Offline;
            course.decision = route::decide(&routed.snapshot);
            course
                .decision
                .reasons
                .insert(0, route::Reason::new(ReasonCode::EndpointUnreachable, error.clone()));
        }
    }

    /// A dry run's answer: the decision, and for the cloud exactly what would be sent.
    fn dry_run(&self, doc: &Document, req: Request, routed: Routed) -> Result<SummaryReport> {
        // Every path that can send is previewed: the cloud route, a queued refinement, and the
        // escalation after a failed quality gate wherever the cloud is allowed for this note.
        let when = match routed.course.decision.route {
            Route::Cloud => Some(SendWhen::Now),
            Route::Deferred => Some(SendWhen::WhenOnline),
            _ if routed.course.gate == CloudGate::Available => Some(SendWhen::IfQualityGateFails),
            _ => None,
        };
        let preview = match when {
            Some(when) => Some(CloudPreview { when, ..self.preview(doc, &req.summary)?.0 }),
            None => None,
        };
        let extras = Extras {
            power: Some(routed.power),
            connectivity: Some(routed.course.net),
            preview,
            similar: routed.similar,
            ..Extras::default()
        };
        Ok(report(&req, doc, routed.doc_tokens, routed.course.decision, None, None, extras))
    }

    /// The cloud when the router said so, else (or when it fails) this device.
    fn generate(
        &mut self,
        doc: &Document,
        routed: &mut Routed,
        req: &mut Request,
    ) -> Result<EngineOutput> {
        let decision = &mut routed.course.decision;
        if decision.route == Route::Cloud {
            req.entry.engine = Some("cloud".into());
            routed.course.cloud_tried = true;
            match self.run_cloud(req.entry.note_id, doc, &req.summary, req.events) {
                Ok((output, tokens)) => {
                    req.entry.cloud_tokens = Some(tokens);
                    return Ok(output);
                }
                Err(fieldbrief_cloud::CloudError::Cancelled) => return Err(self.cancelled(req)),
                Err(e) => {
                    tracing::warn!(error = %e, "cloud failed; summarizing on this device");
                    req.entry.error_code = Some(e.code().into());
                    decision.after_cloud_failure(&routed.snapshot, e.to_string());
                    req.entry.route = Some(decision.route);
                    req.entry.reasons = decision.reasons.clone();
                }
            }
        }
        self.summarize_here(doc, routed.local.as_deref(), decision, req)
    }

    /// Summarizes on this device: the local model for `local` / `local-chunked` (or the
    /// interim route of `deferred`), else the extractive summarizer, which also stands in when
    /// the local engine fails.
    pub(crate) fn summarize_here(
        &mut self,
        doc: &Document,
        local: Option<&LocalEngine>,
        decision: &mut Decision,
        req: &mut Request,
    ) -> Result<EngineOutput> {
        let use_local = matches!(decision.serving(), Route::Local | Route::LocalChunked);
        if let (true, Some(engine)) = (use_local, local) {
            req.entry.engine = Some(engine.name().to_string());
            match engine.summarize(doc, &req.summary, req.events) {
                Ok(o) => {
                    self.model_succeeded(engine.model())?;
                    if let Some(why) = &o.gpu_fallback
                        && !decision.has(ReasonCode::GpuFallback)
                    {
                        decision.reasons.push(route::Reason::new(ReasonCode::GpuFallback, why));
                        req.entry.reasons = decision.reasons.clone();
                    }
                    return Ok(o);
                }
                Err(EngineError::Cancelled) => return Err(self.cancelled(req)),
                Err(EngineError::InvalidModel(m)) => return Err(Error::InvalidModel(m)),
                Err(e) => {
                    // The note is safe; the extractive summary stands in, and the ledger says so.
                    let rolled_back = self.note_engine_failure(engine.model(), &e)?;
                    decision.serve_instead(Route::Extractive);
                    decision
                        .reasons
                        .push(route::Reason::new(ReasonCode::LocalEngineFailed, e.to_string()));
                    decision.reasons.extend(rolled_back);
                    req.entry.route = Some(decision.route);
                    req.entry.reasons = decision.reasons.clone();
                }
            }
        }
        req.entry.engine = Some(Extractive.name().to_string());
        Extractive.summarize(doc, &req.summary, req.events).map_err(|source| {
            self.record_failure(req, "engine_failed", source.to_string());
            Error::Engine { input: doc.name.clone(), source }
        })
    }

    /// The summary and its ledger row in one transaction, then the cache and a queued
    /// refinement; returns the report.
    fn commit(
        &mut self,
        doc: &Document,
        routed: Routed,
        output: EngineOutput,
        verdict: Verdict,
        mut req: Request,
    ) -> Result<SummaryReport> {
        let decision = &routed.course.decision;
        let entry = &mut req.entry;
        entry.route = Some(decision.route);
        entry.reasons = decision.reasons.clone();
        if let Some(d) = output.decoding {
            entry.timings.first_token = d.first_token_ms;
            entry.timings.drafted = d.drafted as u32;
            entry.timings.accepted = d.accepted as u32;
        }
        entry.status = Status::Ok;
        entry.output_tokens = output.output_tokens;
        entry.input_tokens = output.input_tokens.max(entry.input_tokens);
        entry.model = output.model.clone();
        entry.prompt_version = Some(output.prompt_version.clone());
        entry.quality = Some(verdict.clone());
        let Some(note_id) = entry.note_id else {
            return Err(Error::Home("internal: no note id outside a dry run".into()));
        };
        req.enter(Stage::Store);
        let engine_name = req.entry.engine.clone().unwrap_or_default();
        let summary =
            NewSummary { note_id, route: decision.route, engine: &engine_name, text: &output.text };
        // Timings are final except for the commit itself, which the ledger cannot contain.
        req.close_stage();
        let used_local =
            routed.local.as_deref().filter(|e| req.entry.engine.as_deref() == Some(e.name()));
        self.account(&mut req.entry, used_local);
        self.store.record_summary(&summary, &req.entry)?;
        // Only a summary that passed the gate is worth serving again; an interim summary that
        // waits for a cloud refinement is not, nor the extractive stand-in for a model whose
        // summaries failed (the model gets its chance again next time).
        if verdict.passed
            && decision.route != Route::Deferred
            && !decision.has(ReasonCode::ExtractiveAfterQualityGate)
        {
            let style = req.summary.style;
            if let Some(producer) = self.producer_of(&engine_name, style, routed.local_with_quant())
                && let Err(e) =
                    self.cache_store(doc, &req.entry, decision.route, &output.text, &producer)
            {
                // The summary is saved; a cache that cannot be written only costs speed.
                tracing::warn!(error = %e, "could not cache the summary");
            }
        }
        if decision.route == Route::Deferred {
            // After the summary: a crash in between loses the refinement, never the summary.
            let s = &req.summary;
            self.store.enqueue_deferred(note_id, req.id(), s.style, s.max_words, &now())?;
        }
        req.close_stage();
        tracing::info!(route = %decision.route, total_ms = req.entry.timings.total, "summarized");
        let extras = Extras {
            chunks: Some(output.chunks),
            lines: output.lines,
            power: Some(routed.power),
            connectivity: Some(routed.course.net),
            similar: routed.similar,
            ..Extras::default()
        };
        let decision = routed.course.decision;
        Ok(report(&req, doc, routed.doc_tokens, decision, Some(output.text), Some(verdict), extras))
    }

    /// Answers a request from the cache: the note is already saved; the cached summary is
    /// stored as this request's summary with route `cache`, and the ledger counts the hit.
    #[allow(clippy::too_many_arguments)]
    fn serve_cached(
        &mut self,
        hit: fieldbrief_store::CacheEntry,
        producer: fieldbrief_core::cache::Producer,
        doc: &Document,
        mut req: Request,
        power: PowerState,
        gate: CloudGate,
        dry_run: bool,
    ) -> Result<SummaryReport> {
        let snapshot = route::Snapshot {
            doc_tokens: req.entry.input_tokens,
            complexity: route::complexity(&doc.text),
            local: None,
            cloud: gate,
            power: power.mode,
            preference: self.settings.routing.prefer,
            cache_hit: true,
        };
        let mut decision = route::decide(&snapshot);
        for r in decision.reasons.iter_mut().filter(|r| r.code == ReasonCode::CacheHit) {
            r.detail = format!(
                "the same note, style and length were summarized on {} by {} (request {}); served again without running a model",
                hit.created_at.get(..10).unwrap_or(&hit.created_at),
                producer.key(),
                hit.request_id
            );
        }
        let not_probed = NetState::NotProbed { why: "served from the cache".into() };
        let entry = &mut req.entry;
        entry.route = Some(Route::Cache);
        entry.reasons = decision.reasons.clone();
        entry.engine = Some("cache".into());
        entry.model = hit.model.clone();
        entry.prompt_version = Some(hit.prompt_version.clone());
        entry.connectivity = serde_json::to_string(&not_probed).ok();
        let doc_tokens = entry.input_tokens;
        let mut extras = Extras {
            power: Some(power),
            cached: Some(CachedFrom::from(&hit)),
            ..Extras::default()
        };
        if dry_run {
            req.close_stage();
            return Ok(report(&req, doc, doc_tokens, decision, None, None, extras));
        }
        req.enter(Stage::Store);
        let verdict = quality::assess(&doc.text, &hit.summary, req.entry.max_words);
        req.entry.status = Status::Ok;
        req.entry.output_tokens = estimate_tokens(&hit.summary);
        req.entry.quality = Some(verdict.clone());
        let Some(note_id) = req.entry.note_id else {
            return Err(Error::Home("internal: no note id outside a dry run".into()));
        };
        req.close_stage();
        self.account(&mut req.entry, None);
        let summary =
            NewSummary { note_id, route: Route::Cache, engine: "cache", text: &hit.summary };
        self.store.record_summary(&summary, &req.entry)?;
        req.close_stage();
        tracing::info!(total_ms = req.entry.timings.total, "served from the cache");
        extras.connectivity = Some(not_probed);
        Ok(report(
            &req,
            doc,
            doc_tokens,
            decision,
            Some(hit.summary.clone()),
            Some(verdict),
            extras,
        ))
    }

    /// Records a cancelled request and returns the error to give the caller.
    pub(crate) fn cancelled(&self, req: &mut Request) -> Error {
        self.record_failure(req, "cancelled", "cancelled by the user".into());
        Error::Cancelled
    }

    /// The one way a failed request reaches the ledger: the row as it stands, with an error
    /// code and message and the timings until now.
    pub(crate) fn record_failure(&self, req: &mut Request, code: &str, message: String) {
        req.close_stage();
        req.entry.error_code = Some(code.into());
        req.entry.error = Some(message);
        self.record_failure_quietly(&req.entry);
    }

    /// Writes a failed ledger row, best effort: the request's own error is what the user must
    /// see.
    pub(crate) fn record_failure_quietly(&self, entry: &Entry) {
        let mut entry = entry.clone();
        // A failure costs what it spent too (energy until it failed, cloud tokens of a failed
        // attempt), and counts under its device class.
        self.account(&mut entry, None);
        if let Err(store_err) = self.store.record_failure(&entry) {
            tracing::warn!(error = %store_err, "could not record the failed request");
        }
    }
}

/// The report of a request, from its ledger row and decision.
fn report(
    req: &Request,
    doc: &Document,
    doc_tokens: usize,
    decision: Decision,
    summary: Option<String>,
    quality: Option<Verdict>,
    extras: Extras,
) -> SummaryReport {
    let entry = &req.entry;
    let dry_run = summary.is_none();
    SummaryReport {
        request_id: entry.request_id.clone(),
        note_id: entry.note_id,
        route: decision.route,
        interim_route: decision.interim,
        reasons: decision.reasons,
        summary,
        model: entry.model.clone(),
        engine: entry.engine.clone(),
        prompt_version: entry.prompt_version.clone(),
        style: entry.style,
        max_words: entry.max_words,
        length_from: entry.length_from,
        tokens: Tokens { input: entry.input_tokens, output: entry.output_tokens },
        timings_ms: entry.timings,
        quality,
        dry_run,
        chunks: extras.chunks.unwrap_or(1),
        lines: extras.lines,
        power: extras.power,
        connectivity: extras
            .connectivity
            .unwrap_or_else(|| NetState::NotProbed { why: String::new() }),
        preview: extras.preview,
        cloud_tokens: entry.cloud_tokens,
        similar: extras.similar,
        cached: extras.cached,
        // What the ledger counted (nothing for a dry run, which spends nothing).
        cost: entry.cost,
        energy_wh: entry.energy_wh,
        device_class: entry.device_class.clone(),
        document: DocumentInfo {
            name: doc.name.clone(),
            kind: doc.kind.as_str().into(),
            words: doc.word_count(),
            tokens: doc_tokens,
            bytes: doc.original_bytes,
            encoding: doc.encoding.clone(),
            pages: doc.pages,
            notices: doc.notices.clone(),
        },
    }
}
