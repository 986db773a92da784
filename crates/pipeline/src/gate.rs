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
use fieldbrief_core::engine::{
    Attempt, Decoding, Engine, EngineError, EngineEvent, EngineOutput, SummaryRequest,
};
use fieldbrief_core::quality::{self, Verdict};
use fieldbrief_core::route::{self, AfterGate, CloudGate, CloudNow, Producer, ReasonCode, Route};
use fieldbrief_core::{Document, Style};
use fieldbrief_engine::local::LocalEngine;
use fieldbrief_extractive::Extractive;

/// The verdict on `output` from `producer`: model output is also checked for the note's
/// salient codes and part numbers, for half the figures the extract would carry, for figures
/// moved from one asset to its sibling (`quality::bindings_kept`), for work the note leaves to
/// do said done (`quality::to_do_kept`), and for copying — a summary
/// the model wrote whole on whether it is mostly long runs of the note (and whether two of its
/// lines say the same thing, `quality::not_restated`), one outlined from the
/// note's lines on whether the model rewrote at least half of them shorter (the lines it could
/// not are the note's own words by design, as in an extractive summary).
pub(crate) fn judge(
    note: &str,
    output: &EngineOutput,
    request: &SummaryRequest,
    producer: Producer,
) -> Verdict {
    let max_words = request.max_words;
    let mut verdict = match producer {
        Producer::Extractive => quality::assess(note, &output.text, max_words),
        Producer::Local | Producer::LocalInParts | Producer::LocalRetry | Producer::Cloud => {
            let mut v = match output.lines {
                Some(_) => quality::assess(note, &output.text, max_words),
                None => quality::assess_generated(note, &output.text, max_words),
            };
            let first = SummaryRequest { attempt: Attempt::First, ..*request };
            let salient = fieldbrief_extractive::salient_facts(note, &first);
            v.checks.push(quality::salient_facts_kept(&output.text, &salient.codes));
            v.checks.push(quality::figures_kept(&output.text, &salient.figures));
            v.checks.push(quality::bindings_kept(note, &output.text));
            v.checks.push(quality::to_do_kept(note, &output.text));
            v
        }
    };
    if let Some(lines) = output.lines {
        verdict.checks.push(quality::lines_written(lines));
    }
    if request.style == Style::Handover {
        verdict.checks.push(quality::handover_sections(&output.text));
    }
    verdict.passed = verdict.checks.iter().all(|c| c.passed);
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
        let verdict = judge(&doc.text, output, &req.summary, producer);
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
                g.verdict = judge(&doc.text, output, &req.summary, g.producer);
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

    /// The local model once more, another way: after a summary written line by line, the
    /// whole note in one prompt, shorter and greedy. (A note read in parts is not retried:
    /// `route::after_quality_gate` sends it to the extractive summary.)
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
            "the model was asked once more, another way: the whole note in one prompt, shorter, with greedy decoding",
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

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbrief_core::Style;
    use fieldbrief_core::engine::Lines;

    const NOTE: &str = "Ship A/E No.2, S/N AE2-6L-20931, watch log 2026-04-02\n\
        0400 alarm AL-36 exhaust gas temperature high on cylinder 4: 468 °C against an average of 385 °C\n\
        Pulled the injector of cylinder 4: nozzle dribbling, opening pressure 285 bar (spec 320 bar)\n\
        Fitted the spare injector P/N INJ-320-AE, tested on the bench at 320 bar, ok\n\
        Lube oil pressure 4.1 bar, jacket water out 82 °C, both normal\n\
        Restarted 0715, cylinder 4 exhaust now 391 °C at 400 kW, all cylinders 378-395 °C\n\
        Sea water pump SWP-2 mechanical seal leaking about 1 L/min, changed over to SWP-1\n\
        Seal kit P/N MS-45-SWP ordered on REQ-2026-118, delivery at the next port, ETA 2026-04-06\n\
        Only 1 spare injector left on board, the old one sent for overhaul";

    fn output(text: &str, lines: Option<Lines>) -> EngineOutput {
        EngineOutput {
            text: text.into(),
            input_tokens: 0,
            output_tokens: 0,
            model: None,
            prompt_version: "test".into(),
            chunks: 1,
            gpu_fallback: None,
            trimmed: false,
            lines,
            decoding: None,
        }
    }

    fn failed(v: &Verdict) -> Vec<&str> {
        v.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn a_model_summary_that_loses_the_codes_and_parts_fails_and_an_extract_is_not_judged_on_them() {
        let request = SummaryRequest::new(Style::Bullets, Some(70));
        let salient = fieldbrief_extractive::salient_facts(NOTE, &request);
        assert!(salient.codes.contains(&"AL-36".to_string()), "{salient:?}");
        assert!(salient.codes.contains(&"P/N INJ-320-AE".to_string()), "{salient:?}");
        let vague = "- Cylinder 4 ran hot on the exhaust: the injector was dribbling and was replaced.\n\
                     - Exhaust temperatures back to normal after the restart.\n\
                     - A sea water pump seal leaks; the standby pump runs and a seal kit is on order.";
        let v = judge(NOTE, &output(vague, None), &request, Producer::Local);
        assert!(failed(&v).contains(&"salient_facts_kept"), "{:?}", v.checks);
        assert!(!v.passed);
        let good = "- AL-36: cylinder 4 exhaust 468 °C (average 385 °C); injector opening at 285 bar (spec 320 bar).\n\
                    - Injector P/N INJ-320-AE fitted; cylinder 4 at 391 °C after the restart.\n\
                    - SWP-2 seal leak: on SWP-1, seal kit P/N MS-45-SWP on REQ-2026-118, ETA 2026-04-06.";
        let v = judge(NOTE, &output(good, None), &request, Producer::Local);
        assert!(v.passed, "{:?}", v.checks);
        // The extractive summary is the selection itself: not held to it.
        let v = judge(NOTE, &output(vague, None), &request, Producer::Extractive);
        assert!(!failed(&v).contains(&"salient_facts_kept"), "{:?}", v.checks);
    }

    #[test]
    fn a_model_summary_that_keeps_the_codes_but_not_the_readings_fails() {
        let request = SummaryRequest::new(Style::Bullets, Some(70));
        let salient = fieldbrief_extractive::salient_facts(NOTE, &request);
        assert!(salient.figures.contains(&"468 °C".to_string()), "{salient:?}");
        let codes_only = "- AL-36 on cylinder 4: injector P/N INJ-320-AE fitted; SWP-2 seal kit \
                          P/N MS-45-SWP on order (REQ-2026-118).";
        let v = judge(NOTE, &output(codes_only, None), &request, Producer::LocalRetry);
        assert_eq!(failed(&v), ["figures_kept"], "{:?}", v.checks);
        // An extract is the selection itself: not held to it.
        let v = judge(NOTE, &output(codes_only, None), &request, Producer::Extractive);
        assert!(!failed(&v).contains(&"figures_kept"), "{:?}", v.checks);
    }

    #[test]
    fn an_outlined_summary_is_judged_on_the_lines_the_model_wrote_not_on_copying() {
        let request = SummaryRequest::new(Style::Bullets, Some(90));
        // Lines the model could not shorten are the note's own words, as in an extract.
        let outlined = "- AL-36: cylinder 4 exhaust 468 °C against an average of 385 °C.\n\
            - Pulled the injector of cylinder 4: nozzle dribbling, opening pressure 285 bar (spec 320 bar)\n\
            - Fitted the spare injector P/N INJ-320-AE, tested on the bench at 320 bar, ok\n\
            - Seal kit P/N MS-45-SWP ordered on REQ-2026-118, delivery at the next port, ETA 2026-04-06";
        let whole = judge(NOTE, &output(outlined, None), &request, Producer::Local);
        assert_eq!(failed(&whole), ["not_copied"]);
        let written = Lines { written: 2, kept: 2 };
        let v = judge(NOTE, &output(outlined, Some(written)), &request, Producer::Local);
        assert!(v.passed, "{:?}", v.checks);
        let copied = Lines { written: 1, kept: 3 };
        let v = judge(NOTE, &output(outlined, Some(copied)), &request, Producer::Local);
        assert_eq!(failed(&v), ["lines_written"]);
    }

    #[test]
    fn a_summary_written_whole_that_says_a_thing_twice_fails_and_an_outlined_one_is_not_held_to_it()
    {
        let request = SummaryRequest::new(Style::Bullets, Some(90));
        let twice = "- AL-36: cylinder 4 exhaust 468 °C against an average of 385 °C.\n\
            - Cylinder 4 injector dribbling, opening 285 bar (spec 320 bar): replaced, P/N INJ-320-AE.\n\
            - Exhaust alarm AL-36: cylinder 4 exhaust 468 °C against an average of 385 °C.\n\
            - SWP-2 seal kit P/N MS-45-SWP on REQ-2026-118, ETA 2026-04-06.";
        let v = judge(NOTE, &output(twice, None), &request, Producer::LocalRetry);
        assert_eq!(failed(&v), ["not_restated"], "{:?}", v.checks);
        // Outlined, each line is another line of the note: two alike say what the note does.
        let written = Lines { written: 3, kept: 1 };
        let v = judge(NOTE, &output(twice, Some(written)), &request, Producer::Local);
        assert!(!failed(&v).contains(&"not_restated"), "{:?}", v.checks);
    }

    #[test]
    fn a_model_summary_that_says_done_what_the_note_leaves_to_do_fails() {
        let note = "Compressor AC-3 tripped on E-005, 112 °C at trip (trip 110 °C)\n\
            Freed louvre actuator linkage, tested open/close\n\
            Need: louvre actuator replacement P/N LA-24-230, to order";
        let request = SummaryRequest::new(Style::Bullets, Some(40));
        let turned = "- AC-3 tripped on E-005 at 112 °C (trip 110 °C).\n\
            - Louvre freed; actuator P/N LA-24-230 ordered.";
        let v = judge(note, &output(turned, None), &request, Producer::LocalRetry);
        assert!(failed(&v).contains(&"to_do_kept"), "{:?}", v.checks);
        let kept = "- AC-3 tripped on E-005 at 112 °C (trip 110 °C).\n\
            - Louvre freed; order actuator P/N LA-24-230.";
        let v = judge(note, &output(kept, None), &request, Producer::LocalRetry);
        assert!(!failed(&v).contains(&"to_do_kept"), "{:?}", v.checks);
    }

    #[test]
    fn a_model_summary_that_moves_a_reading_to_another_cylinder_fails() {
        let request = SummaryRequest::new(Style::Bullets, Some(70));
        let good = "- AL-36: cylinder 4 exhaust 468 °C (average 385 °C); injector opening at 285 bar (spec 320 bar).\n\
                    - Injector P/N INJ-320-AE fitted; cylinder 4 at 391 °C after the restart.\n\
                    - SWP-2 seal leak: on SWP-1, seal kit P/N MS-45-SWP on REQ-2026-118, ETA 2026-04-06.";
        assert!(judge(NOTE, &output(good, None), &request, Producer::Local).passed);
        // Every figure is the note's, every name too; the hot cylinder is not.
        let moved = good.replacen("cylinder 4 exhaust", "cyl 3 exhaust", 1);
        let v = judge(NOTE, &output(&moved, None), &request, Producer::Local);
        assert_eq!(failed(&v), ["bindings_kept"], "{:?}", v.checks);
        assert!(v.checks.iter().any(|c| c.detail.contains("468 °C with cyl 3")), "{:?}", v.checks);
    }

    #[test]
    fn a_handover_cut_before_its_open_section_fails() {
        let request = SummaryRequest::new(Style::Handover, Some(90));
        let whole = "Found:\n\
            - AL-36: cylinder 4 exhaust 468 °C (average 385 °C), injector opening at 285 bar (spec 320 bar)\n\
            Done:\n\
            - Injector P/N INJ-320-AE fitted; cylinder 4 at 391 °C after the restart\n\
            Open:\n\
            - SWP-2 seal kit P/N MS-45-SWP on REQ-2026-118, ETA 2026-04-06";
        let v = judge(NOTE, &output(whole, None), &request, Producer::LocalRetry);
        assert!(v.passed, "{:?}", v.checks);
        // Cut at the token budget after its last whole bullet: the open work is gone.
        let cut = whole.split("\nOpen:").next().unwrap();
        let v = judge(NOTE, &output(cut, None), &request, Producer::LocalRetry);
        assert!(failed(&v).contains(&"handover_sections"), "{:?}", v.checks);
        // Nor may the sections come out of order.
        let shuffled =
            whole.replacen("Found:", "Open:", 1).replacen("\nOpen:\n-", "\nFound:\n-", 1);
        let v = judge(NOTE, &output(&shuffled, None), &request, Producer::Local);
        assert!(failed(&v).contains(&"handover_sections"), "{shuffled}");
        // A list is not held to a handover's sections.
        let request = SummaryRequest::new(Style::Bullets, Some(90));
        let v = judge(NOTE, &output(cut, None), &request, Producer::LocalRetry);
        assert!(!failed(&v).contains(&"handover_sections"), "{:?}", v.checks);
    }
}
