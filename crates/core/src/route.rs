//! The router: which engine serves a note, and why.
//!
//! [`decide`] is a pure function of a [`Snapshot`], so every decision can be reproduced from
//! the snapshot stored with the request and is table-tested below. The reasons are shown to
//! the user ("why did this note go to the cloud?"), so their codes are stable API: add new
//! codes, never rename old ones.
//!
//! Decision table. Terms: *fits* = a local model is present and the note's tokens fit its free
//! context; *parts* = how many context-sized parts the note needs; *limit* = the power mode's
//! `max_local_parts` (performance ∞, balanced 16, saver 4); the *serve-local* route is `local`
//! when it fits, else `local-chunked` when parts ≤ limit, else `extractive`
//! (`power_mode_limits_local`), and `extractive` when there is no model.
//!
//! The note *wants the cloud* when, by preference:
//! - `auto` (default): there is no local model (`no_local_model`), or it does not fit
//!   (`doc_exceeds_local_context`), or it is hard (`doc_complex`);
//! - `local` (local first): only when a local model cannot take it within the power mode's
//!   limit (`doc_exceeds_local_context`);
//! - `cloud` (best quality): always (`prefer_cloud`), unless one of the above applies first.
//!
//! First matching row wins:
//!
//! | cache hit | wants the cloud | cloud gate                  | route        | then now      | reasons |
//! |-----------|-----------------|-----------------------------|--------------|---------------|---------|
//! | yes       | –               | –                           | cache        | –             | `cache_hit` |
//! | no        | no              | –                           | serve-local  | –             | `fits_local_context` / `no_local_model`…, why not cloud |
//! | no        | yes             | available                   | cloud        | –             | why wanted, `cloud_permitted` |
//! | no        | yes             | offline / working offline   | deferred     | serve-local   | why wanted, `offline` / `work_offline`, `deferred_refinement` |
//! | no        | yes             | disabled / denied / no endpoint | serve-local | –            | why wanted, `cloud_disabled` / `cloud_denied_for_note` / `cloud_not_configured` |
//!
//! The pipeline adds reasons the router cannot know in advance (`local_engine_failed`,
//! `quality_gate_failed`, `cloud_failed`…) as the request runs; together they are the
//! request's fallback chain in the ledger.

use crate::power::{self, Mode};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    Cache,
    Local,
    LocalChunked,
    Cloud,
    Extractive,
    Deferred,
}

impl Route {
    pub const ALL: [Route; 6] = [
        Route::Cache,
        Route::Local,
        Route::LocalChunked,
        Route::Cloud,
        Route::Extractive,
        Route::Deferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Cache => "cache",
            Route::Local => "local",
            Route::LocalChunked => "local-chunked",
            Route::Cloud => "cloud",
            Route::Extractive => "extractive",
            Route::Deferred => "deferred",
        }
    }

    pub fn parse(s: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// Stable reason codes. Serialised in snake_case into JSON output and the ledger.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        pub enum ReasonCode {
            $($(#[$doc])* $variant,)*
        }

        impl ReasonCode {
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $code,)*
                }
            }
        }
    };
}

