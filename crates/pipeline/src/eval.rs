//! The evaluation harness: every case of a set through every route asked for (extractive,
//! local, cloud), scored against its reference (see `fieldbrief_core::eval`). It measures the
//! engines themselves: nothing is saved to history, the cache or the ledger, and the cloud is
//! used only when the settings allow it, exactly as for a real note.

use crate::request::{Course, Request};
use crate::{Error, Fieldbrief, NetState, Result, gate};
use fieldbrief_core::cost::{self, Usage};
use fieldbrief_core::engine::{Engine, EngineOutput, SummaryRequest};
use fieldbrief_core::eval::{self, Case, EvalReport, Run};
use fieldbrief_core::route::CloudGate;
use fieldbrief_core::route::{Decision, ReasonCode, Route};
use fieldbrief_engine::local::LocalEngine;
use fieldbrief_extractive::Extractive;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The routes the harness knows.
pub const EVAL_ROUTES: [&str; 3] = ["extractive", "local", "cloud"];

/// The routes an evaluation can run here, and why the others cannot.
struct EvalRoutes {
    runnable: Vec<&'static str>,
    /// Route → why it cannot run here.
    skipped: BTreeMap<String, String>,
    /// The local engine, when the local route is one of those that run.
    local: Option<Arc<LocalEngine>>,
}

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
        let mut output = engine.summarize(doc, request, &mut |_| {}).map_err(|e| e.to_string())?;
        let mut course = Course {
            decision: Decision { route: Route::Local, reasons: Vec::new(), interim: None },
            net: NetState::NotProbed { why: "evaluation on the device".into() },
            gate: CloudGate::Disabled,
            cloud_tried: false,
        };
        let mut events = |_| {};
        let mut req = Request::new(request.style, Some(request.max_words), &mut events);
        req.summary = *request;
        req.entry.engine = Some("local".into());
        self.gate_and_reroute(doc, &mut output, Some(engine), &mut course, &mut req)
            .map_err(|e| e.to_string())?;
        let decision = course.decision;
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
        self.local.cancel().store(false, Ordering::SeqCst);
        let EvalRoutes { runnable, skipped, local } = self.eval_routes(routes, model)?;
        let total = cases.len() * runnable.len();
        let mut runs = Vec::with_capacity(total);
        for case in cases {
            let doc = fieldbrief_ingest::from_typed(&case.note)
                .map_err(|e| Error::BadArgument(format!("case {:?}: {e}", case.id)))?;
            for &route in &runnable {
                if self.local.cancel().load(Ordering::SeqCst) {
                    return Err(Error::Cancelled);
                }
                runs.push(self.eval_case(case, &doc, route, local.as_deref()));
                progress(runs.len(), total);
            }
        }
        Ok(eval::summarize_runs(set_name, cases.len(), runs, skipped))
    }

    /// The routes of `routes` that can run here (with the local engine when `local` is one of
    /// them), and why the others cannot.
    fn eval_routes(&mut self, routes: &[String], model: Option<&str>) -> Result<EvalRoutes> {
        let profile = self.power_state()?.profile();
        let mut skipped = BTreeMap::new();
        let mut runnable = Vec::new();
        let mut local = None;
        for route in routes {
            let why_not = match route.as_str() {
                "extractive" => None,
                "local" => match self.local_engine(model, &profile, &mut Vec::new())? {
                    Some((engine, _)) => {
                        local = Some(engine);
                        None
                    }
                    None => {
                        Some("no local model: import one (models import) or pass --model".into())
                    }
                },
                _ => match self.static_gate(false, false) {
                    CloudGate::Available => match self.probe() {
                        NetState::Offline { error } => {
                            Some(format!("the endpoint is unreachable: {error}"))
                        }
                        _ => None,
                    },
                    gate => Some(gate.describe().to_string()),
                },
            };
            match (why_not, EVAL_ROUTES.iter().find(|r| **r == route.as_str())) {
                (Some(why), _) => {
                    skipped.insert(route.clone(), why);
                }
                (None, Some(known)) => runnable.push(*known),
                (None, None) => {}
            }
        }
        Ok(EvalRoutes { runnable, skipped, local })
    }

    /// One case through one route, timed, scored and judged as `summarize` would judge it.
    fn eval_case(
        &mut self,
        case: &Case,
        doc: &fieldbrief_core::Document,
        route: &str,
        local: Option<&LocalEngine>,
    ) -> Run {
        let request = SummaryRequest::new(case.style, Some(case.target_words()));
        let t = Instant::now();
        type Made = (EngineOutput, Option<(usize, usize)>, Option<String>);
        let result: std::result::Result<Made, String> = match (route, local) {
            ("extractive", _) => Extractive
                .summarize(doc, &request, &mut |_| {})
                .map(|o| (o, None, None))
                .map_err(|e| e.to_string()),
            ("local", Some(engine)) => {
                self.on_device(doc, &request, engine).map(|(o, by)| (o, None, Some(by)))
            }
            ("local", None) => Err("no local model".into()),
            _ => self
                .run_cloud(None, doc, &request, &mut |_| {})
                .map(|(o, t)| (o, Some((t.input, t.output)), None))
                .map_err(|e| e.to_string()),
        };
        let latency_ms = t.elapsed().as_secs_f64() * 1000.0;
        let (cloud_in, cloud_out) = result.as_ref().ok().and_then(|(_, t, _)| *t).unwrap_or((0, 0));
        let usage = Usage {
            cloud_input_tokens: cloud_in,
            cloud_output_tokens: cloud_out,
            busy_secs: latency_ms / 1000.0,
            battery_watts: None,
        };
        let mut run = Run {
            case: case.id.clone(),
            route: route.to_string(),
            score: None,
            error: None,
            latency_ms,
            cost: cost::cost(&usage, &self.settings.cost).money,
            quality_passed: None,
            served_by: None,
            target_words: request.max_words,
            summary: None,
        };
        match result {
            Ok((output, _, served_by)) => {
                let engine = match served_by.as_deref() {
                    Some("extractive") => "extractive",
                    _ => route,
                };
                let producer = gate::producer_of(Some(engine), &output);
                let verdict = gate::judge(&doc.text, &output, &request, producer);
                run.quality_passed = Some(verdict.passed);
                run.score = Some(eval::score(&output.text, case));
                run.served_by = served_by;
                run.summary = Some(output.text);
            }
            Err(error) => run.error = Some(error),
        }
        run
    }
}
