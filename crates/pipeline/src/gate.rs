//! The quality gate step of a request, and the re-routing that follows a failed summary.
//!
//! The decisions are `route::after_quality_gate`'s (a pure table, tested in the core); this
//! module carries them out: it escalates to the cloud when that is allowed and reachable,
//! otherwise asks the local model once more under tighter constraints, and otherwise serves the
//! extractive summary. Every step leaves a reason code, so the JSON, the ledger and the app say
//! which summary the technician got and why. A local summary that failed the gate is never
//! the answer as it stands.

use crate::request::{Course, Request};
use crate::{Fieldbrief, NetState, Result};
use fieldbrief_core::Document;
use fieldbrief_core::engine::{
    Attempt, Decoding, Engine, EngineError, EngineEvent, EngineOutput, SummaryRequest,
};
use fieldbrief_core::quality::{self, Verdict};
use fieldbrief_core::route::{self, AfterGate, CloudGate, CloudNow, Producer, ReasonCode, Route};
use fieldbrief_engine::local::LocalEngine;
use fieldbrief_extractive::Extractive;

/// The verdict on `output` from `producer`: model output is also checked for copying.
/// An outlined local summary is also checked that the model wrote most of its lines.
pub(crate) fn judge(
    note: &str,
    output: &EngineOutput,
    max_words: usize,
    producer: Producer,
) -> Verdict {
    let mut verdict = match producer {
        Producer::Extractive => quality::assess(note, &output.text, max_words),
        Producer::Local | Producer::LocalInParts | Producer::LocalRetry | Producer::Cloud => {
            quality::assess_generated(note, &output.text, max_words)
        }
    };
    if let Some(lines) = output.lines {
        verdict.checks.push(quality::lines_written(lines));
        verdict.passed = verdict.checks.iter().all(|c| c.passed);
    }
    verdict
}

/// Which producer made `output`, by its engine's name.
pub(crate) fn producer_of(engine: Option<&str>, output: &EngineOutput) -> Producer {
    match engine {
        Some("cloud") => Producer::Cloud,
        Some("local") if output.chunks > 1 => Producer::LocalInParts,
        Some("local") => Producer::Local,
        _ => Producer::Extractive,
    }
}

/// Where the gate's loop stands: who made the summary now on the table, its verdict, and what
/// the attempts before it spent.
struct Gating {
    producer: Producer,
    verdict: Verdict,
    /// Whether `verdict` is new since the last step (a failed escalation or retry leaves it as
    /// it was, and its failure is already in the reasons).
    fresh: bool,
    /// Tokens every earlier attempt spent: the ledger counts what the request cost, not only
    /// what produced the final text…
    spent: (usize, usize),
    /// …and how the local model's tokens came, over all its attempts.
    decoding: Option<Decoding>,
}

impl Gating {
    /// `tried` is set aside for `next`: its tokens count as spent.
    fn set_aside(&mut self, tried: &EngineOutput) {
        self.spent = (self.spent.0 + tried.input_tokens, self.spent.1 + tried.output_tokens);
        self.decoding = Decoding::combine(self.decoding, tried.decoding);
    }
}

impl Fieldbrief {
    /// Judges `output` and re-routes until the table (`route::after_quality_gate`) says
    /// accept; returns the final verdict. `output`, `course` and the request's ledger entry
    /// are updated to what finally served the note.
    pub(crate) fn gate_and_reroute(
        &mut self,
        doc: &Document,
        output: &mut EngineOutput,
        local: Option<&LocalEngine>,
        course: &mut Course,
        req: &mut Request,
    ) -> Result<Verdict> {
        let producer = producer_of(req.entry.engine.as_deref(), output);
        let verdict = judge(&doc.text, output, req.summary.max_words, producer);
        let mut g = Gating { producer, verdict, fresh: true, spent: (0, 0), decoding: None };
        loop {
            let cloud_now = if course.gate == CloudGate::Available
                && course.decision.route != Route::Deferred
                && !course.cloud_tried
            {
                CloudNow::Allowed
            } else {
                CloudNow::NotNow
            };
            let step = route::after_quality_gate(g.verdict.passed, g.producer, cloud_now);
            if !g.verdict.passed && g.fresh {
                let failed = failed_detail(g.producer, &g.verdict);
                tracing::debug!(producer = ?g.producer, %failed, text = %output.text, "summary failed the quality gate");
                if g.producer != Producer::Cloud {
                    course
                        .decision
                        .reasons
                        .push(route::Reason::new(ReasonCode::QualityGateFailed, failed));
                }
            }
            g.fresh = false;
            match step {
                AfterGate::Accept => break,
                AfterGate::Escalate => self.escalate(doc, output, course, req, &mut g)?,
                AfterGate::RetryLocal => {
                    self.retry_locally(doc, output, local, course, req, &mut g)?
                }
                AfterGate::Extractive => {
                    if !extractive_instead(doc, output, course, req, &mut g) {
                        break;
                    }
                }
            }
            if g.fresh {
                g.verdict = judge(&doc.text, output, req.summary.max_words, g.producer);
            }
        }
        output.input_tokens += g.spent.0;
        output.output_tokens += g.spent.1;
        output.decoding = Decoding::combine(g.decoding, output.decoding);
        if output.trimmed {
            course.decision.reasons.push(route::Reason::new(
                ReasonCode::SummaryTrimmed,
                "the model ran out of its token budget; the summary ends at its last complete bullet or sentence",
            ));
        }
        Ok(g.verdict)
    }