reason_codes! {
    NoLocalModel = "no_local_model",
    FitsLocalContext = "fits_local_context",
    DocExceedsLocalContext = "doc_exceeds_local_context",
    /// The note looks hard for a small model (dense facts, long sentences); see [`complexity`].
    DocComplex = "doc_complex",
    /// The user prefers the best quality: the cloud whenever it is allowed.
    PreferCloud = "prefer_cloud",
    /// The user prefers local summaries; the cloud is only for what local cannot take.
    PreferLocal = "prefer_local",
    CloudPermitted = "cloud_permitted",
    CloudDisabled = "cloud_disabled",
    CloudDeniedForNote = "cloud_denied_for_note",
    CloudNotConfigured = "cloud_not_configured",
    Offline = "offline",
    /// The user switched "work offline" on.
    WorkOffline = "work_offline",
    /// A local summary now, and a cloud refinement queued for when the network returns.
    DeferredRefinement = "deferred_refinement",
    /// The power mode caps how many parts a long note is summarized in locally.
    PowerModeLimitsLocal = "power_mode_limits_local",
    /// An identical request was answered before.
    CacheHit = "cache_hit",
    /// The local engine failed (crashed, ran out of memory…) and the extractive summary stood in.
    LocalEngineFailed = "local_engine_failed",
    /// The local model crashed the engine repeatedly and is not used until replaced.
    ModelQuarantined = "model_quarantined",
    /// A newly activated model version crashed the engine before serving a request; the
    /// previous version was made active again.
    ModelRolledBack = "model_rolled_back",
    /// A newly installed model version's first summaries passed the quality gate clearly less
    /// often (or fell back clearly more often) than the previous version's: it was rolled back
    /// and is held until a newer version.
    ModelRegressed = "model_regressed",
    /// GPU offload failed; the local model ran on the CPU.
    GpuFallback = "gpu_fallback",
    /// The local summary failed the quality gate (the detail names the checks).
    QualityGateFailed = "quality_gate_failed",
    /// The local summary failed the quality gate and went to the cloud.
    EscalatedAfterQualityGate = "escalated_after_quality_gate",
    /// The cloud request failed (timeout, error status, malformed stream…); a local route
    /// stood in.
    CloudFailed = "cloud_failed",
    /// The connectivity probe found the endpoint unreachable.
    EndpointUnreachable = "endpoint_unreachable",
    /// The model ran out of its token budget; the summary shown ends at its last complete
    /// bullet or sentence.
    SummaryTrimmed = "summary_trimmed",
    /// The local summary failed the quality gate and the cloud could not take the note: the
    /// model was asked once more under tighter constraints.
    LocalRetried = "local_retried",
    /// The local summary failed the quality gate on the retry too: the extractive summary
    /// stands in.
    ExtractiveAfterQualityGate = "extractive_after_quality_gate",
    /// The note is a scanned PDF whose text was recognised by OCR on the laptop, as asked
    /// (the detail names the engine, pages and time).
    ScannedPdfOcr = "scanned_pdf_ocr",
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reason {
    pub code: ReasonCode,
    pub detail: String,
}

impl Reason {
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Reason {
        Reason { code, detail: detail.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub route: Route,
    pub reasons: Vec<Reason>,
    /// For `deferred`: the route that serves the note now, until the cloud refinement arrives.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interim: Option<Route>,
}

impl Decision {
    /// The route whose engine runs now: the interim one for `deferred`.
    pub fn serving(&self) -> Route {
        self.interim.unwrap_or(self.route)
    }

    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// After the first decision: the note is served by `route` instead (the local engine
    /// failed, a summary failed the quality gate). For `deferred` the interim route changes and
    /// the cloud refinement stays queued.
    pub fn serve_instead(&mut self, route: Route) {
        if self.route == Route::Deferred {
            self.interim = Some(route);
        } else {
            self.route = route;
        }
    }

    /// After the first decision: the cloud was wanted but is unreachable now, so the summary
    /// just made is kept as the interim one and a cloud refinement is queued.
    pub fn defer(&mut self) {
        self.reasons.push(Reason::new(
            ReasonCode::DeferredRefinement,
            "a cloud refinement is queued for when the network returns",
        ));
        self.interim = Some(self.route);
        self.route = Route::Deferred;
    }

    /// After the first decision: the cloud failed (`why`), so the note is summarized on this
    /// device as the router would have without the cloud ([`local_fallback`]); reasons already
    /// given are not repeated.
    pub fn after_cloud_failure(&mut self, s: &Snapshot, why: impl Into<String>) {
        self.reasons.push(Reason::new(ReasonCode::CloudFailed, why));
        let (fallback, reasons) = local_fallback(s);
        self.route = fallback;
        let fresh: Vec<Reason> = reasons.into_iter().filter(|r| !self.has(r.code)).collect();
        self.reasons.extend(fresh);
    }
}

/// The local model the router may use, measured for this note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalModel {
    pub context_tokens: usize,
    /// Tokens the prompt template and the output budget take from the context.
    pub reserved_tokens: usize,
}

impl LocalModel {
    pub fn room(&self) -> usize {
        self.context_tokens.saturating_sub(self.reserved_tokens).max(1)
    }
}

/// Whether the cloud may be used for this note, and if not, the first reason why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudGate {
    /// Cloud escalation is off in the settings (the default).
    Disabled,
    /// The user said "keep on this device" / `--cloud deny` for this note.
    DeniedForNote,
    /// Permitted, but no endpoint is configured.
    NotConfigured,
    /// Permitted, but the laptop is offline (`--offline`, or the probe failed).
    Offline,
    /// Permitted, but the user switched "work offline" on.
    WorkOffline,
    /// Permitted and reachable.
    Available,
}

impl CloudGate {
    pub const ALL: [CloudGate; 6] = [
        CloudGate::Disabled,
        CloudGate::DeniedForNote,
        CloudGate::NotConfigured,
        CloudGate::Offline,
        CloudGate::WorkOffline,
        CloudGate::Available,
    ];

    /// Permitted for this note: a refinement may be queued for when it is reachable.
    pub fn permitted(self) -> bool {
        matches!(self, CloudGate::Offline | CloudGate::WorkOffline | CloudGate::Available)
    }

    /// The gate in words, as the reasons, the status and the deferred queue say it.
    pub fn describe(self) -> &'static str {
        match self {
            CloudGate::Disabled => "cloud escalation is off in the settings",
            CloudGate::DeniedForNote => "this note is kept on this device",
            CloudGate::NotConfigured => "no cloud endpoint or model is configured",
            CloudGate::Offline => "no network: the cloud cannot be reached",
            CloudGate::WorkOffline => "\"work offline\" is on",
            CloudGate::Available => "cloud escalation is allowed and the endpoint is reachable",
        }
    }
}

