//! The fuel ledger's plain data: one [`Entry`] per request, whatever happened to it, and the
//! [`report`] over entries. The store persists entries; this module decides what they say.
//!
//! Why every request, failures included: local inference moves cost into quality, battery and
//! fallbacks, and a ledger that only counts successes hides exactly that.

use crate::Style;
use crate::engine::ModelRef;
use crate::quality::Verdict;
use crate::route::{Reason, ReasonCode, Route};
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
        [
            Outcome::Pending,
            Outcome::Accepted,
            Outcome::Edited,
            Outcome::Rejected,
            Outcome::Regenerated,
            Outcome::Escalated,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloudTokens {
    pub input: usize,
    pub output: usize,
}

/// Milliseconds spent in each stage of a request.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// From the local model's first generation start to its first token; 0 without one.
    #[serde(default)]
    pub first_token: f64,
    /// Speculative decoding on the local route: tokens guessed from the note and how many
    /// were right (the accepted-draft rate is their ratio).
    #[serde(default)]
    pub drafted: u32,
    #[serde(default)]
    pub accepted: u32,
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
    /// The length target in words.
    pub max_words: usize,
    /// Where the target came from; `None` in rows from before targets scaled with the note.
    pub length_from: Option<crate::engine::LengthFrom>,
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
    /// The device class the request ran on, for grouping ("gpu, 16 GiB, battery").
    pub device_class: Option<String>,
    /// The device in detail (JSON: compute, RAM, VRAM, on battery).
    pub device: Option<String>,
}

impl Entry {
    /// A request that has started and not yet produced anything: status `Failed` until it
    /// succeeds, so a request cut short is never counted as a success.
    pub fn started(
        request_id: String,
        created_at: String,
        style: Style,
        max_words: usize,
    ) -> Entry {
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
            length_from: None,
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
            device_class: None,
            device: None,
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

/// Reason codes that mean the first choice did not serve the request as planned.
const FALLBACK_CODES: &[ReasonCode] = &[
    ReasonCode::LocalEngineFailed,
    ReasonCode::CloudFailed,
    ReasonCode::QualityGateFailed,
    ReasonCode::EndpointUnreachable,
    ReasonCode::GpuFallback,
];

impl Entry {
    /// Something in the request's chain fell back (engine failure, cloud failure, failed
    /// quality gate, unreachable endpoint, GPU → CPU).
    pub fn fell_back(&self) -> bool {
        self.reasons.iter().any(|r| FALLBACK_CODES.contains(&r.code))
    }

    /// The note went (or was queued) to the cloud instead of being served on this device.
    pub fn went_to_cloud(&self) -> bool {
        matches!(self.route, Some(Route::Cloud | Route::Deferred))
    }

    fn is_local(&self) -> bool {
        matches!(self.route, Some(Route::Local | Route::LocalChunked))
    }

    /// `model-id@version`, or the engine name for model-free engines.
    pub fn model_label(&self) -> String {
        match (&self.model, &self.engine) {
            (Some(m), _) => format!("{}@{}", m.id, m.version),
            (None, Some(engine)) => engine.clone(),
            (None, None) => "-".into(),
        }
    }
}

/// One line of the report: one route, served by one model version, in one power mode, on one
/// device class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReportRow {
    pub route: String,
    /// `model-id@version`, or the engine name for model-free engines.
    pub model: String,
    pub power_mode: String,
    pub device_class: String,
    pub requests: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub success_rate: f64,
    /// Requests whose chain fell back somewhere (see [`Entry::fell_back`]).
    pub fallback_rate: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub output_tokens: usize,
    pub cost: f64,
    pub energy_wh: f64,
    /// Everything the group spent over the summaries that succeeded; `None` when none did.
    pub cost_per_success: Option<f64>,
}

/// The hybrid route trial: per device class and power mode, how the local model did and how
/// often the cloud had to take over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrialRow {
    pub device_class: String,
    pub power_mode: String,
    /// The local model versions seen in the group.
    pub local_models: Vec<String>,
    pub requests: usize,
    pub local_requests: usize,
    pub local_success_rate: Option<f64>,
    pub local_latency_p50_ms: f64,
    pub local_latency_p95_ms: f64,
    /// Requests that went (or were queued) to the cloud.
    pub cloud_fallback_rate: f64,
    pub cost_per_success: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LedgerReport"))]
pub struct Report {
    pub since: Option<String>,
    pub requests: usize,
    pub succeeded: usize,
    pub cache_hits: usize,
    /// Cache hits over the requests that were routed.
    pub cache_hit_rate: f64,
    pub cost: f64,
    pub energy_wh: f64,
    pub cost_per_success: Option<f64>,
    pub rows: Vec<ReportRow>,
    pub trial: Vec<TrialRow>,
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

fn per_success(cost: f64, succeeded: usize) -> Option<f64> {
    (succeeded > 0).then(|| cost / succeeded as f64)
}

fn ok_latencies<'a>(es: impl Iterator<Item = &'a &'a Entry>) -> Vec<f64> {
    es.filter(|e| e.status == Status::Ok).map(|e| e.timings.total).collect()
}

fn power_mode_label(e: &Entry) -> String {
    e.power_mode.map(|m| m.as_str().to_string()).unwrap_or_else(|| "-".into())
}

fn device_class_label(e: &Entry) -> String {
    e.device_class.clone().unwrap_or_else(|| "-".into())
}

fn sum(es: &[&Entry], f: fn(&Entry) -> Option<f64>) -> f64 {
    es.iter().filter_map(|e| f(e)).sum()
}

/// The entries of each report row: route × model × power mode × device class.
fn row_groups(entries: &[Entry]) -> BTreeMap<(String, String, String, String), Vec<&Entry>> {
    let mut groups: BTreeMap<_, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        let route = e.route.map(|r| r.as_str().to_string()).unwrap_or_else(|| "none".into());
        groups
            .entry((route, e.model_label(), power_mode_label(e), device_class_label(e)))
            .or_default()
            .push(e);
    }
    groups
}

