//! The router: which engine serves a note, and why.
//!
//! [`decide`] is a pure function of a [`Snapshot`], so every decision can be reproduced from
//! the snapshot stored with the request and is table-tested below. The reasons are shown to
//! the user ("why did this note go to the cloud?"), so their codes are stable API: add new
//! codes, never rename old ones.
//!
//! Decision table (first matching row wins):
//!
//! | local model | note fits its context | cloud gate | route          | reasons |
//! |-------------|-----------------------|------------|----------------|---------|
//! | none        | –                     | any        | extractive     | `no_local_model`, why not cloud |
//! | present     | yes                   | any        | local          | `fits_local_context` |
//! | present     | no                    | available  | cloud          | `doc_exceeds_local_context`, `cloud_permitted` |
//! | present     | no                    | otherwise  | local-chunked  | `doc_exceeds_local_context`, why not cloud |
//!
//! Power mode, complexity, the cache and deferred refinement join this table in later issues.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    pub const ALL: [Route; 6] =
        [Route::Cache, Route::Local, Route::LocalChunked, Route::Cloud, Route::Extractive, Route::Deferred];

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

/// Stable reason codes. Serialised in snake_case into JSON output and the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    NoLocalModel,
    FitsLocalContext,
    DocExceedsLocalContext,
    CloudPermitted,
    CloudDisabled,
    CloudDeniedForNote,
    CloudNotConfigured,
    Offline,
    /// The local engine failed (crashed, ran out of memory…) and the extractive summary stood in.
    LocalEngineFailed,
    /// The local model crashed the engine repeatedly and is not used until replaced.
    ModelQuarantined,
    /// GPU offload failed; the local model ran on the CPU.
    GpuFallback,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::NoLocalModel => "no_local_model",
            ReasonCode::FitsLocalContext => "fits_local_context",
            ReasonCode::DocExceedsLocalContext => "doc_exceeds_local_context",
            ReasonCode::CloudPermitted => "cloud_permitted",
            ReasonCode::CloudDisabled => "cloud_disabled",
            ReasonCode::CloudDeniedForNote => "cloud_denied_for_note",
            ReasonCode::CloudNotConfigured => "cloud_not_configured",
            ReasonCode::Offline => "offline",
            ReasonCode::LocalEngineFailed => "local_engine_failed",
            ReasonCode::ModelQuarantined => "model_quarantined",
            ReasonCode::GpuFallback => "gpu_fallback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub route: Route,
    pub reasons: Vec<Reason>,
}

/// The local model the router may use, measured for this note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalModel {
    pub context_tokens: usize,
    /// Tokens the prompt template and the output budget take from the context.
    pub reserved_tokens: usize,
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
    /// Permitted, but the laptop is offline (or `--offline`).
    Offline,
    /// Permitted and reachable.
    Available,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The note's size in tokens: measured with the model's tokenizer when one is loaded,
    /// estimated otherwise.
    pub doc_tokens: usize,
    pub local: Option<LocalModel>,
    pub cloud: CloudGate,
}

pub fn decide(s: &Snapshot) -> Decision {
    let mut reasons = Vec::new();
    let route = match s.local {
        None => {
            reasons.push(Reason {
                code: ReasonCode::NoLocalModel,
                detail: "no local model is installed; the extractive summarizer needs none".into(),
            });
            reasons.extend(why_not_cloud(s.cloud));
            Route::Extractive
        }
        Some(m) => {
            let room = m.context_tokens.saturating_sub(m.reserved_tokens);
            if s.doc_tokens <= room {
                reasons.push(Reason {
                    code: ReasonCode::FitsLocalContext,
                    detail: format!("{} tokens fit the local model's {} free tokens", s.doc_tokens, room),
                });
                Route::Local
            } else {
                reasons.push(Reason {
                    code: ReasonCode::DocExceedsLocalContext,
                    detail: format!(
                        "{} tokens exceed the local model's {} free tokens (context {})",
                        s.doc_tokens, room, m.context_tokens
                    ),
                });
                if s.cloud == CloudGate::Available {
                    reasons.push(Reason {
                        code: ReasonCode::CloudPermitted,
                        detail: "cloud escalation is allowed and the endpoint is reachable".into(),
                    });
                    Route::Cloud
                } else {
                    reasons.extend(why_not_cloud(s.cloud));
                    Route::LocalChunked
                }
            }
        }
    };
    Decision { route, reasons }
}