/// How hard a note looks for a small local model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    #[default]
    Routine,
    Hard,
}

/// The user's routing preference (`[routing] prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    #[default]
    Auto,
    /// Local first: the cloud only for what the laptop cannot take.
    Local,
    /// Best quality: the cloud whenever it is allowed.
    Cloud,
}

impl Preference {
    pub const ALL: [Preference; 3] = [Preference::Auto, Preference::Local, Preference::Cloud];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The note's size in tokens: measured with the model's tokenizer when one is loaded,
    /// estimated otherwise.
    pub doc_tokens: usize,
    pub complexity: Complexity,
    pub local: Option<LocalModel>,
    pub cloud: CloudGate,
    pub power: Mode,
    pub preference: Preference,
    /// An identical request is in the cache.
    pub cache_hit: bool,
}

impl Snapshot {
    /// A routine note under default settings: a starting point for tests and callers.
    pub fn new(doc_tokens: usize, local: Option<LocalModel>, cloud: CloudGate) -> Snapshot {
        Snapshot {
            doc_tokens,
            complexity: Complexity::Routine,
            local,
            cloud,
            power: Mode::Balanced,
            preference: Preference::Auto,
            cache_hit: false,
        }
    }
}

pub fn decide(s: &Snapshot) -> Decision {
    if s.cache_hit {
        return Decision {
            route: Route::Cache,
            reasons: vec![Reason::new(
                ReasonCode::CacheHit,
                "the same note was summarized the same way before",
            )],
            interim: None,
        };
    }
    let limit = power::profile(s.power, 1).max_local_parts;
    let (local_route, mut local_reasons) = serve_local(s, limit);
    let Some(want) = wants_cloud(s, limit) else {
        let mut reasons = local_reasons;
        if s.preference == Preference::Local
            && wants_cloud(&Snapshot { preference: Preference::Auto, ..*s }, limit).is_some()
        {
            reasons.push(Reason::new(
                ReasonCode::PreferLocal,
                "local summaries are preferred in the settings",
            ));
        }
        return Decision { route: local_route, reasons, interim: None };
    };
    let mut reasons = vec![want];
    match s.cloud {
        CloudGate::Available => {
            reasons.push(Reason::new(ReasonCode::CloudPermitted, CloudGate::Available.describe()));
            Decision { route: Route::Cloud, reasons, interim: None }
        }
        CloudGate::Offline | CloudGate::WorkOffline => {
            reasons.extend(why_not_cloud(s.cloud));
            reasons.push(Reason::new(
                ReasonCode::DeferredRefinement,
                format!("summarized on this device now ({local_route}); a cloud refinement is queued for when the network returns"),
            ));
            local_reasons.retain(|r| r.code != reasons[0].code);
            reasons.extend(local_reasons);
            Decision { route: Route::Deferred, reasons, interim: Some(local_route) }
        }
        gate => {
            reasons.extend(why_not_cloud(gate));
            local_reasons.retain(|r| r.code != reasons[0].code);
            reasons.extend(local_reasons);
            Decision { route: local_route, reasons, interim: None }
        }
    }
}

