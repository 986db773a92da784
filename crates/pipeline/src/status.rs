//! What the status bar and `fieldbrief status` show: the data directory, the engine and its
//! devices, the cloud and its reachability, the power state.

use crate::{Fieldbrief, NetState, Result};
use fieldbrief_cloud::KeySource;
use fieldbrief_core::engine::{Engine, ModelRef};
use fieldbrief_core::route::CloudGate;
use fieldbrief_device::PowerState;
use fieldbrief_extractive::Extractive;
use fieldbrief_store::Counts;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusReport {
    pub version: &'static str,
    pub home: PathBuf,
    pub database: PathBuf,
    pub schema_version: usize,
    pub counts: Counts,
    /// The model `summarize` uses when none is named.
    pub active_model: Option<ModelRef>,
    pub engine: EngineStatus,
    pub cloud: CloudStatus,
    /// Reachability of the cloud endpoint; never probed while cloud escalation is off.
    pub connectivity: NetState,
    /// Battery, AC, thermal state and power mode.
    pub power: PowerState,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngineStatus {
    /// Compute backend of the local engine.
    pub backend: &'static str,
    /// What a local model runs on: the GPU's name, or "CPU".
    pub device: String,
    /// Every compute device llama.cpp sees (asked of a worker process).
    pub devices: Vec<fieldbrief_engine::protocol::Device>,
    /// The CPU instruction set the worker's kernels were built for (`x86-64-v4-vnni`: AVX-512
    /// with VNNI, `x86-64-v4`: AVX-512, `x86-64-v3-vnni`: AVX2 with AVX-VNNI, `x86-64-v3`: AVX2;
    /// the best one this CPU runs is started).
    pub cpu_variant: Option<String>,
    /// Engines that can serve a request right now.
    pub available: Vec<&'static str>,
    /// What the power mode lets the local engine do now (threads, GPU layers, batch…).
    pub profile: fieldbrief_core::power::Profile,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloudStatus {
    pub enabled: bool,
    pub endpoint: Option<String>,
    pub model: Option<String>,
    pub work_offline: bool,
    /// Where the API key comes from (`environment`, `keychain`, `none`); never the key.
    /// `None` while no cloud request or probe has been made.
    pub key_source: Option<KeySource>,
    /// Names of the organisation's redaction patterns.
    pub redact_patterns: Vec<String>,
    /// Cloud refinements waiting for the network.
    pub deferred_pending: usize,
}

impl Fieldbrief {
    fn active_model_ref(&self) -> Option<ModelRef> {
        let id = self.active_model_id()?;
        let model = self.resolve_model(&id).ok()?;
        Some(ModelRef { id: model.id, version: model.version })
    }

    /// Everything the status bar and `fieldbrief status` show. Probes the endpoint only when
    /// cloud escalation is on and not switched to "work offline" (at most as often as the
    /// connectivity monitor's backoff allows).
    pub fn status(&mut self) -> Result<StatusReport> {
        let power = self.power_state()?;
        let gate = self.static_gate(false, false);
        let connectivity = match gate {
            CloudGate::Available => self.probe(),
            other => Self::not_probed(other),
        };
        let deferred_pending = self.store.deferred(false)?.len();
        let cloud = &self.settings.cloud;
        let (devices, cpu_variant) = self.local.devices();
        let active_model = self.active_model_ref();
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION"),
            home: self.home.root().to_path_buf(),
            database: self.home.database_path(),
            schema_version: self.store.schema_version()?,
            counts: self.store.counts()?,
            active_model: active_model.clone(),
            engine: EngineStatus {
                backend: self.local.backend(),
                device: devices
                    .iter()
                    .find(|d| {
                        d.gpu
                            && self.local.backend() != "cpu"
                            && self.settings.engine.gpu_layers != Some(0)
                    })
                    .map_or_else(
                        || "CPU".to_string(),
                        |d| {
                            if d.description.is_empty() {
                                d.name.clone()
                            } else {
                                d.description.clone()
                            }
                        },
                    ),
                devices,
                cpu_variant,
                available: if self.local.worker().is_some() && active_model.is_some() {
                    vec!["local", Extractive.name()]
                } else {
                    vec![Extractive.name()]
                },
                profile: power.profile(),
            },
            cloud: CloudStatus {
                enabled: cloud.enabled,
                endpoint: cloud.endpoint.clone(),
                model: cloud.model.clone(),
                work_offline: cloud.work_offline,
                key_source: self.key_source(),
                redact_patterns: cloud.redact.keys().cloned().collect(),
                deferred_pending,
            },
            connectivity,
            power,
        })
    }
}