    /// The cloud after a failed summary: probed first if it was not yet; unreachable, the note
    /// is deferred to it.
    fn escalate(
        &mut self,
        doc: &Document,
        output: &mut EngineOutput,
        course: &mut Course,
        req: &mut Request,
        g: &mut Gating,
    ) -> Result<()> {
        course.cloud_tried = true;
        if matches!(course.net, NetState::NotProbed { .. }) {
            course.net = self.probe();
            req.entry.connectivity = serde_json::to_string(&course.net).ok();
        }
        match &course.net {
            NetState::Online => {
                match self.run_cloud(req.entry.note_id, doc, &req.summary, req.events) {
                    Ok((o, tokens)) => {
                        req.entry.cloud_tokens = Some(tokens);
                        course.decision.reasons.push(route::Reason::new(
                        ReasonCode::EscalatedAfterQualityGate,
                        "the note went to the cloud after the local summary failed the quality gate",
                    ));
                        course.decision.route = Route::Cloud;
                        course.decision.interim = None;
                        req.entry.engine = Some("cloud".into());
                        *output = o;
                        g.producer = Producer::Cloud;
                        g.fresh = true;
                    }
                    Err(fieldbrief_cloud::CloudError::Cancelled) => return Err(self.cancelled(req)),
                    Err(e) => {
                        req.entry.error_code = Some(e.code().into());
                        course
                            .decision
                            .reasons
                            .push(route::Reason::new(ReasonCode::CloudFailed, e.to_string()));
                    }
                }
            }
            NetState::Offline { error } => {
                course
                    .decision
                    .reasons
                    .push(route::Reason::new(ReasonCode::EndpointUnreachable, error.clone()));
                course.decision.defer();
            }
            NetState::NotProbed { .. } => {}
        }
        Ok(())
    }

    /// The local model once more, under tighter constraints (fewer bullets, greedy decoding).
    fn retry_locally(
        &mut self,
        doc: &Document,
        output: &mut EngineOutput,
        local: Option<&LocalEngine>,
        course: &mut Course,
        req: &mut Request,
        g: &mut Gating,
    ) -> Result<()> {
        let retry = SummaryRequest { attempt: Attempt::Retry, ..req.summary };
        course.decision.reasons.push(route::Reason::new(
            ReasonCode::LocalRetried,
            "the model was asked once more for a shorter summary, with fewer bullets and greedy decoding",
        ));
        g.producer = Producer::LocalRetry;
        let Some(engine) = local else { return Ok(()) };
        let events = &mut *req.events;
        events(EngineEvent::Progress { stage: "retry".into(), done: 0, total: 1 });
        // The retry's text is not streamed: what was streamed is replaced by the final summary
        // when the request ends.
        let progress_only = &mut |e: EngineEvent| {
            if let EngineEvent::Progress { .. } = e {
                events(e)
            }
        };
        match engine.summarize(doc, &retry, progress_only) {
            Ok(o) => {
                g.set_aside(output);
                *output = o;
                g.fresh = true;
            }
            Err(EngineError::Cancelled) => return Err(self.cancelled(req)),
            Err(e) => {
                let rolled_back = self.note_engine_failure(engine.model(), &e)?;
                course
                    .decision
                    .reasons
                    .push(route::Reason::new(ReasonCode::LocalEngineFailed, e.to_string()));
                course.decision.reasons.extend(rolled_back);
                // The failed retry leaves the first summary's verdict standing: next is the
                // extractive summary.
            }
        }
        Ok(())
    }
}

/// The extractive summary in place of the model's failed ones; `false` when the note has no
/// sentence to select (the flagged summary is then all there is).
fn extractive_instead(
    doc: &Document,
    output: &mut EngineOutput,
    course: &mut Course,
    req: &mut Request,
    g: &mut Gating,
) -> bool {
    let extract = match Extractive.summarize(doc, &req.summary, &mut |_| {}) {
        Ok(extract) => extract,
        Err(e) => {
            tracing::warn!(error = %e, "no extractive summary to stand in");
            return false;
        }
    };
    course.decision.reasons.push(route::Reason::new(
        ReasonCode::ExtractiveAfterQualityGate,
        "the local model's summaries failed the quality gate; the extractive summary (the note's own sentences) stands in",
    ));
    course.decision.serve_instead(Route::Extractive);
    req.entry.engine = Some(Extractive.name().to_string());
    // The model whose summaries failed stays on the record (the ledger's fallback rate per
    // model version), and so do the parts it read and the tokens it spent.
    let tried = std::mem::replace(output, extract);
    g.set_aside(&tried);
    output.model = tried.model;
    output.chunks = tried.chunks;
    output.input_tokens = 0;
    g.producer = Producer::Extractive;
    g.fresh = true;
    true
}

fn failed_detail(producer: Producer, verdict: &Verdict) -> String {
    let failed: Vec<String> = verdict
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    let who = match producer {
        Producer::Local | Producer::LocalInParts => "local",
        Producer::LocalRetry => "retried local",
        Producer::Cloud => "cloud",
        Producer::Extractive => "extractive",
    };
    format!("the {who} summary failed: {}", failed.join(", "))
}