/// The best route on this device, with its reasons: what serves the note when the cloud does
/// not (it failed, or it is not allowed).
pub fn local_fallback(s: &Snapshot) -> (Route, Vec<Reason>) {
    serve_local(s, power::profile(s.power, 1).max_local_parts)
}

fn serve_local(s: &Snapshot, limit: usize) -> (Route, Vec<Reason>) {
    let Some(m) = s.local else {
        return (
            Route::Extractive,
            vec![Reason::new(
                ReasonCode::NoLocalModel,
                "no local model is installed; the extractive summarizer needs none",
            )],
        );
    };
    let room = m.room();
    if s.doc_tokens <= room {
        let r = Reason::new(
            ReasonCode::FitsLocalContext,
            format!("{} tokens fit the local model's {room} free tokens", s.doc_tokens),
        );
        return (Route::Local, vec![r]);
    }
    let exceeds = Reason::new(
        ReasonCode::DocExceedsLocalContext,
        format!(
            "{} tokens exceed the local model's {room} free tokens (context {})",
            s.doc_tokens, m.context_tokens
        ),
    );
    let parts = s.doc_tokens.div_ceil(room);
    if parts <= limit {
        (Route::LocalChunked, vec![exceeds])
    } else {
        let limited = Reason::new(
            ReasonCode::PowerModeLimitsLocal,
            format!(
                "about {parts} parts are more than {} mode summarizes locally ({limit}); the extractive summarizer takes it",
                s.power
            ),
        );
        (Route::Extractive, vec![exceeds, limited])
    }
}

/// What produced a summary the quality gate judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    /// The local model, first try, on the whole note in one pass.
    Local,
    /// The local model, first try, on a long note in parts: a retry would read every part
    /// again, so a failure goes to the extractive summary instead.
    LocalInParts,
    /// The local model's retry under tighter constraints.
    LocalRetry,
    Cloud,
    Extractive,
}

/// Whether the cloud may take the note now: `Allowed` when the gate permits it, the route is
/// not a deferral and no probe or request has failed; `NotNow` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudNow {
    Allowed,
    NotNow,
}

/// The step after the quality gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterGate {
    /// Store this summary (flagged with what failed, if it failed).
    Accept,
    /// Send the note to the cloud.
    Escalate,
    /// Ask the local model once more under tighter constraints.
    RetryLocal,
    /// Serve the extractive summary.
    Extractive,
}