fn report_row(
    (route, model, power_mode, device_class): (String, String, String, String),
    es: &[&Entry],
) -> ReportRow {
    let succeeded = es.iter().filter(|e| e.succeeded()).count();
    let latencies = ok_latencies(es.iter());
    let cost = sum(es, |e| e.cost);
    ReportRow {
        route,
        model,
        power_mode,
        device_class,
        requests: es.len(),
        succeeded,
        failed: es.iter().filter(|e| e.status == Status::Failed).count(),
        success_rate: succeeded as f64 / es.len() as f64,
        fallback_rate: es.iter().filter(|e| e.fell_back()).count() as f64 / es.len() as f64,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        output_tokens: es.iter().map(|e| e.output_tokens).sum(),
        cost,
        energy_wh: sum(es, |e| e.energy_wh),
        cost_per_success: per_success(cost, succeeded),
    }
}

pub fn report(entries: &[Entry], since: Option<String>) -> Report {
    let rows = row_groups(entries).into_iter().map(|(key, es)| report_row(key, &es)).collect();
    let mut trial: BTreeMap<(String, String), Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        trial.entry((device_class_label(e), power_mode_label(e))).or_default().push(e);
    }
    let trial = trial
        .into_iter()
        .map(|((device_class, power_mode), es)| {
            let local: Vec<&Entry> = es.iter().copied().filter(|e| e.is_local()).collect();
            let latencies = ok_latencies(local.iter());
            let mut local_models: Vec<String> = local.iter().map(|e| e.model_label()).collect();
            local_models.sort();
            local_models.dedup();
            TrialRow {
                device_class,
                power_mode,
                local_models,
                requests: es.len(),
                local_requests: local.len(),
                local_success_rate: (!local.is_empty()).then(|| {
                    local.iter().filter(|e| e.succeeded()).count() as f64 / local.len() as f64
                }),
                local_latency_p50_ms: percentile(&latencies, 50.0),
                local_latency_p95_ms: percentile(&latencies, 95.0),
                cloud_fallback_rate: es.iter().filter(|e| e.went_to_cloud()).count() as f64
                    / es.len() as f64,
                cost_per_success: per_success(
                    sum(&es, |e| e.cost),
                    es.iter().filter(|e| e.succeeded()).count(),
                ),
            }
        })
        .collect();
    let all: Vec<&Entry> = entries.iter().collect();
    let succeeded = entries.iter().filter(|e| e.succeeded()).count();
    let routed = entries.iter().filter(|e| e.route.is_some()).count();
    let cache_hits = entries.iter().filter(|e| e.route == Some(Route::Cache)).count();
    let cost = sum(&all, |e| e.cost);
    Report {
        since,
        requests: entries.len(),
        succeeded,
        cache_hits,
        cache_hit_rate: if routed == 0 { 0.0 } else { cache_hits as f64 / routed as f64 },
        cost,
        energy_wh: sum(&all, |e| e.energy_wh),
        cost_per_success: per_success(cost, succeeded),
        rows,
        trial,
    }
}

