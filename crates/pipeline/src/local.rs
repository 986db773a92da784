//! The local engine's part of the handle: the worker command this build runs models in, the
//! engine kept warm between requests, the cancel flag its generations watch, and what a worker
//! reported about the machine. Which model and which settings a request gets is decided by
//! the request path (`Fieldbrief::local_engine`); this only keeps, reuses and forgets engines.

use fieldbrief_engine::local::{LocalEngine, LocalModel, LocalSettings};
use fieldbrief_engine::protocol::Device;
use fieldbrief_engine::supervisor::WorkerCommand;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

pub(crate) struct LocalSlot {
    worker: Option<WorkerCommand>,
    /// `cpu`, `auto`, or a GPU backend's name.
    backend: &'static str,
    /// The engine of the last local request: reused while model and settings are the same.
    warm: Option<Arc<LocalEngine>>,
    cancel: Arc<AtomicBool>,
    /// The compute devices a worker reported and its CPU variant: they do not change while the
    /// process runs, and asking starts a process (the app asks for its status after every
    /// summary).
    devices: OnceLock<(Vec<Device>, Option<String>)>,
    /// This machine's memory, for the ledger's device class and the catalog's "fits": read
    /// once, it does not change.
    ram_bytes: OnceLock<Option<u64>>,
}

impl LocalSlot {
    pub(crate) fn new() -> LocalSlot {
        LocalSlot {
            worker: None,
            backend: "cpu",
            warm: None,
            cancel: Arc::default(),
            devices: OnceLock::new(),
            ram_bytes: OnceLock::new(),
        }
    }

    pub(crate) fn set_worker(&mut self, worker: WorkerCommand, backend: &'static str) {
        self.worker = Some(worker);
        self.backend = backend;
        self.warm = None;
    }

    /// The worker command; `None` in a build without one (extractive summaries only).
    pub(crate) fn worker(&self) -> Option<&WorkerCommand> {
        self.worker.as_ref()
    }

    pub(crate) fn backend(&self) -> &'static str {
        self.backend
    }

    /// Set to stop the running generation (Ctrl-C, the app's Cancel).
    pub(crate) fn cancel(&self) -> &Arc<AtomicBool> {
        &self.cancel
    }

    /// Drops the kept engine (its worker stops): a new model version, new settings or a crash
    /// that rolled a model back must not be served by the old process.
    pub(crate) fn forget(&mut self) {
        self.warm = None;
    }

    /// The engine for `model` with `settings`: the kept one when both match, else a new one
    /// (whose worker unloads the model after `idle_secs` without work), kept for next time.
    /// `None` without a worker.
    pub(crate) fn engine(
        &mut self,
        model: LocalModel,
        settings: LocalSettings,
        idle_secs: u64,
    ) -> Option<Arc<LocalEngine>> {
        let mut command = self.worker.clone()?;
        if let Some(engine) =
            self.warm.as_ref().filter(|e| e.model() == &model && e.settings() == &settings)
        {
            return Some(engine.clone());
        }
        command.args.extend(["--idle-secs".to_string(), idle_secs.to_string()]);
        let engine =
            Arc::new(LocalEngine::with_cancel(command, model, settings, self.cancel.clone()));
        self.warm = Some(engine.clone());
        Some(engine)
    }

    /// The devices llama.cpp sees and the worker's CPU variant, asked of a short-lived worker
    /// once (a failed answer is not kept: the next status asks again); none without a worker.
    pub(crate) fn devices(&self) -> (Vec<Device>, Option<String>) {
        if let Some(known) = self.devices.get() {
            return known.clone();
        }
        let found = self.ask_devices();
        if !found.0.is_empty() {
            let _ = self.devices.set(found.clone());
        }
        found
    }

    /// The devices if a worker was asked already (never starts one).
    pub(crate) fn known_devices(&self) -> &[Device] {
        self.devices.get().map_or(&[], |d| d.0.as_slice())
    }

    /// Whether this build can run a model on a GPU here: a GPU backend, or `auto` with a GPU
    /// among the devices already reported.
    pub(crate) fn gpu_capable(&self) -> bool {
        match self.backend {
            "cpu" => false,
            "auto" => self.known_devices().iter().any(|d| d.gpu),
            _ => true,
        }
    }

    pub(crate) fn ram_bytes(&self) -> Option<u64> {
        *self.ram_bytes.get_or_init(fieldbrief_device::total_memory_bytes)
    }

    fn ask_devices(&self) -> (Vec<Device>, Option<String>) {
        let Some(worker) = self.worker.clone() else { return (Vec::new(), None) };
        let mut supervisor = fieldbrief_engine::supervisor::Supervisor::new(worker);
        supervisor.patience = std::time::Duration::from_secs(10);
        match supervisor.call(
            &fieldbrief_engine::protocol::Request::Devices { id: "devices".into() },
            None,
            |_| {},
        ) {
            Ok(fieldbrief_engine::protocol::Event::Devices { devices, .. }) => {
                (devices, supervisor.cpu_variant().map(str::to_string))
            }
            other => {
                tracing::warn!(?other, "could not list compute devices");
                (Vec::new(), None)
            }
        }
    }
}