/// What happens after the quality gate judged a summary. Pure, so the whole re-routing is a
/// table (tested below):
///
/// | passed | producer          | cloud now | next |
/// |--------|-------------------|-----------|------|
/// | yes    | –                 | –         | accept |
/// | no     | cloud             | –         | accept, flagged (nothing better is at hand) |
/// | no     | local (any), extractive | allowed | escalate (`escalated_after_quality_gate`) |
/// | no     | extractive        | not now   | accept, flagged |
/// | no     | local             | not now   | retry local (`local_retried`) |
/// | no     | local in parts, local retry | – | extractive (`extractive_after_quality_gate`) |
///
/// A failed escalation (probe offline, cloud error) asks again with `NotNow`, so a local summary
/// that failed the gate is never the answer as it stands: garbage is never shown.
pub fn after_quality_gate(passed: bool, producer: Producer, cloud: CloudNow) -> AfterGate {
    match (passed, producer, cloud) {
        (true, _, _)
        | (false, Producer::Cloud, _)
        | (false, Producer::Extractive, CloudNow::NotNow) => AfterGate::Accept,
        (
            false,
            Producer::Local | Producer::LocalInParts | Producer::Extractive,
            CloudNow::Allowed,
        ) => AfterGate::Escalate,
        (false, Producer::Local, CloudNow::NotNow) => AfterGate::RetryLocal,
        (false, Producer::LocalInParts, CloudNow::NotNow) | (false, Producer::LocalRetry, _) => {
            AfterGate::Extractive
        }
    }
}

/// Why this note should go to the cloud, if it should.
fn wants_cloud(s: &Snapshot, limit: usize) -> Option<Reason> {
    let fits = s.local.is_some_and(|m| s.doc_tokens <= m.room());
    let beyond_limit = s.local.is_some_and(|m| s.doc_tokens.div_ceil(m.room()) > limit);
    let exceeds = |m: LocalModel| {
        Reason::new(
            ReasonCode::DocExceedsLocalContext,
            format!(
                "{} tokens exceed the local model's {} free tokens (context {})",
                s.doc_tokens,
                m.room(),
                m.context_tokens
            ),
        )
    };
    match (s.preference, s.local) {
        (Preference::Local, Some(m)) if beyond_limit => Some(exceeds(m)),
        (Preference::Local, _) => None,
        (_, None) => Some(Reason::new(
            ReasonCode::NoLocalModel,
            "no local model is installed; the extractive summarizer needs none",
        )),
        (_, Some(m)) if !fits => Some(exceeds(m)),
        _ if s.complexity == Complexity::Hard => Some(Reason::new(
            ReasonCode::DocComplex,
            "dense facts and long sentences: hard for a small local model",
        )),
        (Preference::Cloud, _) => Some(Reason::new(
            ReasonCode::PreferCloud,
            "the best quality is preferred in the settings",
        )),
        _ => None,
    }
}

fn why_not_cloud(gate: CloudGate) -> Option<Reason> {
    let code = match gate {
        CloudGate::Disabled => ReasonCode::CloudDisabled,
        CloudGate::DeniedForNote => ReasonCode::CloudDeniedForNote,
        CloudGate::NotConfigured => ReasonCode::CloudNotConfigured,
        CloudGate::Offline => ReasonCode::Offline,
        CloudGate::WorkOffline => ReasonCode::WorkOffline,
        CloudGate::Available => return None,
    };
    Some(Reason::new(code, gate.describe()))
}

