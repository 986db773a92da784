//! The local engine through the real binary: llama.cpp in the worker process, a generated
//! tiny model, corrupt models, a killed worker, long notes in parts, benchmarks.

mod common;
use common::*;
use fieldbrief_gguf::write::corrupt;

#[test]
fn a_tiny_model_summarizes_locally_and_the_ledger_says_which_model() {
    let home = Home::new();
    let model = tiny_model(&home);
    let v = home.json(&[
        "summarize",
        "--json",
        "--model",
        s(&model),
        s(&sample("checklist-short.txt")),
    ]);
    assert_eq!(v["reasons"][0]["code"], "fits_local_context");
    // Random weights write noise: the gate fails it, the model is asked once more, fails
    // again, and the extractive summary stands in. The noise is never the answer.
    let codes: Vec<&str> =
        v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "fits_local_context",
            "quality_gate_failed",
            "local_retried",
            "quality_gate_failed",
            "extractive_after_quality_gate"
        ],
        "{v}"
    );
    assert_eq!(
        (v["route"].as_str(), v["engine"].as_str()),
        (Some("extractive"), Some("extractive"))
    );
    let note = std::fs::read_to_string(sample("checklist-short.txt")).unwrap();
    for line in v["summary"].as_str().unwrap().lines() {
        assert!(
            note.contains(line.trim_start_matches("- ").trim()),
            "not the note's own line: {line:?}"
        );
    }
    // The model that ran is on the record, with the tokens both tries spent.
    assert_eq!(v["model"]["id"], "tiny");
    let version = v["model"]["version"].as_str().unwrap();
    assert_eq!(version.len(), 12);
    assert!(
        v["tokens"]["input"].as_u64().unwrap() > v["document"]["tokens"].as_u64().unwrap() * 2,
        "{}",
        v["tokens"]
    );
    assert!(v["tokens"]["output"].as_u64().unwrap() > 0);

    let (route, model_id, model_version, input, output, engine): (String, String, String, i64, i64, String) = home
        .sqlite()
        .query_row(
            "SELECT route, model_id, model_version, input_tokens, output_tokens, engine FROM ledger WHERE request_id = ?1",
            [v["request_id"].as_str().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(
        (route.as_str(), model_id.as_str(), model_version.as_str(), engine.as_str()),
        ("extractive", "tiny", version, "extractive")
    );
    assert_eq!(
        (input as u64, output as u64),
        (v["tokens"]["input"].as_u64().unwrap(), v["tokens"]["output"].as_u64().unwrap())
    );
}

#[test]
fn corrupt_models_are_refused_with_exit_2_and_the_exact_problem() {
    let home = Home::new();
    let note = sample("checklist-short.txt");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("magic.gguf", corrupt::wrong_magic(), "not a GGUF model: the file starts with \"GGML\""),
        ("cut.gguf", corrupt::truncated(0.5), "truncated: header says 21 tensors, but tensor"),
        (
            "nokey.gguf",
            corrupt::missing_key("llama.context_length"),
            "missing metadata key 'llama.context_length'",
        ),
        ("absurd.gguf", corrupt::absurd_tensor_size(), "tensor 'blk.1.ffn_up.weight'"),
        ("nobytes.gguf", corrupt::without_byte_tokens(), "lacks byte tokens"),
        ("dup.gguf", corrupt::duplicate_token(), "has token"),
        ("empty.gguf", Vec::new(), "not a GGUF model"),
    ];
    for (name, bytes, problem) in cases {
        let path = home.write(name, &bytes);
        for args in
            [vec!["summarize", "--model", s(&path), s(&note)], vec!["models", "import", s(&path)]]
        {
            let out = home.run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            let lines: Vec<&str> = stderr.trim_end().lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
            assert!(
                lines[0].starts_with("error: invalid model file ") && lines[0].contains(name),
                "{stderr}"
            );
            assert!(lines[0].contains(problem), "{args:?}: {stderr}");
        }
    }
    // The note was still saved: the model was refused, not the note.
    let notes: i64 =
        home.sqlite().query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).unwrap();
    assert_eq!(notes, 7);
}

fn summarize_and_kill_worker(home: &Home, model: &std::path::Path) -> serde_json::Value {
    common::summarize_long_note_and_kill_worker(home, &["--model", s(model)])
}

