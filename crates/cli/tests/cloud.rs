//! Hybrid routing through the real binary: a loopback OpenAI-compatible server stands in for
//! the cloud (fault modes, connection counting), power traces stand in for the battery.

mod common;

use common::{Home, s, sample, tiny_model};
use fieldbrief_testkit::fake_cloud::{FakeCloud, Fault};
use serde_json::Value;
use std::time::{Duration, Instant};

const NOTE: &str = "Pump P-101 inspected on 2026-03-14 by Jo (jo.smith@acme-water.co.uk, +44 20 7946 0958).\n\
Discharge pressure 4.2 bar at the outlet.\n\
Bearing temperature 78 °C at the drive end.\n\
Replaced bearing P/N 6309-2Z-C3; seal kit to order for SITE-0042.\n";

fn cloud_config(home: &Home, cloud: &FakeCloud, extra: &str) {
    home.config(&format!(
        "[cloud]\nenabled = true\nendpoint = \"{}\"\nmodel = \"fake-1\"\nconnect_timeout_secs = 1\nfirst_byte_timeout_secs = 1\n\
         total_timeout_secs = 3\nmax_retries = 1\nmax_retry_after_secs = 2\n{extra}",
        cloud.endpoint()
    ));
}

fn codes(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

fn note(home: &Home) -> std::path::PathBuf {
    home.write("pump.md", NOTE.as_bytes())
}

#[test]
fn the_cloud_sees_only_redacted_text_and_the_summary_gets_the_originals_back() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "[cloud.redact]\nsite = 'SITE-\\d{4}'\n");
    let v = home.json(&["summarize", "--json", s(&note(&home))]);
    assert_eq!(v["route"], "cloud", "{v}");
    assert_eq!(codes(&v), ["no_local_model", "cloud_permitted"]);
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("jo.smith@acme-water.co.uk") && summary.contains("+44 20 7946 0958"),
        "{summary}"
    );
    assert!(!summary.contains("[EMAIL_1]"), "{summary}");
    assert_eq!(v["connectivity"]["state"], "online");
    assert!(v["cloud_tokens"]["input"].as_u64().unwrap() > 0);

    let sent: Vec<String> = cloud.requests().into_iter().map(|r| r.body).collect();
    let chat = sent.iter().find(|b| b.contains("messages")).expect("a chat request");
    for secret in ["jo.smith", "7946", "SITE-0042"] {
        assert!(!sent.iter().any(|b| b.contains(secret)), "{secret} left the laptop: {chat}");
    }
    assert!(
        chat.contains("[EMAIL_1]") && chat.contains("[PHONE_1]") && chat.contains("[SITE_1]"),
        "{chat}"
    );
    assert!(
        chat.contains("4.2 bar") && chat.contains("6309-2Z-C3"),
        "facts must still be sent: {chat}"
    );

    let db = home.sqlite();
    let (engine, route, cloud_in, conn): (String, String, i64, String) = db
        .query_row("SELECT engine, route, cloud_input_tokens, connectivity FROM ledger", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!((engine.as_str(), route.as_str()), ("cloud", "cloud"));
    assert!(cloud_in > 0 && conn.contains("online"), "{cloud_in} {conn}");
    // The key is never stored: there is none here, and nothing in the database looks like one.
    let dump: i64 = db
        .query_row("SELECT count(*) FROM settings WHERE value LIKE '%sk-%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dump, 0);
}

#[test]
fn the_api_key_from_the_environment_is_sent_and_never_stored() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "");
    let out = home
        .command(&["summarize", "--json", s(&note(&home))])
        .env("FIELDBRIEF_CLOUD_API_KEY", "sk-field-123")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        cloud.requests().iter().any(|r| r.authorization.as_deref() == Some("Bearer sk-field-123"))
    );
    let db = std::fs::read(home.db()).unwrap();
    let wal = std::fs::read(home.path().join("fieldbrief.sqlite3-wal")).unwrap_or_default();
    let needle = b"sk-field-123";
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sk-field-123"));
}