/// One day of the ledger, for the dashboard's charts over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LedgerDay"))]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub requests: usize,
    pub succeeded: usize,
    /// Requests per route (`none` for those refused before routing).
    pub routes: BTreeMap<String, usize>,
    pub cache_hits: usize,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub cost: f64,
}

/// The ledger day by day, oldest first.
pub fn daily(entries: &[Entry]) -> Vec<Day> {
    let mut days: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        days.entry(e.created_at.get(..10).unwrap_or(&e.created_at)).or_default().push(e);
    }
    days.into_iter()
        .map(|(day, es)| {
            let mut routes = BTreeMap::new();
            for e in &es {
                *routes
                    .entry(e.route.map(|r| r.as_str().to_string()).unwrap_or_else(|| "none".into()))
                    .or_default() += 1;
            }
            let latencies = ok_latencies(es.iter());
            Day {
                day: day.to_string(),
                requests: es.len(),
                succeeded: es.iter().filter(|e| e.succeeded()).count(),
                cache_hits: es.iter().filter(|e| e.route == Some(Route::Cache)).count(),
                routes,
                latency_p50_ms: percentile(&latencies, 50.0),
                latency_p95_ms: percentile(&latencies, 95.0),
                cost: es.iter().filter_map(|e| e.cost).sum(),
            }
        })
        .collect()
}

/// Fleet telemetry: counts and sums only — no note text, no note or content hashes, no
/// request ids, no error messages (which can quote a file name). Safe to send to an
/// organisation's dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateExport {
    pub since: Option<String>,
    pub requests: usize,
    pub succeeded: usize,
    pub cache_hits: usize,
    pub cost: f64,
    pub energy_wh: f64,
    pub rows: Vec<AggregateRow>,
    /// The models installed and their rollout state (filled in by the app, which knows them).
    #[serde(default)]
    pub models: Vec<FleetModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateRow {
    /// The report's row (route, model, power mode, device class, counts, rates, latency, cost).
    #[serde(flatten)]
    pub row: ReportRow,
    pub fell_back: usize,
    pub input_tokens: usize,
    pub cloud_input_tokens: usize,
    pub cloud_output_tokens: usize,
    /// Requests per stable error code (codes only, never messages).
    pub error_codes: BTreeMap<String, usize>,
    /// Requests per outcome the user gave.
    pub outcomes: BTreeMap<String, usize>,
}