#[test]
fn a_killed_worker_fails_over_cleanly_and_repeated_crashes_quarantine_the_model() {
    let home = Home::new();
    let model = tiny_model(&home);
    let v = summarize_and_kill_worker(&home, &model);
    assert_eq!(v["route"], "extractive", "{v}");
    let failed = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "local_engine_failed")
        .expect("reason");
    assert!(failed["detail"].as_str().unwrap().contains(KILLED), "{failed}");
    assert!(!v["summary"].as_str().unwrap().is_empty(), "the extractive summary stood in");

    // The next request gets a fresh worker, which serves it (its noise then fails the gate).
    let ok = home.json(&[
        "summarize",
        "--json",
        "--model",
        s(&model),
        s(&sample("checklist-short.txt")),
    ]);
    let codes: Vec<&str> =
        ok["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"local_retried") && !codes.contains(&"local_engine_failed"), "{ok}");

    // Three crashes in a row quarantine the model; it is then skipped with the reason shown.
    for _ in 0..3 {
        summarize_and_kill_worker(&home, &model);
    }
    let q = home.json(&[
        "summarize",
        "--json",
        "--model",
        s(&model),
        s(&sample("checklist-short.txt")),
    ]);
    assert_eq!(q["route"], "extractive");
    assert_eq!(q["reasons"][0]["code"], "model_quarantined", "{q}");
    assert!(
        q["reasons"][0]["detail"].as_str().unwrap().contains("crashed the engine 3 times in a row")
    );
}