#[test]
fn every_cloud_fault_ends_in_a_summary_made_here_with_the_reason_recorded() {
    let faults = [
        (Fault::TimeoutBeforeHeaders, "cloud_timeout_first_byte"),
        (Fault::ServerError, "cloud_gave_up"),
        (Fault::RateLimited { retry_after_s: 1 }, "cloud_gave_up"),
        (Fault::MalformedSse, "cloud_malformed"),
        (Fault::SlowDrip, "cloud_timeout_total"),
        (Fault::DisconnectMidStream, "cloud_disconnected"),
        (Fault::Unauthorized, "cloud_http_error"),
    ];
    for (fault, code) in faults {
        let home = Home::new();
        let cloud = FakeCloud::start(&[], fault);
        cloud_config(&home, &cloud, "");
        let started = Instant::now();
        let out = home.run(&["summarize", "--json", s(&note(&home))]);
        assert!(out.status.success(), "{fault:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{fault:?} took {:?}",
            started.elapsed()
        );
        let v = common::one_json_object(&out.stdout);
        assert_eq!(v["route"], "extractive", "{fault:?}: {v}");
        assert!(codes(&v).contains(&"cloud_failed".to_string()), "{fault:?}: {v}");
        assert!(!v["summary"].as_str().unwrap().is_empty());
        let recorded: String =
            home.sqlite().query_row("SELECT error_code FROM ledger", [], |r| r.get(0)).unwrap();
        assert_eq!(recorded, code, "{fault:?}");
        assert!(
            cloud.requests().iter().any(|r| r.path.ends_with("/chat/completions")),
            "{fault:?}: the cloud was not tried"
        );
    }
}

#[test]
fn no_connection_at_all_when_the_cloud_is_off_the_note_is_kept_or_denied() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    let model = tiny_model(&home);
    let long = sample("incident-report-long.md");
    let short = note(&home);

    // Queue two refinements while "offline", with the cloud allowed.
    cloud_config(&home, &cloud, "");
    let queued = home.json(&["summarize", "--json", "--offline", s(&long)]);
    assert_eq!(
        (queued["route"].as_str(), queued["interim_route"].as_str()),
        (Some("deferred"), Some("extractive")),
        "{queued}"
    );
    let kept = home.json(&["summarize", "--json", "--offline", s(&short)]);
    assert_eq!(kept["route"], "deferred");
    let kept_id = kept["note_id"].as_i64().unwrap().to_string();
    assert_eq!(cloud.connections(), 0, "offline means no probe either");

    // 1. The note is marked "keep on this device", and new notes are kept or denied.
    assert!(home.run(&["history", "keep", &kept_id, "on"]).status.success());
    for args in [
        vec!["summarize", "--json", "--keep-on-device", s(&long)],
        vec!["summarize", "--json", "--cloud", "deny", s(&long)],
        // The tiny model's noise fails the quality gate: with the note denied it stays flagged.
        vec!["summarize", "--json", "--cloud", "deny", "--model", s(&model), s(&short)],
    ] {
        let v = home.json(&args);
        assert_ne!(v["route"], "cloud", "{args:?}: {v}");
        assert_eq!(v["connectivity"]["state"], "not_probed", "{args:?}");
    }
    let gated =
        home.json(&["summarize", "--json", "--cloud", "deny", "--model", s(&model), s(&short)]);
    assert!(codes(&gated).contains(&"quality_gate_failed".to_string()), "{gated}");
    let run = home.json_array(&["deferred", "run", "--json"]);
    let states: Vec<&str> =
        run.as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
    // The kept note's job is dropped unsent; the other one is sent (the cloud is on for it).
    assert!(states.contains(&"dropped"), "{run}");
    let after_kept = cloud.connections();
    let bodies: Vec<String> = cloud.requests().into_iter().map(|r| r.body).collect();
    assert!(!bodies.iter().any(|b| b.contains("Bearing temperature 78")), "a kept note was sent");

    // 2. Cloud escalation switched off (after one more refinement was queued): nothing,
    // whatever the path.
    assert_eq!(home.json(&["summarize", "--json", "--offline", s(&long)])["route"], "deferred");
    home.config(&format!(
        "[cloud]\nenabled = false\nendpoint = \"{}\"\nmodel = \"fake-1\"\n",
        cloud.endpoint()
    ));
    for args in [
        vec!["summarize", "--json", s(&long)],
        vec!["summarize", "--json", "--model", s(&model), s(&short)],
        vec!["summarize", "--json", "--cloud", "allow", s(&long)],
        vec!["status", "--json"],
        vec!["summarize", "--json", "--dry-run", s(&long)],
    ] {
        let v = home.json(&args);
        assert_ne!(v["route"], "cloud", "{args:?}");
    }
    let run = home.json_array(&["deferred", "run", "--json"]);
    assert_eq!(run[0]["state"], "dropped", "{run}");
    assert!(run[0]["detail"].as_str().unwrap().contains("cloud escalation is off"));
    assert_eq!(cloud.connections(), after_kept, "the cloud was contacted while switched off");
}

