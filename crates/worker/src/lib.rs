//! The worker process: llama.cpp on one side, Fieldbrief's JSON-lines protocol on the other.
//!
//! llama.cpp can abort the whole process (GGML_ASSERT, a C++ exception, GPU out of memory), so
//! it never runs in the app's or the CLI's own process: the `fieldbrief` binary re-executes
//! itself with [`fieldbrief_engine::protocol::WORKER_ARG`] and this module's [`run`] takes
//! over. A crash here costs the request, never the app or the note; the supervisor in
//! `fieldbrief-engine` sees the pipe close and deals with it.
//!
//! Threads: a reader thread parses stdin and flags cancellations the moment they arrive; the
//! main thread owns llama.cpp and serves one request at a time, checking the flag between
//! tokens. The model stays loaded between requests, with the previous request's tokens kept
//! in the KV cache so a prompt that starts the same way (the system prompt, the next chunk of
//! a long note) only pays for its new tokens; it is unloaded after an idle time.

mod chat;
mod session;
mod warm;

use fieldbrief_engine::protocol::{ErrorKind, Event, LoadSpec, Request, VERSION};
use llama_cpp_2::llama_backend::LlamaBackend;
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The compute backend this build was made with.
pub fn backend_name() -> &'static str {
    if cfg!(feature = "cuda") {
        "cuda"
    } else if cfg!(feature = "vulkan") {
        "vulkan"
    } else if cfg!(feature = "metal") {
        "metal"
    } else {
        "cpu"
    }
}

/// The CPU instruction set this build's llama.cpp kernels were compiled for (the bundles carry
/// one worker per level and the supervisor starts the best one the CPU runs; see
/// `fieldbrief_engine::supervisor::WorkerCommand::for_this_cpu`).
pub fn cpu_variant() -> &'static str {
    if cfg!(all(
        target_arch = "x86_64",
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vnni",
        target_feature = "avx512vbmi"
    )) {
        "x86-64-v4-vnni"
    } else if cfg!(all(
        target_arch = "x86_64",
        target_feature = "avx512f",
        target_feature = "avx512bw"
    )) {
        "x86-64-v4"
    } else if cfg!(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "avxvnni"
    )) {
        "x86-64-v3-vnni"
    } else if cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")) {
        "x86-64-v3"
    } else if cfg!(target_arch = "x86_64") {
        "x86-64"
    } else if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else {
        std::env::consts::ARCH
    }
}

/// Writes protocol events to stdout, one JSON object per line.
#[derive(Clone)]
pub(crate) struct Emitter;

impl Emitter {
    pub(crate) fn emit(&self, event: &Event) {
        let mut out = std::io::stdout().lock();
        // If the supervisor is gone there is nobody to tell; the next read sees EOF and exits.
        if let Ok(line) = serde_json::to_string(event) {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    pub(crate) fn error(&self, id: Option<&str>, kind: ErrorKind, message: impl Into<String>) {
        self.emit(&Event::Error { id: id.map(str::to_string), kind, message: message.into() });
    }
}

/// Ids of requests the supervisor asked to cancel.
pub(crate) type Cancellations = Arc<Mutex<HashSet<String>>>;

pub(crate) fn is_cancelled(c: &Cancellations, id: &str) -> bool {
    c.lock().map(|set| set.contains(id)).unwrap_or(false)
}

/// Runs the worker until stdin closes or a shutdown request arrives. Returns the exit code.
pub fn run(idle_unload: Duration) -> i32 {
    // Ctrl-C at a terminal reaches the whole process group: the worker leaves it to its parent
    // (which cancels, pauses or shuts the worker down), instead of dying under a smoke test or
    // a summary.
    let _ = ctrlc::set_handler(|| {});
    llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
    let out = Emitter;
    let backend = match LlamaBackend::init() {
        Ok(b) => b,
        Err(e) => {
            out.error(
                None,
                ErrorKind::LoadFailed,
                format!("llama.cpp backend failed to start: {e}"),
            );
            return 1;
        }
    };
    out.emit(&Event::Ready {
        version: VERSION,
        pid: std::process::id(),
        backend: backend_name().into(),
        cpu: cpu_variant().into(),
    });

    let cancellations: Cancellations = Arc::default();
    let requests = spawn_reader(cancellations.clone(), out.clone());

    let mut next: Option<Request> = None;
    loop {
        let request = match next.take() {
            Some(r) => r,
            None => match requests.recv() {
                Ok(r) => r,
                Err(_) => return 0,
            },
        };
        let spec = match &request {
            Request::Shutdown => return 0,
            Request::Cancel { .. } => continue,
            Request::Devices { id } => {
                out.emit(&Event::Devices { id: id.clone(), devices: devices() });
                continue;
            }
            Request::Info { model, .. }
            | Request::Tokenize { model, .. }
            | Request::Generate { model, .. }
            | Request::Bench { model, .. }
            | Request::Smoke { model, .. } => model.clone(),
        };
        let loaded = match session::load(&backend, &spec) {
            Ok(l) => l,
            Err((kind, message)) => {
                out.error(request.id(), kind, message);
                continue;
            }
        };
        let mut session = session::Session::new(&backend, &loaded, &spec, &out, &cancellations);
        let mut current = Some(request);
        // Serve requests for this model until another model is asked for, or idle time passes.
        while let Some(request) = current.take() {
            match request_model(&request) {
                Some(s) if s != &spec => {
                    next = Some(request);
                    break;
                }
                _ => {}
            }
            match request {
                Request::Shutdown => return 0,
                Request::Cancel { .. } => {}
                Request::Devices { id } => out.emit(&Event::Devices { id, devices: devices() }),
                other => session.serve(other),
            }
            current = match requests.recv_timeout(idle_unload) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => {
                    tracing::info!("idle: unloading the model");
                    None
                }
                Err(RecvTimeoutError::Disconnected) => return 0,
            };
        }
    }
}

fn devices() -> Vec<fieldbrief_engine::protocol::Device> {
    use llama_cpp_2::LlamaBackendDeviceType::{Gpu, IntegratedGpu};
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| fieldbrief_engine::protocol::Device {
            gpu: matches!(d.device_type, Gpu | IntegratedGpu),
            name: d.name,
            description: d.description,
            backend: d.backend,
            memory_total: d.memory_total as u64,
            memory_free: d.memory_free as u64,
        })
        .collect()
}

fn request_model(r: &Request) -> Option<&LoadSpec> {
    match r {
        Request::Info { model, .. }
        | Request::Tokenize { model, .. }
        | Request::Generate { model, .. }
        | Request::Bench { model, .. }
        | Request::Smoke { model, .. } => Some(model),
        Request::Devices { .. } | Request::Cancel { .. } | Request::Shutdown => None,
    }
}

/// Reads requests from stdin on its own thread, so a cancellation is seen while the main
/// thread is busy generating.
fn spawn_reader(cancellations: Cancellations, out: Emitter) -> Receiver<Request> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Request>(&line) {
                Ok(Request::Cancel { id }) => {
                    if let Ok(mut set) = cancellations.lock() {
                        set.insert(id);
                    }
                }
                Ok(r) => {
                    if tx.send(r).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    out.error(None, ErrorKind::BadRequest, format!("unreadable request: {e}"))
                }
            }
        }
        // stdin closed: the supervisor is gone.
        let _ = tx.send(Request::Shutdown);
    });
    rx
}