pub fn aggregate(entries: &[Entry], since: Option<String>) -> AggregateExport {
    let rows: Vec<AggregateRow> = row_groups(entries)
        .into_iter()
        .map(|(key, es)| {
            let mut error_codes = BTreeMap::new();
            let mut outcomes = BTreeMap::new();
            for e in &es {
                if let Some(code) = &e.error_code {
                    *error_codes.entry(code.clone()).or_default() += 1;
                }
                *outcomes.entry(e.outcome.as_str().to_string()).or_default() += 1;
            }
            AggregateRow {
                fell_back: es.iter().filter(|e| e.fell_back()).count(),
                input_tokens: es.iter().map(|e| e.input_tokens).sum(),
                cloud_input_tokens: es.iter().filter_map(|e| e.cloud_tokens).map(|t| t.input).sum(),
                cloud_output_tokens: es
                    .iter()
                    .filter_map(|e| e.cloud_tokens)
                    .map(|t| t.output)
                    .sum(),
                error_codes,
                outcomes,
                row: report_row(key, &es),
            }
        })
        .collect();
    AggregateExport {
        since,
        requests: entries.len(),
        succeeded: entries.iter().filter(|e| e.succeeded()).count(),
        cache_hits: entries.iter().filter(|e| e.route == Some(Route::Cache)).count(),
        cost: rows.iter().map(|r| r.row.cost).sum(),
        energy_wh: rows.iter().map(|r| r.row.energy_wh).sum(),
        rows,
        models: Vec::new(),
    }
}

/// How a model version served its summaries: the window a new version's probation compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Health {
    pub requests: usize,
    /// Passed the quality gate and not rejected or summarized again by the technician.
    pub succeeded: usize,
    /// The local summary did not serve as planned (engine failure, failed gate, a stand-in).
    pub fell_back: usize,
}

impl Health {
    fn rate(n: usize, of: usize) -> f64 {
        if of == 0 { 0.0 } else { n as f64 / of as f64 }
    }
}

/// The first `n` requests summarized by `id@version` on this laptop (the cache aside), in
/// ledger order, or its last `n` with `last`.
pub fn health(entries: &[Entry], id: &str, version: &str, n: usize, last: bool) -> Health {
    let mine = entries.iter().filter(|e| {
        e.route != Some(Route::Cache)
            && e.model.as_ref().is_some_and(|m| m.id == id && m.version == version)
    });
    let window: Vec<&Entry> = if last {
        let all: Vec<&Entry> = mine.collect();
        all[all.len().saturating_sub(n)..].to_vec()
    } else {
        mine.take(n).collect()
    };
    Health {
        requests: window.len(),
        succeeded: window.iter().filter(|e| e.succeeded()).count(),
        fell_back: window.iter().filter(|e| e.fell_back()).count(),
    }
}

/// Whether `new` is clearly worse than `old`: its success rate lower, or its fallback rate
/// higher, by at least 10 points and by more than chance explains (a two-proportion z-test at
/// 95 %). The words say which and by how much.
pub fn regression(old: &Health, new: &Health) -> Option<String> {
    if old.requests == 0 || new.requests == 0 {
        return None;
    }
    let worse = |a: usize, b: usize, higher_is_worse: bool| -> Option<(f64, f64)> {
        let (p_old, p_new) = (Health::rate(a, old.requests), Health::rate(b, new.requests));
        let gap = if higher_is_worse { p_new - p_old } else { p_old - p_new };
        let pooled = (a + b) as f64 / (old.requests + new.requests) as f64;
        let se =
            (pooled * (1.0 - pooled) * (1.0 / old.requests as f64 + 1.0 / new.requests as f64))
                .sqrt();
        (gap >= 0.10 && se > 0.0 && gap / se >= 1.96).then_some((p_old, p_new))
    };
    let pct = |p: f64| format!("{:.0} %", p * 100.0);
    if let Some((o, n)) = worse(old.succeeded, new.succeeded, false) {
        return Some(format!(
            "its summaries passed {} of the time over its first {} requests, against {} for the previous version over its last {}",
            pct(n),
            new.requests,
            pct(o),
            old.requests
        ));
    }
    worse(old.fell_back, new.fell_back, true).map(|(o, n)| {
        format!(
            "it fell back {} of the time over its first {} requests, against {} for the previous version over its last {}",
            pct(n),
            new.requests,
            pct(o),
            old.requests
        )
    })
}