#[test]
fn a_note_longer_than_the_context_is_summarized_in_parts_with_nothing_dropped() {
    let home = Home::new();
    let model = tiny_model(&home);
    let out = home.run(&[
        "summarize",
        "--json",
        "--model",
        s(&model),
        s(&sample("site-log-multiday.md")),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    // The model read it in parts; its noise fails the gate, and a note in parts is not read
    // again: the extractive summary stands in at once.
    assert_eq!(v["reasons"][0]["code"], "doc_exceeds_local_context");
    let codes: Vec<&str> =
        v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(
        codes.contains(&"extractive_after_quality_gate") && !codes.contains(&"local_retried"),
        "{v}"
    );
    let parts = v["chunks"].as_u64().unwrap();
    assert!(parts >= 2, "{parts}");
    // Progress for every part, in order.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let progress: Vec<&str> = stderr.lines().filter(|l| l.starts_with("parts: ")).collect();
    let want: Vec<String> = (1..=parts).map(|i| format!("parts: {i} of {parts}")).collect();
    assert_eq!(progress, want);
    // Every token of the note went into some part's prompt (plus the prompts' own text).
    let note_tokens = v["document"]["tokens"].as_u64().unwrap();
    assert!(v["tokens"]["input"].as_u64().unwrap() > note_tokens, "{}", v["tokens"]);
}

#[test]
fn models_import_list_use_and_status() {
    let home = Home::new();
    let model = tiny_model(&home);
    let imported = home.json(&["models", "import", s(&model), "--json"]);
    assert_eq!(imported["models"][0]["id"], "tiny");
    assert_eq!(imported["models"][0]["active"], true, "the first import becomes active");
    assert_eq!(imported["models"][0]["info"]["quantization"], "F32");
    let list = home.json(&["models", "list", "--json"]);
    assert_eq!(list["models"].as_array().unwrap().len(), 1);
    let status = home.json(&["status", "--json"]);
    assert_eq!(status["active_model"]["id"], "tiny");
    assert_eq!(status["engine"]["backend"], "cpu");
    assert_eq!(status["engine"]["device"], "CPU");
    let devices = status["engine"]["devices"].as_array().unwrap();
    assert!(devices.iter().any(|d| d["backend"] == "CPU" && d["gpu"] == false), "{devices:?}");
    // With an active model, summarize uses it without --model.
    let v = home.json(&["summarize", "--json", s(&sample("checklist-short.txt"))]);
    assert_eq!(
        (v["reasons"][0]["code"].as_str(), v["model"]["id"].as_str()),
        (Some("fits_local_context"), Some("tiny")),
        "{v}"
    );
    let out = home.run(&["models", "use", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_reports_the_contract_keys() {
    let home = Home::new();
    let model = tiny_model(&home);
    let v = home.json(&[
        "bench",
        "--model",
        s(&model),
        "--prompt-tokens",
        "64",
        "--gen-tokens",
        "16",
        "--threads",
        "1",
        "--json",
    ]);
    for key in ["load_ms", "prompt_tok_s", "gen_tok_s", "ttft_ms", "peak_rss_mib"] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
    assert_eq!(v["threads"], 1);
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["tokens_streamed"], 16, "every generated token crossed the protocol");
}

/// `bench --note` writes the note both ways the engine writes summaries (outlined, the first
/// try; the whole note, the retry), each plainly, with guesses, and with guesses from a warm
/// start; greedy decoding must write the same summary all three times.
#[test]
fn bench_note_measures_both_ways_of_writing_with_and_without_guesses_and_warm() {
    let home = Home::new();
    let model = tiny_model(&home);
    let v = home.json(&[
        "bench",
        "--model",
        s(&model),
        "--prompt-tokens",
        "16",
        "--gen-tokens",
        "4",
        "--threads",
        "1",
        "--note",
        s(&sample("pump-inspection.md")),
        "--json",
    ]);
    let paths = v["note"]["paths"].as_array().unwrap_or_else(|| panic!("{v:#}"));
    let names: Vec<&str> = paths.iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(names, ["outlined", "whole_note"]);
    for p in paths {
        let runs = p["runs"].as_array().unwrap();
        let drafts: Vec<i64> = runs.iter().map(|r| r["draft"].as_i64().unwrap()).collect();
        let warm: Vec<bool> = runs.iter().map(|r| r["warm_start"].as_bool().unwrap()).collect();
        assert_eq!(drafts[0], 0, "{p:#}");
        assert!(drafts[1] > 0 && drafts[2] == drafts[1], "{p:#}");
        assert_eq!(
            warm,
            [false, false, true],
            "the third run restores what the second saved: {p:#}"
        );
        assert_eq!(p["identical"], true, "greedy decoding wrote different summaries: {p:#}");
        for r in runs {
            assert!(r["output_tokens"].as_u64().unwrap() > 0, "{r:#}");
            assert!(r["decode_tok_s"].as_f64().unwrap() > 0.0, "{r:#}");
            assert!(r["accepted"].as_u64().unwrap() <= r["drafted"].as_u64().unwrap(), "{r:#}");
        }
        assert!(
            p["speedup"].as_f64().unwrap() > 0.0
                && p["warm_first_token_ratio"].as_f64().unwrap() > 0.0
        );
    }
}

/// The 32,000-word report needs more parts than one combine prompt holds: the part summaries
/// are combined in rounds, and every round's prompt must fit the context. (Multi-line part
/// summaries were once split into many "parts" whose labels overflowed the prompt, and the
/// request fell back to extractive.)
#[test]
fn a_very_long_note_is_combined_in_rounds_that_fit_the_context() {
    let home = Home::new();
    let model = tiny_model(&home);
    let v = home.json(&[
        "summarize",
        "--json",
        "--model",
        s(&model),
        s(&sample("incident-report-long.md")),
    ]);
    let codes: Vec<&str> =
        v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes[0], "doc_exceeds_local_context", "{v}");
    assert!(!codes.contains(&"local_engine_failed"), "{v}");
    assert!(v["chunks"].as_u64().unwrap() > 20, "{v}");
}

#[test]
fn speculative_decoding_changes_no_token_and_contexts_are_sized_to_the_request() {
    use fieldbrief_engine::protocol::{Event, LoadSpec, Message, Request, Sampling};
    use fieldbrief_engine::supervisor::{Supervisor, WorkerCommand};
    let home = Home::new();
    let path = tiny_model(&home);
    let spec = LoadSpec {
        path: path.display().to_string(),
        gpu_layers: Some(0),
        n_ctx: 0,
        threads: 0,
        batch: 0,
        state_dir: None,
    };
    let mut supervisor = Supervisor::new(WorkerCommand {
        program: env!("CARGO_BIN_EXE_fieldbrief").into(),
        args: vec!["__engine-worker".into()],
    });
    // Random weights run on without an end of text after this prompt (see cancel.rs).
    let note = "Pump P-101 seal replaced; discharge 4.2 bar.";
    let mut run = |draft: u32, tokens: u32| {
        let request = Request::Generate {
            id: format!("d{draft}-{tokens}"),
            model: spec.clone(),
            messages: vec![Message { role: "user".into(), content: note.into() }],
            sampling: Sampling { draft, ..Sampling::deterministic(tokens) },
        };
        let mut pieces = Vec::new();
        match supervisor.call(&request, None, |t| pieces.push(t.to_string())) {
            Ok(Event::Done { stats, .. }) => (pieces.concat(), stats),
            other => panic!("{other:?}"),
        }
    };
    // Random weights fall into loops, which prompt lookup guesses well: the guesses are used,
    // and not one token differs from plain greedy decoding.
    let (plain, plain_stats) = run(0, 300);
    let (fast, stats) = run(8, 300);
    assert_eq!(fast, plain);
    assert_eq!((stats.output_tokens, stats.stop), (plain_stats.output_tokens, plain_stats.stop));
    assert_eq!(plain_stats.drafted_tokens, 0);
    assert!(
        stats.accepted_tokens > 0 && stats.accepted_tokens <= stats.drafted_tokens,
        "{stats:?}"
    );
    // The context holds the prompt and the output asked for, not the model's 2,048-token
    // window... which is also the smallest context made; a request for more than the window
    // is refused, not cut.
    assert_eq!(stats.context_tokens, 2048);
    let request = Request::Generate {
        id: "too-long".into(),
        model: spec.clone(),
        messages: vec![Message { role: "user".into(), content: note.into() }],
        sampling: Sampling::deterministic(4000),
    };
    match supervisor.call(&request, None, |_| {}) {
        Ok(Event::Done { stats, .. }) => assert!(stats.context_tokens <= 2048, "{stats:?}"),
        Ok(Event::Error { kind, .. }) => {
            assert_eq!(kind, fieldbrief_engine::protocol::ErrorKind::ContextOverflow)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_new_worker_starts_warm_from_the_saved_prompt_beginning_and_writes_the_same_text() {
    use fieldbrief_engine::protocol::{
        Event, GenerationStats, LoadSpec, Message, Request, Sampling,
    };
    use fieldbrief_engine::supervisor::{Supervisor, WorkerCommand};
    let home = Home::new();
    let path = tiny_model(&home);
    let state_dir = home.dir.path().join("engine-state");
    let spec = LoadSpec {
        path: path.display().to_string(),
        gpu_layers: Some(0),
        n_ctx: 0,
        threads: 0,
        batch: 0,
        state_dir: Some(state_dir.display().to_string()),
    };
    let instructions =
        "Summarize the technician's note as short bullets. Keep every figure exactly. ".repeat(6);
    // Each request on a new worker: nothing in its KV cache.
    let run = |note: &str| -> (String, GenerationStats) {
        let mut supervisor = Supervisor::new(WorkerCommand {
            program: env!("CARGO_BIN_EXE_fieldbrief").into(),
            args: vec!["__engine-worker".into()],
        });
        let request = Request::Generate {
            id: "w".into(),
            model: spec.clone(),
            messages: vec![
                Message { role: "system".into(), content: instructions.clone() },
                Message { role: "user".into(), content: note.into() },
            ],
            sampling: Sampling::deterministic(40),
        };
        let mut text = String::new();
        match supervisor.call(&request, None, |t| text.push_str(t)) {
            Ok(Event::Done { stats, .. }) => (text, stats),
            other => panic!("{other:?}"),
        }
    };
    let states = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&state_dir)
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "kv"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let note = "Pump P-101 seal replaced; discharge 4.2 bar.";
    let (cold, cold_stats) = run(note);
    assert!(!cold_stats.warm_start);
    let saved = states();
    assert_eq!(saved.len(), 1, "the beginning's state is saved");
    let bytes = std::fs::read(&saved[0]).unwrap();
    let (warm, warm_stats) = run(note);
    assert!(warm_stats.warm_start, "{warm_stats:?}");
    assert!(warm_stats.cached_tokens > 32, "{warm_stats:?}");
    assert_eq!(warm, cold, "a warm start writes what a cold one does");
    // Another note after the same instructions starts warm from the same state: it holds the
    // instructions only, never a note (the note's tokens are all decoded fresh).
    let (_, other) = run("Fan 2 contactor K12 replaced.");
    assert!(other.warm_start);
    assert_eq!(other.cached_tokens, warm_stats.cached_tokens);
    assert!(other.cached_tokens + 8 <= other.prompt_tokens, "{other:?}");
    assert_eq!(states().len(), 1);
    // A state file cut short is not used: a cold start again, the same text, a new state.
    std::fs::write(&saved[0], &bytes[..bytes.len() / 2]).unwrap();
    let (again, again_stats) = run(note);
    assert!(!again_stats.warm_start);
    assert_eq!(again, cold);
    assert!(run(note).1.warm_start);
}