#[test]
fn a_refinement_queued_offline_runs_when_the_network_returns_across_restarts() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "");
    let v = home.json(&["summarize", "--json", "--offline", s(&note(&home))]);
    assert_eq!(v["route"], "deferred");
    assert!(codes(&v).contains(&"deferred_refinement".to_string()));
    let id = v["note_id"].as_i64().unwrap();
    let pending = home.json_array(&["deferred", "list", "--json"]);
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(cloud.connections(), 0);

    // "Work offline" keeps it waiting without a probe.
    cloud_config(&home, &cloud, "work_offline = true\n");
    let run = home.json_array(&["deferred", "run", "--json"]);
    assert_eq!(run[0]["state"], "waiting");
    assert_eq!(cloud.connections(), 0);

    cloud_config(&home, &cloud, "");
    let status = home.json(&["status", "--json"]);
    assert_eq!(status["cloud"]["deferred_pending"], 1);
    let run = home.json_array(&["deferred", "run", "--json"]);
    assert_eq!(run[0]["state"], "done", "{run}");
    let shown = home.json(&["history", "show", &id.to_string(), "--json"]);
    let routes: Vec<&str> = shown["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["deferred", "cloud"]);
    assert!(home.json_array(&["deferred", "list", "--json"]).as_array().unwrap().is_empty());
    // The interim summary's request now says it was escalated.
    let outcome: String = home
        .sqlite()
        .query_row(
            "SELECT outcome FROM ledger WHERE request_id = ?1",
            [v["request_id"].as_str().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(outcome, "escalated");
}

#[test]
fn a_local_summary_that_fails_the_quality_gate_escalates_when_allowed() {
    let home = Home::new();
    let model = tiny_model(&home);
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "");
    let v = home.json(&["summarize", "--json", "--model", s(&model), s(&note(&home))]);
    assert_eq!(v["route"], "cloud", "{v}");
    let c = codes(&v);
    assert!(
        c.contains(&"quality_gate_failed".into())
            && c.contains(&"escalated_after_quality_gate".into()),
        "{c:?}"
    );

    // The cloud fails too: the model is asked once more on the device, and when that fails
    // the gate as well, the extractive summary stands in; the failed text is never shown.
    let cloud = FakeCloud::start(&[], Fault::ServerError);
    cloud_config(&home, &cloud, "");
    let v = home.json(&["summarize", "--json", "--model", s(&model), s(&note(&home))]);
    assert_eq!(v["route"], "extractive", "{v}");
    assert_eq!(v["engine"], "extractive");
    let c = codes(&v);
    for code in
        ["quality_gate_failed", "cloud_failed", "local_retried", "extractive_after_quality_gate"]
    {
        assert!(c.contains(&code.into()), "{code}: {c:?}");
    }
    // The model whose summaries failed stays on the record, for its fallback rate.
    assert_eq!(v["model"]["id"], "tiny", "{v}");
}

#[test]
fn dry_run_shows_the_exact_redacted_request_and_sends_nothing() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "");
    let v = home.json(&["summarize", "--json", "--dry-run", s(&note(&home))]);
    assert_eq!(v["route"], "cloud");
    let user =
        v["preview"]["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap();
    assert!(user.contains("[EMAIL_1]") && !user.contains("jo.smith"), "{user}");
    assert_eq!(v["preview"]["redactions"][0]["placeholder"], "[EMAIL_1]");
    assert!(v["preview"]["redactions"][0].get("original").is_none());
    let human = home.run(&["summarize", "--dry-run", s(&note(&home))]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("[PHONE_1]"));
    assert_eq!(cloud.connections(), 0);
}