fn why_not_cloud(gate: CloudGate) -> Option<Reason> {
    let (code, detail) = match gate {
        CloudGate::Disabled => (ReasonCode::CloudDisabled, "cloud escalation is off in the settings"),
        CloudGate::DeniedForNote => (ReasonCode::CloudDeniedForNote, "this note is kept on this device"),
        CloudGate::NotConfigured => (ReasonCode::CloudNotConfigured, "no cloud endpoint is configured"),
        CloudGate::Offline => (ReasonCode::Offline, "no network: the cloud cannot be reached"),
        CloudGate::Available => return None,
    };
    Some(Reason { code, detail: detail.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CloudGate::{Available, DeniedForNote, Disabled, NotConfigured};
    use ReasonCode::*;

    const MODEL: LocalModel = LocalModel { context_tokens: 4096, reserved_tokens: 1024 };

    #[test]
    fn decision_table() {
        type Row = (Option<LocalModel>, usize, CloudGate, Route, &'static [ReasonCode]);
        let rows: &[Row] = &[
            (None, 10, Disabled, Route::Extractive, &[NoLocalModel, CloudDisabled]),
            (None, 100_000, DeniedForNote, Route::Extractive, &[NoLocalModel, CloudDeniedForNote]),
            (None, 100_000, CloudGate::Offline, Route::Extractive, &[NoLocalModel, Offline]),
            (None, 100_000, Available, Route::Extractive, &[NoLocalModel]),
            (None, 100_000, NotConfigured, Route::Extractive, &[NoLocalModel, CloudNotConfigured]),
            (Some(MODEL), 9000, NotConfigured, Route::LocalChunked, &[DocExceedsLocalContext, CloudNotConfigured]),
            (Some(MODEL), 3072, Disabled, Route::Local, &[FitsLocalContext]),
            (Some(MODEL), 3072, Available, Route::Local, &[FitsLocalContext]),
            (Some(MODEL), 3073, Available, Route::Cloud, &[DocExceedsLocalContext, CloudPermitted]),
            (Some(MODEL), 3073, Disabled, Route::LocalChunked, &[DocExceedsLocalContext, CloudDisabled]),
            (Some(MODEL), 9000, DeniedForNote, Route::LocalChunked, &[DocExceedsLocalContext, CloudDeniedForNote]),
            (Some(MODEL), 9000, CloudGate::Offline, Route::LocalChunked, &[DocExceedsLocalContext, Offline]),
        ];
        for (local, tokens, cloud, route, codes) in rows {
            let d = decide(&Snapshot { doc_tokens: *tokens, local: *local, cloud: *cloud });
            assert_eq!(d.route, *route, "{local:?} {tokens} {cloud:?}");
            let got: Vec<ReasonCode> = d.reasons.iter().map(|r| r.code).collect();
            assert_eq!(&got, codes, "{local:?} {tokens} {cloud:?}");
            assert!(d.reasons.iter().all(|r| !r.detail.is_empty()));
        }
    }

    #[test]
    fn codes_and_routes_serialise_as_documented() {
        assert_eq!(serde_json::to_string(&Route::LocalChunked).unwrap(), "\"local-chunked\"");
        assert_eq!(serde_json::to_string(&DocExceedsLocalContext).unwrap(), "\"doc_exceeds_local_context\"");
        for r in Route::ALL {
            assert_eq!(Route::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        for c in [
            NoLocalModel,
            FitsLocalContext,
            DocExceedsLocalContext,
            CloudPermitted,
            CloudDisabled,
            CloudDeniedForNote,
            CloudNotConfigured,
            Offline,
            LocalEngineFailed,
            ModelQuarantined,
            GpuFallback,
        ] {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.as_str()));
        }
    }
}