/// A model installed on this laptop, in the fleet aggregate: which version, and where it
/// stands in its rollout. No note text, nothing that identifies the laptop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetModel {
    pub id: String,
    pub version: String,
    /// e.g. "staged: 5 %, this laptop is in it", "probation: 7 of 20 summaries",
    /// "rolled back: model_regressed".
    pub rollout: String,
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

    /// A local request on `qwen@version` that passed the gate or fell back to extractive.
    fn on(version: &str, passed: bool) -> Entry {
        let mut e = entry(Some(Route::Local), Status::Ok, 10.0, passed);
        e.model = Some(ModelRef { id: "qwen".into(), version: version.into() });
        if !passed {
            e.reasons.push(Reason::new(ReasonCode::QualityGateFailed, "facts"));
        }
        e
    }

    #[test]
    fn a_version_clearly_worse_than_the_one_before_is_a_regression_and_chance_is_not() {
        // The previous version: 18 of its last 20 passed. The new one: 9 of its first 20.
        let mut entries: Vec<Entry> = (0..30).map(|i| on("1", i % 10 != 0)).collect();
        entries.extend((0..20).map(|i| on("2", i % 2 == 0)));
        entries.extend((0..5).map(|_| on("2", true)));
        let old = health(&entries, "qwen", "1", 20, true);
        let new = health(&entries, "qwen", "2", 20, false);
        assert_eq!((old.requests, old.succeeded), (20, 18));
        assert_eq!((new.requests, new.succeeded, new.fell_back), (20, 10, 10));
        let why = regression(&old, &new).expect("clearly worse");
        assert!(why.contains("50 %") && why.contains("90 %"), "{why}");
        // One failure more than before is chance, not a regression.
        let close = Health { requests: 20, succeeded: 17, fell_back: 3 };
        assert_eq!(regression(&old, &close), None);
        // Better is never a regression; nothing to compare with says nothing.
        assert_eq!(regression(&new, &old), None);
        assert_eq!(regression(&Health::default(), &new), None);
        // Other models and the cache do not count.
        let mut cached = on("2", false);
        cached.route = Some(Route::Cache);
        entries.push(cached);
        assert_eq!(health(&entries, "qwen", "2", 100, false).requests, 25);
        assert_eq!(health(&entries, "other", "2", 100, false).requests, 0);
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
    /// A ledger small enough to compute by hand, with every number the report derives from it.
    #[test]
    fn the_report_matches_a_hand_computed_ledger() {
        use crate::power::Mode;
        let row = |route: Route,
                   model: Option<&str>,
                   mode: Mode,
                   class: &str,
                   total: f64,
                   cost: f64,
                   ok: bool,
                   fell_back: bool| Entry {
            route: Some(route),
            engine: Some(if model.is_some() {
                "llama.cpp".to_string()
            } else {
                route.as_str().to_string()
            }),
            model: model.map(|m| crate::engine::ModelRef { id: m.into(), version: "v1".into() }),
            power_mode: Some(mode),
            device_class: Some(class.into()),
            timings: Timings { total, ..Default::default() },
            quality: Some(Verdict { passed: ok, checks: vec![] }),
            status: Status::Ok,
            cost: Some(cost),
            energy_wh: Some(cost * 10.0),
            reasons: if fell_back {
                vec![Reason::new(ReasonCode::CloudFailed, "500")]
            } else {
                vec![]
            },
            ..Entry::started("r".into(), "2026-11-21T00:00:00Z".into(), Style::Bullets, 100)
        };
        let (gpu, cpu) = ("gpu, 16 GiB, on AC", "cpu, 8 GiB, battery");
        let entries = vec![
            // GPU, performance: three local summaries (one failed the gate), one cloud.
            row(Route::Local, Some("qwen"), Mode::Performance, gpu, 100.0, 0.001, true, false),
            row(Route::Local, Some("qwen"), Mode::Performance, gpu, 300.0, 0.003, true, false),
            row(Route::Local, Some("qwen"), Mode::Performance, gpu, 200.0, 0.002, false, false),
            row(Route::Cloud, Some("gpt"), Mode::Performance, gpu, 900.0, 0.010, true, false),
            // CPU, saver: one extractive after a cloud failure, one cache hit.
            row(Route::Extractive, None, Mode::Saver, cpu, 40.0, 0.0005, true, true),
            row(Route::Cache, Some("qwen"), Mode::Saver, cpu, 5.0, 0.0, true, false),
        ];
        let r = report(&entries, None);
        assert_eq!((r.requests, r.succeeded, r.cache_hits), (6, 5, 1));
        assert!((r.cache_hit_rate - 1.0 / 6.0).abs() < 1e-12);
        let total = 0.001 + 0.003 + 0.002 + 0.010 + 0.0005;
        assert!((r.cost - total).abs() < 1e-12);
        assert!((r.cost_per_success.unwrap() - total / 5.0).abs() < 1e-12);

        let local = r.rows.iter().find(|x| x.route == "local").unwrap();
        assert_eq!(
            (local.model.as_str(), local.power_mode.as_str(), local.device_class.as_str()),
            ("qwen@v1", "performance", gpu)
        );
        assert_eq!((local.requests, local.succeeded), (3, 2));
        assert_eq!((local.latency_p50_ms, local.latency_p95_ms), (200.0, 300.0));
        assert!(
            (local.cost_per_success.unwrap() - 0.006 / 2.0).abs() < 1e-12,
            "the failed summary's cost counts too"
        );
        assert!((local.energy_wh - 0.06).abs() < 1e-9);
        let ex = r.rows.iter().find(|x| x.route == "extractive").unwrap();
        assert_eq!(ex.fallback_rate, 1.0);

        let g = r.trial.iter().find(|t| t.device_class == gpu).unwrap();
        assert_eq!((g.requests, g.local_requests), (4, 3));
        assert_eq!(g.local_models, ["qwen@v1"]);
        assert!((g.local_success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((g.local_latency_p50_ms, g.local_latency_p95_ms), (200.0, 300.0));
        assert!((g.cloud_fallback_rate - 0.25).abs() < 1e-12);
        assert!((g.cost_per_success.unwrap() - 0.016 / 3.0).abs() < 1e-12);
        let c = r.trial.iter().find(|t| t.device_class == cpu).unwrap();
        assert_eq!(
            (c.power_mode.as_str(), c.local_requests, c.local_success_rate),
            ("saver", 0, None)
        );
        assert_eq!(c.cloud_fallback_rate, 0.0);

        let agg = aggregate(&entries, None);
        assert_eq!(agg.rows.iter().map(|x| x.row.requests).sum::<usize>(), 6);
        let agg_ex = agg.rows.iter().find(|x| x.row.route == "extractive").unwrap();
        assert_eq!(agg_ex.fell_back, 1);
        assert_eq!(agg_ex.outcomes.get("pending"), Some(&1));
    }

    #[test]
    fn days_group_by_utc_date_with_their_route_mix() {
        let at = |t: &str, route: Route, total: f64| Entry {
            route: Some(route),
            status: Status::Ok,
            timings: Timings { total, ..Default::default() },
            ..Entry::started("r".into(), t.into(), Style::Bullets, 100)
        };
        let days = daily(&[
            at("2026-11-20T23:59:59.000000Z", Route::Local, 100.0),
            at("2026-11-21T00:00:01.000000Z", Route::Cache, 5.0),
            at("2026-11-21T08:00:00.000000Z", Route::Local, 300.0),
            Entry {
                route: None,
                ..Entry::started(
                    "r".into(),
                    "2026-11-21T09:00:00.000000Z".into(),
                    Style::Bullets,
                    100,
                )
            },
        ]);
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].day.as_str(), days[0].requests), ("2026-11-20", 1));
        let d = &days[1];
        assert_eq!((d.requests, d.succeeded, d.cache_hits), (3, 2, 1));
        assert_eq!(d.routes.get("local"), Some(&1));
        assert_eq!(d.routes.get("none"), Some(&1));
        assert_eq!((d.latency_p50_ms, d.latency_p95_ms), (5.0, 300.0));
    }
}
