//! The fuel ledger's plain data: one [`Entry`] per request, whatever happened to it, and the
//! [`report`] over entries. The store persists entries; this module decides what they say.
//!
//! Why every request, failures included: local inference moves cost into quality, battery and
//! fallbacks, and a ledger that only counts successes hides exactly that.

use crate::engine::ModelRef;
use crate::quality::Verdict;
use crate::route::{Reason, Route};
use crate::Style;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

/// What the user made of the summary. `Pending` until they react.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pending,
    Accepted,
    Edited,
    Rejected,
    Regenerated,
    Escalated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Accepted => "accepted",
            Outcome::Edited => "edited",
            Outcome::Rejected => "rejected",
            Outcome::Regenerated => "regenerated",
            Outcome::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Pending, Outcome::Accepted, Outcome::Edited, Outcome::Rejected, Outcome::Regenerated, Outcome::Escalated]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudTokens {
    pub input: usize,
    pub output: usize,
}

/// Milliseconds spent in each stage of a request.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    pub ingest: f64,
    /// Saving the note before anything else can fail.
    pub save_note: f64,
    pub route: f64,
    /// The engines, the quality gate, and a cloud escalation after a failed gate.
    pub generate: f64,
    /// The summary/ledger transaction.
    pub store: f64,
    pub total: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub request_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub note_id: Option<i64>,
    /// SHA-256 of the normalised note.
    pub note_hash: Option<String>,
    pub input_bytes: u64,
    pub input_tokens: usize,
    pub output_tokens: usize,
    /// `None` when the request failed before the router ran (e.g. an unreadable file).
    pub route: Option<Route>,
    pub reasons: Vec<Reason>,
    pub engine: Option<String>,
    pub model: Option<ModelRef>,
    pub prompt_version: Option<String>,
    pub style: Style,
    pub max_words: usize,
    pub timings: Timings,
    pub quality: Option<Verdict>,
    pub status: Status,
    /// Stable error code (e.g. `pdf_no_text`) when the request failed.
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub outcome: Outcome,
    /// The power snapshot and mode the request ran under (JSON text: battery, AC, thermal,
    /// load, mode and why).
    pub power: Option<String>,
    pub power_mode: Option<crate::power::Mode>,
    /// What was known of the network (JSON text: `not_probed` with why, `online`, `offline`
    /// with the probe's error).
    pub connectivity: Option<String>,
    /// Tokens the cloud counted, when the cloud was used (also by a failed attempt).
    pub cloud_tokens: Option<CloudTokens>,
    /// Money and energy cost, filled in by the cost model.
    pub cost: Option<f64>,
    pub energy_wh: Option<f64>,
}

impl Entry {
    /// A request that has started and not yet produced anything: status `Failed` until it
    /// succeeds, so a request cut short is never counted as a success.
    pub fn started(request_id: String, created_at: String, style: Style, max_words: usize) -> Entry {
        Entry {
            request_id,
            created_at,
            note_id: None,
            note_hash: None,
            input_bytes: 0,
            input_tokens: 0,
            output_tokens: 0,
            route: None,
            reasons: Vec::new(),
            engine: None,
            model: None,
            prompt_version: None,
            style,
            max_words,
            timings: Timings::default(),
            quality: None,
            status: Status::Failed,
            error_code: None,
            error: None,
            outcome: Outcome::Pending,
            power: None,
            power_mode: None,
            connectivity: None,
            cloud_tokens: None,
            cost: None,
            energy_wh: None,
        }
    }

    /// A request succeeded when it produced a summary that passed the quality gate and the
    /// user did not reject it.
    pub fn succeeded(&self) -> bool {
        self.status == Status::Ok
            && self.quality.as_ref().is_none_or(|q| q.passed)
            && !matches!(self.outcome, Outcome::Rejected | Outcome::Regenerated)
    }
}

/// One line of the report: a route served by one engine/model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub route: String,
    /// `model-id@version`, or the engine name for model-free engines.
    pub model: String,
    pub requests: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub success_rate: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub output_tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub since: Option<String>,
    pub requests: usize,
    pub succeeded: usize,
    pub rows: Vec<ReportRow>,
}

/// Nearest-rank percentile of `values` (need not be sorted); 0 for no values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

pub fn report(entries: &[Entry], since: Option<String>) -> Report {
    let mut groups: BTreeMap<(String, String), Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        let route = e.route.map(|r| r.as_str().to_string()).unwrap_or_else(|| "none".into());
        let model = match (&e.model, &e.engine) {
            (Some(m), _) => format!("{}@{}", m.id, m.version),
            (None, Some(engine)) => engine.clone(),
            (None, None) => "-".into(),
        };
        groups.entry((route, model)).or_default().push(e);
    }
    let rows = groups
        .into_iter()
        .map(|((route, model), es)| {
            let succeeded = es.iter().filter(|e| e.succeeded()).count();
            let latencies: Vec<f64> = es.iter().filter(|e| e.status == Status::Ok).map(|e| e.timings.total).collect();
            ReportRow {
                route,
                model,
                requests: es.len(),
                succeeded,
                failed: es.iter().filter(|e| e.status == Status::Failed).count(),
                success_rate: succeeded as f64 / es.len() as f64,
                latency_p50_ms: percentile(&latencies, 50.0),
                latency_p95_ms: percentile(&latencies, 95.0),
                output_tokens: es.iter().map(|e| e.output_tokens).sum(),
            }
        })
        .collect();
    Report { since, requests: entries.len(), succeeded: entries.iter().filter(|e| e.succeeded()).count(), rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::Verdict;

    fn entry(route: Option<Route>, status: Status, total: f64, passed: bool) -> Entry {
        Entry {
            route,
            engine: route.map(|_| "extractive".to_string()),
            timings: Timings { total, ..Default::default() },
            quality: Some(Verdict { passed, checks: vec![] }),
            status,
            ..Entry::started("r".into(), "2026-11-21T00:00:00Z".into(), Style::Bullets, 100)
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
    }

    #[test]
    fn report_groups_by_route_and_counts_success_failure_and_quality() {
        let ex = Some(Route::Extractive);
        let entries = vec![
            entry(ex, Status::Ok, 10.0, true),
            entry(ex, Status::Ok, 30.0, true),
            entry(ex, Status::Ok, 20.0, false),
            entry(None, Status::Failed, 1.0, false),
        ];
        let r = report(&entries, None);
        assert_eq!((r.requests, r.succeeded), (4, 2));
        let row = r.rows.iter().find(|x| x.route == "extractive").unwrap();
        assert_eq!((row.requests, row.succeeded, row.failed), (3, 2, 0));
        assert!((row.success_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!((row.latency_p50_ms, row.latency_p95_ms), (20.0, 30.0));
        let none = r.rows.iter().find(|x| x.route == "none").unwrap();
        assert_eq!((none.requests, none.failed, none.succeeded), (1, 1, 0));
    }

    #[test]
    fn rejected_summaries_are_not_successes() {
        let mut e = entry(Some(Route::Extractive), Status::Ok, 1.0, true);
        assert!(e.succeeded());
        e.outcome = Outcome::Rejected;
        assert!(!e.succeeded());
        assert_eq!(Outcome::parse("edited"), Some(Outcome::Edited));
        assert_eq!(Outcome::parse("nope"), None);
    }
}
