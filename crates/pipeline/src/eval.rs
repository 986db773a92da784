//! The evaluation harness: every case of a set through every route asked for (extractive,
//! local, cloud), scored against its reference (see `fieldbrief_core::eval`). It measures the
//! engines themselves: nothing is saved to history, the cache or the ledger, and the cloud is
//! used only when the settings allow it, exactly as for a real note.

use crate::{Error, Fieldbrief, NetState, Result, gate};
use fieldbrief_core::cost::{self, Usage};
use fieldbrief_core::engine::{Engine, EngineOutput, SummaryRequest};
use fieldbrief_core::eval::{self, Case, EvalReport, Run};
use fieldbrief_core::ledger::Entry;
use fieldbrief_core::route::CloudGate;
use fieldbrief_core::route::{Decision, ReasonCode, Route};
use fieldbrief_engine::local::LocalEngine;
use fieldbrief_extractive::Extractive;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The routes the harness knows.
pub const EVAL_ROUTES: [&str; 3] = ["extractive", "local", "cloud"];

impl Fieldbrief {
    /// A local summary as `summarize` makes it on the device: the model, then the quality gate
    /// and what follows a failure (a retry, then the extractive summary). Returns the summary
    /// and what served it (`local`, `local-retry` or `extractive`).
    fn on_device(
        &mut self,
        doc: &fieldbrief_core::Document,
        request: &SummaryRequest,
        engine: &LocalEngine,
    ) -> std::result::Result<(EngineOutput, String), String> {
        let started = Instant::now();
        let mut output = engine.summarize(doc, request, &mut |_| {}).map_err(|e| e.to_string())?;
        let mut decision = Decision { route: Route::Local, reasons: Vec::new(), interim: None };
        let mut base =
            Entry::started(String::new(), String::new(), request.style, request.max_words);
        base.engine = Some("local".into());
        let mut net = NetState::NotProbed { why: "evaluation on the device".into() };
        self.gate_and_reroute(
            doc,
            request,
            Some(engine),
            &mut output,
            &mut decision,
            &mut base,
            &mut net,
            CloudGate::Disabled,
            &mut |_| {},
            (Default::default(), started, started),
        )
        .map_err(|e| e.to_string())?;
        let served_by = match decision.route {
            Route::Extractive => "extractive",
            _ if decision.has(ReasonCode::LocalRetried) => "local-retry",
            _ => "local",
        };
        Ok((output, served_by.to_string()))
    }

    /// Runs `cases` through each of `routes`; `progress(done, total)` after each summary.
    pub fn eval(
        &mut self,
        set_name: &str,
        cases: &[Case],
        routes: &[String],
        model: Option<&str>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<EvalReport> {
        for r in routes {
            if !EVAL_ROUTES.contains(&r.as_str()) {
                return Err(Error::BadArgument(format!(
                    "unknown route {r:?} (choose from {})",
                    EVAL_ROUTES.join(", ")
                )));
            }
        }
        self.cancel.store(false, Ordering::SeqCst);
        let profile = self.power_state()?.profile();
        let mut skipped = BTreeMap::new();
        let mut runnable: Vec<&str> = Vec::new();
        let mut local = None;
        for route in routes {
            match route.as_str() {
                "extractive" => runnable.push("extractive"),
                "local" => match self.local_engine(model, &profile, &mut Vec::new())? {
                    Some((engine, _)) => {
                        local = Some(engine);
                        runnable.push("local");
                    }
                    None => {
                        skipped.insert(
                            route.clone(),
                            "no local model: import one (models import) or pass --model".into(),
                        );
                    }
                },
                _ => match self.static_gate(false, false) {
                    CloudGate::Available => match self.probe() {
                        NetState::Offline { error } => {
                            skipped.insert(
                                route.clone(),
                                format!("the endpoint is unreachable: {error}"),
                            );
                        }
                        _ => runnable.push("cloud"),
                    },
                    gate => {
                        skipped.insert(route.clone(), gate.describe().to_string());
                    }
                },
            }
        }
        let total = cases.len() * runnable.len();
        let mut runs = Vec::with_capacity(total);
        for case in cases {
            let doc = fieldbrief_ingest::from_typed(&case.note)
                .map_err(|e| Error::BadArgument(format!("case {:?}: {e}", case.id)))?;
            let request = SummaryRequest::new(case.style, Some(case.target_words()));
            for &route in &runnable {
                if self.cancel.load(Ordering::SeqCst) {
                    return Err(Error::Cancelled);
                }
                let t = Instant::now();
                let result: std::result::Result<
                    (EngineOutput, Option<(usize, usize)>, Option<String>),
                    String,
                > = match route {
                    "extractive" => Extractive
                        .summarize(&doc, &request, &mut |_| {})
                        .map(|o| (o, None, None))
                        .map_err(|e| e.to_string()),
                    "local" => match &local {
                        Some(engine) => self
                            .on_device(&doc, &request, engine)
                            .map(|(o, by)| (o, None, Some(by))),
                        None => Err("no local model".into()),
                    },
                    _ => self
                        .run_cloud(&doc, &request, &mut |_| {})
                        .map(|(o, t)| (o, Some((t.input, t.output)), None))
                        .map_err(|e| e.to_string()),
                };
                let latency_ms = t.elapsed().as_secs_f64() * 1000.0;
                let (cloud_in, cloud_out) =
                    result.as_ref().ok().and_then(|(_, t, _)| *t).unwrap_or((0, 0));
                let usage = Usage {
                    cloud_input_tokens: cloud_in,
                    cloud_output_tokens: cloud_out,
                    busy_secs: latency_ms / 1000.0,
                    battery_watts: None,
                };
                let cost = cost::cost(&usage, &self.settings.cost).money;
                let target_words = request.max_words;
                runs.push(match result {
                    Ok((output, _, served_by)) => {
                        let producer = gate::producer_of(
                            Some(
                                if route == "local" && served_by.as_deref() == Some("extractive") {
                                    "extractive"
                                } else {
                                    route
                                },
                            ),
                            &output,
                        );
                        Run {
                            case: case.id.clone(),
                            route: route.to_string(),
                            quality_passed: Some(
                                gate::judge(&doc.text, &output, request.max_words, producer).passed,
                            ),
                            score: Some(eval::score(&output.text, case)),
                            error: None,
                            latency_ms,
                            cost,
                            served_by,
                            target_words,
                            summary: Some(output.text),
                        }
                    }
                    Err(error) => Run {
                        case: case.id.clone(),
                        route: route.to_string(),
                        score: None,
                        error: Some(error),
                        latency_ms,
                        cost,
                        quality_passed: None,
                        served_by: None,
                        target_words,
                        summary: None,
                    },
                });
                progress(runs.len(), total);
            }
        }
        Ok(eval::summarize_runs(set_name, cases.len(), runs, skipped))
    }
}
