//! Cancellation, alone in its test binary. The tests assert behaviour (the generation stops
//! unfinished, the worker survives); how fast a cancel lands is printed, and measured without
//! competing load by the benchmarks, never asserted as a time here.

mod common;
use common::*;
use fieldbrief_core::Style;
use fieldbrief_core::engine::{Engine, EngineError, SummaryRequest};
use fieldbrief_engine::local::{LocalEngine, LocalModel, LocalSettings};
use fieldbrief_engine::protocol::{Event, LoadSpec, Message, Request, Sampling, StopReason};
use fieldbrief_engine::supervisor::{Supervisor, WorkerCommand};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn worker() -> WorkerCommand {
    WorkerCommand {
        program: env!("CARGO_BIN_EXE_fieldbrief").into(),
        args: vec!["__engine-worker".into()],
    }
}

#[test]
fn cancel_stops_generation_unfinished_and_the_worker_serves_the_next_request() {
    let home = Home::new();
    let path = tiny_model(&home);
    // Greedy decoding without end-of-text and without a layout grammar on random weights: it
    // would run to its 4,000-token limit. (A summary's grammar lets the text end after any
    // bullet, where random weights soon do.)
    let spec = LoadSpec {
        path: path.display().to_string(),
        gpu_layers: Some(0),
        n_ctx: 0,
        threads: 0,
        batch: 0,
        state_dir: None,
    };
    let request = Request::Generate {
        id: "long".into(),
        model: spec,
        messages: vec![Message {
            role: "user".into(),
            content: "Pump P-101 seal replaced; discharge 4.2 bar.".into(),
        }],
        sampling: Sampling::deterministic(4000),
    };
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    let runner = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let mut supervisor = Supervisor::new(worker());
            let mut tokens = 0;
            let result = supervisor.call(&request, Some(&cancel), |_| {
                tokens += 1;
                if tokens == 20 {
                    let _ = tx.send(Instant::now());
                }
            });
            (result.map_err(|e| e.to_string()), Instant::now())
        })
    };
    let generating_at = rx.recv_timeout(Duration::from_secs(60)).expect("generation started");
    let cancelled_at = Instant::now();
    cancel.store(true, Ordering::SeqCst);
    let (result, returned_at) = runner.join().unwrap();
    // Unfinished: a generation that had run to its 4,000-token limit would say max_tokens.
    match result {
        Ok(Event::Done { stats, .. }) => assert_eq!(stats.stop, StopReason::Cancelled, "{stats:?}"),
        other => panic!("{other:?}"),
    }
    let latency = returned_at - cancelled_at;
    eprintln!(
        "cancel landed {latency:?} after the flag was set (target under 100 ms on an idle machine)"
    );
    // Only a guard against a hang: a loaded CI machine must not fail a correct cancel.
    assert!(latency < Duration::from_secs(10), "stopped {latency:?} after the cancel");
    assert!(cancelled_at >= generating_at);

    // The engine: a request while the flag is set is cancelled before it starts; once the
    // owner clears the flag, the same worker serves the next one.
    let model = LocalModel { path, id: "tiny".into(), version: "test".into() };
    let engine = LocalEngine::new(
        worker(),
        model,
        LocalSettings { sampling: Sampling::deterministic(0), ..Default::default() },
    );
    let doc =
        fieldbrief_ingest::from_typed("Pump P-101 seal replaced; discharge 4.2 bar.").unwrap();
    let cancel = engine.cancel_flag();
    assert!(
        engine.summarize(&doc, &SummaryRequest::new(Style::Bullets, Some(8)), &mut |_| {}).is_ok()
    );
    cancel.store(true, Ordering::SeqCst);
    // Same worker process, next request: works once the owner clears the flag (the engine
    // leaves it set, so a cancel that lands between requests is not lost).
    let pid = engine.worker_pid();
    assert!(matches!(
        engine.summarize(&doc, &SummaryRequest::new(Style::Bullets, Some(8)), &mut |_| {}),
        Err(EngineError::Cancelled)
    ));
    cancel.store(false, Ordering::SeqCst);
    let short = SummaryRequest::new(Style::Bullets, Some(8));
    let ok = engine.summarize(&doc, &short, &mut |_| {}).expect("next request");
    assert!(!ok.text.is_empty());
    assert_eq!(engine.worker_pid(), pid, "the worker survived the cancel");
}

#[test]
fn a_prompt_that_starts_like_the_last_one_reuses_its_kv_cache() {
    let home = Home::new();
    let path = tiny_model(&home);
    let mut supervisor = Supervisor::new(worker());
    let spec = LoadSpec {
        path: path.display().to_string(),
        gpu_layers: Some(0),
        n_ctx: 0,
        threads: 0,
        batch: 0,
        state_dir: None,
    };
    let system = Message {
        role: "system".into(),
        content: "You summarize field technicians' notes. ".repeat(8),
    };
    let mut stats = Vec::new();
    for (i, note) in ["Seal replaced on P-101.", "Bearing 78 °C on P-102."].iter().enumerate() {
        let request = Request::Generate {
            id: format!("g{i}"),
            model: spec.clone(),
            messages: vec![
                system.clone(),
                Message { role: "user".into(), content: note.to_string() },
            ],
            sampling: Sampling::deterministic(4),
        };
        match supervisor.call(&request, None, |_| {}).unwrap() {
            Event::Done { stats: s, .. } => stats.push(s),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(stats[0].cached_tokens, 0);
    // The whole system prompt (about 300 byte-level tokens) is reused the second time.
    assert!(stats[1].cached_tokens >= 250, "{:?}", stats[1]);
    assert!(stats[1].cached_tokens < stats[1].prompt_tokens);
}

/// SIGINT, as a terminal sends it. (On Windows Ctrl+C is a console event, which a test cannot
/// send to a process without a console of its own; cancellation itself is tested above.)
#[cfg(unix)]
#[test]
fn ctrl_c_in_the_cli_stops_cleanly_and_is_recorded() {
    let home = Home::new();
    let model = tiny_model(&home);
    let child = home
        .command(&["summarize", "--model", s(&model), s(&sample("incident-report-long.md"))])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for_worker(pid);
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.lines().any(|l| l == "cancelled"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    let code: String = home
        .sqlite()
        .query_row("SELECT error_code FROM ledger ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(code, "cancelled");
}

#[test]
fn the_worker_keeps_the_model_loaded_between_requests_and_unloads_it_when_idle() {
    let home = Home::new();
    let path = tiny_model(&home);
    let command = WorkerCommand {
        program: env!("CARGO_BIN_EXE_fieldbrief").into(),
        args: vec!["__engine-worker".into(), "--idle-secs".into(), "1".into()],
    };
    let mut supervisor = Supervisor::new(command);
    let spec = LoadSpec {
        path: path.display().to_string(),
        gpu_layers: Some(0),
        n_ctx: 0,
        threads: 0,
        batch: 0,
        state_dir: None,
    };
    let mut info = |i: usize| match supervisor.call(
        &Request::Info { id: format!("i{i}"), model: spec.clone() },
        None,
        |_| {},
    ) {
        Ok(Event::Info { model, .. }) => model.load_ms,
        other => panic!("{other:?}"),
    };
    let first = info(0);
    // Asked again at once: the same load (same measured load time).
    assert_eq!(info(1), first);
    // After the idle time the model was unloaded, so this request loads it again.
    std::thread::sleep(Duration::from_millis(1600));
    assert_ne!(info(2), first);
}