#[test]
fn power_traces_change_the_mode_the_engine_settings_and_the_route() {
    let home = Home::new();
    let model = tiny_model(&home);
    let long = sample("incident-report-long.md");
    let falling = "{\"battery\": {\"percent\": 40, \"on_ac\": false, \"energy_rate_w\": 11}, \"cpu_celsius\": 55}\n\
                   {\"battery\": {\"percent\": 21, \"on_ac\": false}, \"cpu_celsius\": 55}\n\
                   {\"battery\": {\"percent\": 15, \"on_ac\": false}, \"cpu_celsius\": 56}\n";
    let run = |trace: &str, args: &[&str]| -> Value {
        let out = home
            .command(args)
            .env("FIELDBRIEF_POWER_TRACE", home.power_trace(trace))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        common::one_json_object(&out.stdout)
    };
    let route = |trace: &str| {
        run(trace, &["summarize", "--json", "--dry-run", "--model", s(&model), s(&long)])
    };

    let st = run(common::AC_COOL, &["status", "--json"]);
    assert_eq!(st["power"]["mode"], "performance");
    let perf = st["engine"]["profile"].clone();
    assert_eq!(route(common::AC_COOL)["route"], "local-chunked");

    let st = run(falling, &["status", "--json"]);
    assert_eq!(st["power"]["mode"], "saver", "{}", st["power"]);
    assert_eq!(st["power"]["snapshot"]["battery"]["percent"], 15.0);
    let saver = st["engine"]["profile"].clone();
    assert_eq!(saver["max_gpu_layers"], 0);
    assert!(saver["batch"].as_u64() < perf["batch"].as_u64(), "{saver} vs {perf}");
    let r = route(falling);
    assert_eq!(r["route"], "extractive", "{r}");
    assert!(codes(&r).contains(&"power_mode_limits_local".to_string()));

    // Hysteresis across runs: 25 % after saver stays saver; the same reading fresh is balanced.
    let at_25 = "{\"battery\": {\"percent\": 25, \"on_ac\": false}, \"cpu_celsius\": 50}\n";
    assert_eq!(run(at_25, &["status", "--json"])["power"]["mode"], "saver");
    // Thermal throttling on AC.
    let hot = "{\"battery\": {\"percent\": 90, \"on_ac\": true}, \"cpu_celsius\": 96}\n";
    assert_eq!(run(hot, &["status", "--json"])["power"]["mode"], "saver");
    // AC restored and cool: performance again, and the long note is summarized locally.
    assert_eq!(run(common::AC_COOL, &["status", "--json"])["power"]["mode"], "performance");
    assert_eq!(route(common::AC_COOL)["route"], "local-chunked");
    let fresh = Home::new();
    let out = fresh
        .command(&["status", "--json"])
        .env("FIELDBRIEF_POWER_TRACE", fresh.power_trace(at_25))
        .output()
        .unwrap();
    assert_eq!(common::one_json_object(&out.stdout)["power"]["mode"], "balanced");
}

#[test]
fn a_bad_power_trace_is_a_clear_error() {
    let home = Home::new();
    let out = home
        .command(&["status"])
        .env("FIELDBRIEF_POWER_TRACE", home.power_trace("{\"battery\": 3}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: power trace") && err.contains("line 1"), "{err}");
}