/// A cheap estimate of how hard a note is for a small model: many facts per word (a dense
/// test report), or long sentences (legal or engineering prose). Measured on the text, so the
/// same note always gets the same answer.
pub fn complexity(text: &str) -> Complexity {
    let words = text.split_whitespace().count();
    if words < 120 {
        return Complexity::Routine;
    }
    let facts = crate::facts::extract(text).len();
    let sentences = text
        .split(['.', '!', '?', '\n'])
        .filter(|s| s.split_whitespace().count() >= 3)
        .count()
        .max(1);
    let words_per_sentence = words as f64 / sentences as f64;
    let facts_per_100_words = facts as f64 * 100.0 / words as f64;
    if facts_per_100_words >= 12.0 || words_per_sentence >= 40.0 {
        Complexity::Hard
    } else {
        Complexity::Routine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CloudGate::{Available, DeniedForNote, Disabled, NotConfigured, WorkOffline};
    use ReasonCode::*;

    const MODEL: LocalModel = LocalModel { context_tokens: 4096, reserved_tokens: 1024 };
    const ROOM: usize = 3072;

    fn codes(d: &Decision) -> Vec<ReasonCode> {
        d.reasons.iter().map(|r| r.code).collect()
    }

    /// Rows written out by hand, as a reader of the table above would expect them.
    #[test]
    fn spot_checks() {
        type Row = (Option<LocalModel>, usize, CloudGate, Route, &'static [ReasonCode]);
        let rows: &[Row] = &[
            (None, 10, Disabled, Route::Extractive, &[NoLocalModel, CloudDisabled]),
            (None, 100_000, DeniedForNote, Route::Extractive, &[NoLocalModel, CloudDeniedForNote]),
            (
                None,
                100_000,
                CloudGate::Offline,
                Route::Deferred,
                &[NoLocalModel, Offline, DeferredRefinement],
            ),
            (None, 100_000, Available, Route::Cloud, &[NoLocalModel, CloudPermitted]),
            (None, 100_000, NotConfigured, Route::Extractive, &[NoLocalModel, CloudNotConfigured]),
            (
                Some(MODEL),
                9000,
                NotConfigured,
                Route::LocalChunked,
                &[DocExceedsLocalContext, CloudNotConfigured],
            ),
            (Some(MODEL), 3072, Disabled, Route::Local, &[FitsLocalContext]),
            (Some(MODEL), 3072, Available, Route::Local, &[FitsLocalContext]),
            (Some(MODEL), 3073, Available, Route::Cloud, &[DocExceedsLocalContext, CloudPermitted]),
            (
                Some(MODEL),
                3073,
                Disabled,
                Route::LocalChunked,
                &[DocExceedsLocalContext, CloudDisabled],
            ),
            (
                Some(MODEL),
                9000,
                DeniedForNote,
                Route::LocalChunked,
                &[DocExceedsLocalContext, CloudDeniedForNote],
            ),
            (
                Some(MODEL),
                9000,
                CloudGate::Offline,
                Route::Deferred,
                &[DocExceedsLocalContext, Offline, DeferredRefinement],
            ),
            (
                Some(MODEL),
                9000,
                WorkOffline,
                Route::Deferred,
                &[DocExceedsLocalContext, ReasonCode::WorkOffline, DeferredRefinement],
            ),
        ];
        for (local, tokens, cloud, route, want) in rows {
            let d = decide(&Snapshot::new(*tokens, *local, *cloud));
            assert_eq!(d.route, *route, "{local:?} {tokens} {cloud:?}");
            assert_eq!(codes(&d), *want, "{local:?} {tokens} {cloud:?}");
            assert!(d.reasons.iter().all(|r| !r.detail.is_empty()));
        }
        let d = decide(&Snapshot::new(9000, Some(MODEL), CloudGate::Offline));
        assert_eq!(d.interim, Some(Route::LocalChunked));
        // Saver mode, offline, a 40-part report: extractive now, cloud later.
        let d = decide(&Snapshot {
            power: Mode::Saver,
            ..Snapshot::new(40 * ROOM, Some(MODEL), CloudGate::Offline)
        });
        assert_eq!((d.route, d.interim), (Route::Deferred, Some(Route::Extractive)));
        assert!(d.has(PowerModeLimitsLocal));
    }

    /// The table above, as data: every combination of the router's inputs is decided and
    /// compared with what the table says.
    #[test]
    fn every_combination_follows_the_decision_table() {
        let sizes = [100, ROOM, 2 * ROOM, 10 * ROOM, 40 * ROOM];
        let mut checked = 0;
        for cache_hit in [false, true] {
            for local in [None, Some(MODEL)] {
                for doc_tokens in sizes {
                    for complexity in [Complexity::Routine, Complexity::Hard] {
                        for cloud in CloudGate::ALL {
                            for power in Mode::ALL {
                                for preference in Preference::ALL {
                                    let s = Snapshot {
                                        doc_tokens,
                                        complexity,
                                        local,
                                        cloud,
                                        power,
                                        preference,
                                        cache_hit,
                                    };
                                    let d = decide(&s);
                                    let (route, interim, want) = table(&s);
                                    assert_eq!((d.route, d.interim), (route, interim), "{s:?}");
                                    assert_eq!(codes(&d), want, "{s:?}");
                                    // Invariants that hold whatever the table says.
                                    assert!(d.route != Route::Cloud || cloud == Available, "{s:?}");
                                    assert!(
                                        d.route != Route::Deferred || cloud.permitted(),
                                        "{s:?}"
                                    );
                                    assert!(d.reasons.iter().all(|r| !r.detail.is_empty()));
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 2 * 5 * 2 * 6 * 3 * 3);
    }

    fn table(s: &Snapshot) -> (Route, Option<Route>, Vec<ReasonCode>) {
        if s.cache_hit {
            return (Route::Cache, None, vec![CacheHit]);
        }
        let limit = match s.power {
            Mode::Performance => usize::MAX,
            Mode::Balanced => 16,
            Mode::Saver => 4,
        };
        let fits = s.local.is_some() && s.doc_tokens <= ROOM;
        let parts = s.doc_tokens.div_ceil(ROOM);
        let (local_route, local_codes) = match s.local {
            None => (Route::Extractive, vec![NoLocalModel]),
            Some(_) if fits => (Route::Local, vec![FitsLocalContext]),
            Some(_) if parts <= limit => (Route::LocalChunked, vec![DocExceedsLocalContext]),
            Some(_) => (Route::Extractive, vec![DocExceedsLocalContext, PowerModeLimitsLocal]),
        };
        let want_auto = if s.local.is_none() {
            Some(NoLocalModel)
        } else if !fits {
            Some(DocExceedsLocalContext)
        } else if s.complexity == Complexity::Hard {
            Some(DocComplex)
        } else {
            None
        };
        let want = match s.preference {
            Preference::Local => {
                (s.local.is_some() && parts > limit).then_some(DocExceedsLocalContext)
            }
            Preference::Auto => want_auto,
            Preference::Cloud => want_auto.or(Some(PreferCloud)),
        };
        let Some(want) = want else {
            let mut c = local_codes;
            if s.preference == Preference::Local && want_auto.is_some() {
                c.push(PreferLocal);
            }
            return (local_route, None, c);
        };
        let rest = local_codes.into_iter().filter(|c| *c != want);
        match s.cloud {
            Available => (Route::Cloud, None, vec![want, CloudPermitted]),
            CloudGate::Offline => (
                Route::Deferred,
                Some(local_route),
                [want, Offline, DeferredRefinement].into_iter().chain(rest).collect(),
            ),
            WorkOffline => (
                Route::Deferred,
                Some(local_route),
                [want, ReasonCode::WorkOffline, DeferredRefinement]
                    .into_iter()
                    .chain(rest)
                    .collect(),
            ),
            Disabled => {
                (local_route, None, [want, CloudDisabled].into_iter().chain(rest).collect())
            }
            DeniedForNote => {
                (local_route, None, [want, CloudDeniedForNote].into_iter().chain(rest).collect())
            }
            NotConfigured => {
                (local_route, None, [want, CloudNotConfigured].into_iter().chain(rest).collect())
            }
        }
    }

    #[test]
    fn complexity_estimate() {
        let routine = "Checked the pump and the motor. Everything ran fine today. ".repeat(20);
        assert_eq!(complexity(&routine), Complexity::Routine);
        let dense = "P-101 4.2 bar 78 °C 7.1 mm/s E104 2026-03-14 S/N 12345 done. ".repeat(20);
        assert_eq!(complexity(&dense), Complexity::Hard);
        assert_eq!(complexity("short 4.2 bar E104"), Complexity::Routine);
    }

    #[test]
    fn codes_and_routes_serialise_as_documented() {
        assert_eq!(serde_json::to_string(&Route::LocalChunked).unwrap(), "\"local-chunked\"");
        assert_eq!(
            serde_json::to_string(&DocExceedsLocalContext).unwrap(),
            "\"doc_exceeds_local_context\""
        );
        for r in Route::ALL {
            assert_eq!(Route::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        for c in ReasonCode::ALL {
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{}\"", c.as_str()));
        }
    }

    #[test]
    fn after_the_quality_gate_a_failed_local_summary_is_never_the_answer() {
        use AfterGate::{Accept, Escalate, RetryLocal};
        use Producer::{Cloud, Local, LocalInParts, LocalRetry};
        let table = [
            (true, Local, CloudNow::Allowed, Accept),
            (true, Local, CloudNow::NotNow, Accept),
            (true, LocalRetry, CloudNow::NotNow, Accept),
            (true, Cloud, CloudNow::Allowed, Accept),
            (false, Local, CloudNow::Allowed, Escalate),
            (false, Local, CloudNow::NotNow, RetryLocal),
            (false, LocalRetry, CloudNow::Allowed, AfterGate::Extractive),
            (false, LocalRetry, CloudNow::NotNow, AfterGate::Extractive),
            (false, Cloud, CloudNow::Allowed, Accept),
            (false, Producer::Extractive, CloudNow::NotNow, Accept),
            (false, Producer::Extractive, CloudNow::Allowed, Escalate),
            (false, LocalInParts, CloudNow::Allowed, Escalate),
            (false, LocalInParts, CloudNow::NotNow, AfterGate::Extractive),
        ];
        for (passed, producer, cloud, want) in table {
            assert_eq!(
                after_quality_gate(passed, producer, cloud),
                want,
                "{passed} {producer:?} {cloud:?}"
            );
        }
        // Every failing local producer leads somewhere else.
        for producer in [Local, LocalInParts, LocalRetry] {
            for cloud in [CloudNow::Allowed, CloudNow::NotNow] {
                assert_ne!(after_quality_gate(false, producer, cloud), Accept);
            }
        }
    }

    /// Re-routing after the first decision, row by row: what serves the note once the cloud
    /// failed, the local engine failed, or the network went away.
    #[test]
    fn re_routing_after_the_first_decision() {
        let d = |route, interim| Decision { route, reasons: Vec::new(), interim };
        // serve_instead: (before, interim before, new engine) → (route, interim)
        let table = [
            (Route::Local, None, Route::Extractive, Route::Extractive, None),
            (Route::LocalChunked, None, Route::Extractive, Route::Extractive, None),
            (Route::Cloud, None, Route::Local, Route::Local, None),
            (
                Route::Deferred,
                Some(Route::Local),
                Route::Extractive,
                Route::Deferred,
                Some(Route::Extractive),
            ),
        ];
        for (route, interim, instead, want_route, want_interim) in table {
            let mut decision = d(route, interim);
            decision.serve_instead(instead);
            assert_eq!((decision.route, decision.interim), (want_route, want_interim), "{route}");
        }

        // defer: what served the note now becomes the interim route of `deferred`.
        for route in [Route::Local, Route::LocalChunked, Route::Extractive] {
            let mut decision = d(route, None);
            decision.defer();
            assert_eq!((decision.route, decision.interim), (Route::Deferred, Some(route)));
            assert_eq!(codes(&decision), [DeferredRefinement]);
        }

        // after_cloud_failure: the local route the router would take without the cloud.
        type Row = (Option<LocalModel>, usize, Route, &'static [ReasonCode]);
        let rows: &[Row] = &[
            (
                Some(MODEL),
                100,
                Route::Local,
                &[PreferCloud, CloudPermitted, CloudFailed, FitsLocalContext],
            ),
            (
                Some(MODEL),
                ROOM + 1,
                Route::LocalChunked,
                &[DocExceedsLocalContext, CloudPermitted, CloudFailed],
            ),
            (None, 100, Route::Extractive, &[NoLocalModel, CloudPermitted, CloudFailed]),
        ];
        for &(local, tokens, want, want_codes) in rows {
            let snapshot = Snapshot {
                preference: Preference::Cloud,
                ..Snapshot::new(tokens, local, Available)
            };
            let mut decision = decide(&snapshot);
            assert_eq!(decision.route, Route::Cloud, "{tokens} {local:?}");
            decision.after_cloud_failure(&snapshot, "timed out");
            assert_eq!(decision.route, want, "{tokens} {local:?}");
            // Reasons the first decision gave are not repeated.
            assert_eq!(codes(&decision), want_codes, "{tokens} {local:?}");
        }
    }
}
