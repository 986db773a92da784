//! The quality gate step of a request, and the re-routing that follows a failed summary.
//!
//! The decisions are `route::after_quality_gate`'s (a pure table, tested in the core); this
//! module carries them out: it escalates to the cloud when that is allowed and reachable,
//! otherwise asks the local model once more under tighter constraints, and otherwise serves the
//! extractive summary. Every step leaves a reason code, so the JSON, the ledger and the app say
//! which summary the technician got and why. A local summary that failed the gate is never
//! the answer as it stands.

use crate::{Fieldbrief, NetState, Result, Timings, defer};
use fieldbrief_core::Document;
use fieldbrief_core::engine::{
    Attempt, Decoding, Engine, EngineError, EngineEvent, EngineOutput, SummaryRequest,
};
use fieldbrief_core::ledger::Entry;
use fieldbrief_core::quality::{self, Verdict};
use fieldbrief_core::route::{
    self, AfterGate, CloudGate, CloudNow, Decision, Producer, ReasonCode, Route,
};
use fieldbrief_engine::local::LocalEngine;
use fieldbrief_extractive::Extractive;
use std::time::Instant;

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

impl Fieldbrief {
    /// Judges `output` and re-routes until the table says accept; returns the final verdict.
    /// `output`, `decision`, `base` and `net` are updated to what finally served the note.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gate_and_reroute(
        &mut self,
        doc: &Document,
        request: &SummaryRequest,
        local: Option<&LocalEngine>,
        output: &mut EngineOutput,
        decision: &mut Decision,
        base: &mut Entry,
        net: &mut NetState,
        gate: CloudGate,
        events: &mut dyn FnMut(EngineEvent),
        clock: (Timings, Instant, Instant),
    ) -> Result<Verdict> {
        let mut producer = producer_of(base.engine.as_deref(), output);
        let mut verdict = judge(&doc.text, output, request.max_words, producer);
        // Tokens every attempt spent: the ledger counts what the request cost, not only what
        // produced the final text.
        let mut spent = (0usize, 0usize);
        // And how the local model's tokens came, over all its attempts.
        let mut decoding: Option<Decoding> = None;
        let mut cloud_tried = false;
        // Whether `verdict` is new since the last step (a failed escalation or retry leaves it
        // as it was, and its failure is already in the reasons).
        let mut fresh = true;
        loop {
            let cloud_now = if gate == CloudGate::Available
                && decision.route != Route::Deferred
                && !cloud_tried
            {
                CloudNow::Allowed
            } else {
                CloudNow::NotNow
            };
            let step = route::after_quality_gate(verdict.passed, producer, cloud_now);
            if !verdict.passed && fresh {
                tracing::debug!(?producer, failed = %failed_detail(producer, &verdict), text = %output.text, "summary failed the quality gate");
            }
            if !verdict.passed && fresh && producer != Producer::Cloud {
                decision.reasons.push(route::Reason::new(
                    ReasonCode::QualityGateFailed,
                    failed_detail(producer, &verdict),
                ));
            }
            fresh = false;
            match step {
                AfterGate::Accept => break,
                AfterGate::Escalate => {
                    cloud_tried = true;
                    if matches!(net, NetState::NotProbed { .. }) {
                        *net = self.probe();
                        base.connectivity = serde_json::to_string(&*net).ok();
                    }
                    match &*net {
                        NetState::Online => match self.run_cloud(doc, request, events) {
                            Ok((o, tokens)) => {
                                base.cloud_tokens = Some(tokens);
                                decision.reasons.push(route::Reason::new(
                                    ReasonCode::EscalatedAfterQualityGate,
                                    "the note went to the cloud after the local summary failed the quality gate",
                                ));
                                decision.route = Route::Cloud;
                                decision.interim = None;
                                base.engine = Some("cloud".into());
                                *output = o;
                                producer = Producer::Cloud;
                                fresh = true;
                            }
                            Err(fieldbrief_cloud::CloudError::Cancelled) => {
                                let (timings, t, started) = clock;
                                return Err(self.cancelled(base, timings, t, started));
                            }
                            Err(e) => {
                                base.error_code = Some(e.code().into());
                                decision.reasons.push(route::Reason::new(
                                    ReasonCode::CloudFailed,
                                    e.to_string(),
                                ));
                            }
                        },
                        NetState::Offline { error } => {
                            decision.reasons.push(route::Reason::new(
                                ReasonCode::EndpointUnreachable,
                                error.clone(),
                            ));
                            defer(decision);
                        }
                        NetState::NotProbed { .. } => {}
                    }
                }
                AfterGate::RetryLocal => {
                    let retry = SummaryRequest { attempt: Attempt::Retry, ..*request };
                    decision.reasons.push(route::Reason::new(
                        ReasonCode::LocalRetried,
                        "the model was asked once more for a shorter summary, with fewer bullets and greedy decoding",
                    ));
                    producer = Producer::LocalRetry;
                    let Some(engine) = local else { continue };
                    events(EngineEvent::Progress { stage: "retry".into(), done: 0, total: 1 });
                    // The retry's text is not streamed: what was streamed is replaced by the
                    // final summary when the request ends.
                    match engine.summarize(doc, &retry, &mut |e| {
                        if let EngineEvent::Progress { .. } = e {
                            events(e)
                        }
                    }) {
                        Ok(o) => {
                            spent = (spent.0 + output.input_tokens, spent.1 + output.output_tokens);
                            decoding = Decoding::combine(decoding, output.decoding);
                            *output = o;
                            fresh = true;
                        }
                        Err(EngineError::Cancelled) => {
                            let (timings, t, started) = clock;
                            return Err(self.cancelled(base, timings, t, started));
                        }
                        Err(e) => {
                            let rolled_back = self.note_engine_failure(engine.model(), &e)?;
                            decision.reasons.push(route::Reason::new(
                                ReasonCode::LocalEngineFailed,
                                e.to_string(),
                            ));
                            decision.reasons.extend(rolled_back);
                            // The failed retry leaves the first summary's verdict standing: next
                            // is the extractive summary.
                        }
                    }
                }
                AfterGate::Extractive => match Extractive.summarize(doc, request, &mut |_| {}) {
                    Ok(extract) => {
                        decision.reasons.push(route::Reason::new(
                            ReasonCode::ExtractiveAfterQualityGate,
                            "the local model's summaries failed the quality gate; the extractive summary (the note's own sentences) stands in",
                        ));
                        if decision.route == Route::Deferred {
                            decision.interim = Some(Route::Extractive);
                        } else {
                            decision.route = Route::Extractive;
                        }
                        base.engine = Some(Extractive.name().to_string());
                        // The model whose summaries failed stays on the record (the ledger's
                        // fallback rate per model version), and so do the parts it read and the
                        // tokens it spent.
                        let tried = std::mem::replace(output, extract);
                        spent = (spent.0 + tried.input_tokens, spent.1 + tried.output_tokens);
                        decoding = Decoding::combine(decoding, tried.decoding);
                        output.model = tried.model;
                        output.chunks = tried.chunks;
                        output.input_tokens = 0;
                        producer = Producer::Extractive;
                        fresh = true;
                    }
                    // A note without a sentence to select: the flagged summary is all there is.
                    Err(e) => {
                        tracing::warn!(error = %e, "no extractive summary to stand in");
                        break;
                    }
                },
            }
            if fresh {
                verdict = judge(&doc.text, output, request.max_words, producer);
            }
        }
        output.input_tokens += spent.0;
        output.output_tokens += spent.1;
        output.decoding = Decoding::combine(decoding, output.decoding);
        if output.trimmed {
            decision.reasons.push(route::Reason::new(
                ReasonCode::SummaryTrimmed,
                "the model ran out of its token budget; the summary ends at its last complete bullet or sentence",
            ));
        }
        Ok(verdict)
    }
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