#[test]
fn a_note_denied_or_kept_once_never_leaves_the_laptop_when_summarized_again() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "");
    for first in [&["--cloud", "deny"][..], &["--keep-on-device"][..]] {
        let mut args = vec!["summarize", "--json"];
        args.extend(first);
        let path = note(&home);
        args.push(s(&path));
        let v = home.json(&args);
        assert_ne!(v["route"], "cloud", "{args:?}: {v}");
        let id = v["note_id"].as_i64().unwrap().to_string();
        // Summarized again, plainly or asking for the cloud: the stored flag stands.
        for again in [vec!["--note", &id], vec!["--note", &id, "--cloud", "allow"]] {
            let mut args = vec!["summarize", "--json", "--style", "brief"];
            args.extend(again);
            let v = home.json(&args);
            assert_ne!(v["route"], "cloud", "{args:?}: {v}");
            assert_eq!(v["connectivity"]["state"], "not_probed", "{args:?}: {v}");
        }
        let shown = home.json(&["history", "show", &id, "--json"]);
        assert_eq!(shown["keep_on_device"], true, "{shown}");
    }
    // An earlier note summarized plainly, then again with "keep on this device" (the app's
    // checkbox on "Summarize again"): from then on it stays.
    let v = home.json(&["summarize", "--json", "--offline", s(&note(&home))]);
    let id = v["note_id"].as_i64().unwrap().to_string();
    home.json(&["summarize", "--json", "--note", &id, "--keep-on-device", "--offline"]);
    let v = home.json(&["summarize", "--json", "--note", &id, "--style", "handover"]);
    assert_ne!(v["route"], "cloud", "{v}");
    // Its refinement, queued before it was kept, is dropped unsent.
    let run = home.json_array(&["deferred", "run", "--json"]);
    assert!(run.as_array().unwrap().iter().all(|r| r["state"] == "dropped"), "{run}");
    assert_eq!(cloud.connections(), 0, "a denied or kept note reached the cloud");
}

#[test]
fn one_request_sends_to_the_cloud_at_most_once() {
    // The router picks the cloud (preferred); it answers garbage; the tiny model's summary on
    // the device then fails the quality gate: that is no reason to send the note again.
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::MalformedSse);
    cloud_config(&home, &cloud, "\n[routing]\nprefer = \"cloud\"\n");
    let model = tiny_model(&home);
    let v = home.json(&["summarize", "--json", "--model", s(&model), s(&note(&home))]);
    let c = codes(&v);
    assert!(c.contains(&"cloud_failed".to_string()), "{v}");
    assert!(!c.contains(&"escalated_after_quality_gate".to_string()), "{v}");
    let chats = cloud.requests().iter().filter(|r| r.path.ends_with("/chat/completions")).count();
    assert_eq!(chats, 1, "{v}");
}

#[test]
fn the_preview_shows_what_an_escalation_would_send_when_the_cloud_is_allowed() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    cloud_config(&home, &cloud, "");
    let model = tiny_model(&home);
    // The router keeps this note on the device, but a summary that fails the quality gate
    // would go to the cloud: the preview says exactly what, and when.
    let v = home.json(&["summarize", "--json", "--dry-run", "--model", s(&model), s(&note(&home))]);
    assert_eq!(v["route"], "local", "{v}");
    assert_eq!(v["preview"]["when"], "if_quality_gate_fails", "{v}");
    let user =
        v["preview"]["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap();
    assert!(user.contains("[EMAIL_1]") && !user.contains("jo.smith"), "{user}");
    // Kept on this device, nothing could leave: no preview.
    let kept = home.json(&[
        "summarize",
        "--json",
        "--dry-run",
        "--keep-on-device",
        "--model",
        s(&model),
        s(&note(&home)),
    ]);
    assert!(kept["preview"].is_null(), "{kept}");
    assert_eq!(cloud.connections(), 0);
}

#[test]
fn the_engine_worker_never_sees_the_cloud_api_key_or_other_credentials() {
    let home = Home::new();
    let model = tiny_model(&home);
    let long = sample("incident-report-long.md");
    let child = home
        .command(&["summarize", "--json", "--model", s(&model), s(&long)])
        .env("FIELDBRIEF_CLOUD_API_KEY", "sk-never-in-the-worker-123456")
        .env("OTHER_SERVICE_TOKEN", "tok-never-in-the-worker")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let worker = common::wait_for_worker(child.id());
    let environ = std::fs::read(format!("/proc/{worker}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Read after the worker's exec (its own variable is there), and nothing secret with it.
    assert!(environ.contains("GGML_NO_BACKTRACE=1"), "{environ}");
    assert!(environ.contains("FIELDBRIEF_HOME="), "{environ}");
    assert!(!environ.contains("never-in-the-worker"), "{environ}");
}
