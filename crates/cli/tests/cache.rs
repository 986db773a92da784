//! The offline response cache and the fuel ledger through the real binary: exact hits served
//! without running an engine, misses when the producer changes, near-duplicates offered and
//! never served, rejected summaries forgotten, and an aggregate export with no note content.

mod common;

use common::{Home, s, sample, samples, tiny_model};
use fieldbrief_testkit::fake_cloud::{FakeCloud, Fault};
use serde_json::Value;

fn codes(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_same_note_twice_is_served_from_the_cache_and_counted_as_a_hit() {
    let home = Home::new();
    let pump = sample("pump-inspection.md");
    let first = home.json(&["summarize", "--json", s(&pump)]);
    assert_eq!(first["route"], "extractive");
    assert!(first["similar"].is_null());
    let second = home.json(&["summarize", "--json", s(&pump)]);
    assert_eq!(second["route"], "cache", "{second}");
    assert_eq!(codes(&second), ["cache_hit"]);
    assert_eq!(second["summary"], first["summary"], "the same summary");
    assert_eq!(second["cached"]["request_id"], first["request_id"]);
    assert_eq!(second["quality"]["passed"], true);
    assert_ne!(
        second["note_id"], first["note_id"],
        "the note is saved again, as every request's note is"
    );

    // Another style or length is another summary.
    assert_eq!(
        home.json(&["summarize", "--json", "--style", "brief", s(&pump)])["route"],
        "extractive"
    );
    assert_eq!(
        home.json(&["summarize", "--json", "--max-words", "60", s(&pump)])["route"],
        "extractive"
    );
    // A dry run says it would be a hit, and counts nothing.
    let dry = home.json(&["summarize", "--json", "--dry-run", s(&pump)]);
    assert_eq!(dry["route"], "cache");

    let report = home.json(&["ledger", "report", "--json"]);
    assert_eq!(report["cache_hits"], 1);
    assert_eq!(report["requests"], 4);
    let row = report["rows"].as_array().unwrap().iter().find(|r| r["route"] == "cache").unwrap();
    assert_eq!((row["requests"].as_u64(), row["succeeded"].as_u64()), (Some(1), Some(1)));
    let stats = home.json(&["cache", "stats", "--json"]);
    assert_eq!((stats["entries"].as_u64(), stats["hits"].as_u64()), (Some(3), Some(1)));
    let shown = home.json(&["history", "show", &second["note_id"].to_string(), "--json"]);
    assert_eq!(shown["summaries"][0]["route"], "cache");

    // Rejecting the summary the cache served forgets it: the next request runs the engine.
    assert!(
        home.run(&["ledger", "outcome", second["request_id"].as_str().unwrap(), "rejected"])
            .status
            .success()
    );
    assert_eq!(home.json(&["summarize", "--json", s(&pump)])["route"], "extractive");
    // Off in the settings: never served.
    home.config("[cache]\nenabled = false\n");
    assert_eq!(home.json(&["summarize", "--json", s(&pump)])["route"], "extractive");
}

#[test]
fn a_new_cloud_model_or_a_local_model_misses_and_failed_summaries_are_never_cached() {
    let home = Home::new();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    let config = |model: &str| {
        home.config(&format!("[cloud]\nenabled = true\nendpoint = \"{}\"\nmodel = \"{model}\"\nconnect_timeout_secs = 2\n", cloud.endpoint()))
    };
    config("fake-1");
    let pump = home.write(
        "pump.md",
        // (The fake cloud summarizes the first three sentences: the part number is among them,
        // so its summary passes the quality gate.)
        "Pump P-101 inspected on 2026-03-14.\nReplaced bearing P/N 6309-2Z-C3; seal kit to order.\nDischarge pressure 4.2 bar at the outlet.\nBearing temperature 78 °C at the drive end.\n".as_bytes(),
    );
    let first = home.json(&["summarize", "--json", s(&pump)]);
    assert_eq!(first["route"], "cloud", "{first}");
    assert_eq!(first["quality"]["passed"], true, "{first}");
    let connections = cloud.connections();
    let again = home.json(&["summarize", "--json", s(&pump)]);
    assert_eq!(again["route"], "cache");
    assert_eq!(cloud.connections(), connections, "a cache hit costs no cloud request");
    // Denied for this note: a cached cloud summary is not used either.
    assert_ne!(home.json(&["summarize", "--json", "--cloud", "deny", s(&pump)])["route"], "cache");

    // The organisation moves to another model version: the old summaries stop matching.
    config("fake-2");
    let new_model = home.json(&["summarize", "--json", s(&pump)]);
    assert_eq!(new_model["route"], "cloud", "{new_model}");
    assert!(cloud.connections() > connections);

    // A local model whose summaries fail the quality gate (random weights): the model runs
    // both times, because a failed summary is never served again (the extractive summary
    // stands in for it each time).
    let home = Home::new();
    let model = tiny_model(&home);
    let note = home.write("short.md", b"Pump P-101: bearing 78 C, replaced P/N 6309-2Z-C3.\n");
    for _ in 0..2 {
        let v = home.json(&["summarize", "--json", "--model", s(&model), s(&note)]);
        assert_eq!(v["route"], "extractive", "{v}");
        let codes: Vec<&str> =
            v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&"local_retried") && !codes.contains(&"cache_hit"), "{codes:?}");
    }
}

/// Replaces a few words, as a technician does when reusing last week's note.
fn edit(text: &str) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
    let n = words.len();
    for i in [n / 5, n / 2, 4 * n / 5] {
        if let Some(w) = words.get_mut(i) {
            *w = "changed".into();
        }
    }
    words.join(" ")
}

#[test]
fn near_duplicates_are_offered_not_served_and_unrelated_notes_are_not_offered() {
    let home = Home::new();
    let text_samples: Vec<_> =
        samples().into_iter().filter(|p| p.extension().is_some_and(|e| e != "pdf")).collect();
    assert!(text_samples.len() >= 8, "{text_samples:?}");
    // Every sample note, each compared with all those summarized before it: none of them is a
    // near-duplicate of another, so no offer is a false positive.
    let mut offered = 0;
    let mut ids = Vec::new();
    for path in &text_samples {
        let v = home.json(&["summarize", "--json", s(path)]);
        if !v["similar"].is_null() {
            offered += 1;
            eprintln!("false positive: {} ~ {}", path.display(), v["similar"]);
        }
        ids.push(v["note_id"].as_i64().unwrap());
    }
    let pairs = text_samples.len() * (text_samples.len() - 1) / 2;
    eprintln!(
        "near-duplicate threshold {}: {offered} false positives among {} notes ({pairs} pairs)",
        fieldbrief_core::cache::NEAR_THRESHOLD,
        text_samples.len()
    );
    assert_eq!(offered, 0);

    // Each sample with three words changed: offered (pointing at its original), never served.
    let mut found = 0;
    for (path, id) in text_samples.iter().zip(&ids) {
        let text = std::fs::read(path).unwrap();
        let edited = home.write("edited.txt", edit(&String::from_utf8_lossy(&text)).as_bytes());
        let v = home.json(&["summarize", "--json", s(&edited)]);
        assert_ne!(v["route"], "cache", "{}: a near-duplicate must not be served", path.display());
        if v["similar"]["note_id"].as_i64() == Some(*id) {
            found += 1;
            assert!(
                v["similar"]["similarity"].as_f64().unwrap()
                    >= fieldbrief_core::cache::NEAR_THRESHOLD
            );
        }
    }
    eprintln!("near-duplicates offered: {found} of {}", text_samples.len());
    assert_eq!(found, text_samples.len());

    // The human output says so.
    let reworded = edit(&std::fs::read_to_string(sample("pump-inspection.md")).unwrap())
        .replacen("changed", "altered", 1);
    let edited = home.write("edited-pump.md", reworded.as_bytes());
    let out = home.run(&["summarize", s(&edited)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("similar: a very similar note"), "{err}");
}

#[test]
fn the_aggregate_export_has_counts_and_no_note_text_or_hashes() {
    let home = Home::new();
    let mut requests = Vec::new();
    for name in ["pump-inspection.md", "hvac-service.txt", "pump-inspection.md"] {
        requests.push(
            home.json(&["summarize", "--json", s(&sample(name))])["request_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    home.run(&["summarize", s(&home.write("empty.txt", b""))]);
    let out = home.run(&["ledger", "export", "--aggregate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["requests"], 4);
    assert_eq!(v["cache_hits"], 1);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["requests"].as_u64().unwrap()).sum::<u64>(), 4);
    let failed = rows.iter().find(|r| r["route"] == "none").unwrap();
    assert_eq!(failed["error_codes"]["empty"], 1, "{failed}");

    // Nothing of the notes: no words from them, no content hashes, no request ids, no paths.
    let db = home.sqlite();
    let hashes: Vec<String> = db
        .prepare("SELECT content_hash FROM notes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let bodies: Vec<String> = db
        .prepare("SELECT body FROM notes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(hashes.len(), 3);
    for h in &hashes {
        assert!(!text.contains(h.as_str()) && !text.contains(&h[..16]), "a content hash leaked");
    }
    for id in &requests {
        assert!(!text.contains(id.as_str()), "a request id leaked");
    }
    for body in &bodies {
        for word in body
            .split_whitespace()
            .filter(|w| w.len() >= 6 && w.chars().any(|c| c.is_ascii_digit()))
        {
            assert!(!text.contains(word), "note text leaked: {word}");
        }
    }
    for leak in ["KSB-4471", "pump-inspection", "empty.txt", "note_hash", "request_id", "title"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    // Without --aggregate there is no export at all.
    assert_eq!(home.run(&["ledger", "export"]).status.code(), Some(2));
}

#[test]
fn every_ledger_row_has_a_device_class_and_a_cost() {
    let home = Home::new();
    home.config("[cost]\ndevice_watts = 36.0\nenergy_per_kwh = 0.5\n");
    let v = home.json(&["summarize", "--json", s(&sample("incident-report-long.md"))]);
    assert!(v["device_class"].as_str().unwrap().starts_with("cpu"), "{v}");
    assert!(v["device_class"].as_str().unwrap().ends_with("on AC"), "the test trace is on AC: {v}");
    let generate_s = v["timings_ms"]["generate"].as_f64().unwrap() / 1000.0;
    let wh = v["energy_wh"].as_f64().unwrap();
    assert!((wh - 36.0 * generate_s / 3600.0).abs() < 1e-9, "{wh} Wh for {generate_s} s at 36 W");
    assert!((v["cost"].as_f64().unwrap() - wh / 1000.0 * 0.5).abs() < 1e-12);

    // A refused input is a ledger row too, on the same device class.
    assert_eq!(home.run(&["summarize", s(&home.write("empty.txt", b""))]).status.code(), Some(2));
    let report = home.json(&["ledger", "report", "--json"]);
    let refused = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "none")
        .expect("the refused request");
    assert_eq!(refused["device_class"], v["device_class"], "{refused}");
    let row = report["rows"].as_array().unwrap().iter().find(|r| r["route"] != "none").unwrap();
    assert_eq!(row["device_class"], v["device_class"]);
    assert_eq!(row["power_mode"], "performance");
    assert!(
        (row["cost_per_success"].as_f64().unwrap() - v["cost"].as_f64().unwrap()).abs() < 1e-12
    );
    assert_eq!(
        report["trial"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["device_class"] == v["device_class"])
            .count(),
        1
    );

    // On battery, the battery's measured draw prices the energy instead of the setting.
    let trace = home.power_trace(
        r#"{"battery": {"percent": 80, "on_ac": false, "energy_rate_w": 12.0}, "cpu_celsius": 50}"#,
    );
    let out = home
        .command(&["summarize", "--json", s(&sample("pump-inspection.md"))])
        .env("FIELDBRIEF_POWER_TRACE", &trace)
        .output()
        .unwrap();
    let b = common::one_json_object(&out.stdout);
    assert!(b["device_class"].as_str().unwrap().ends_with("battery"), "{b}");
    let generate_s = b["timings_ms"]["generate"].as_f64().unwrap() / 1000.0;
    assert!((b["energy_wh"].as_f64().unwrap() - 12.0 * generate_s / 3600.0).abs() < 1e-9, "{b}");
}

#[test]
fn summarizing_a_saved_note_again_marks_the_last_summary_regenerated_and_bypasses_the_cache() {
    let home = Home::new();
    let first = home.json(&["summarize", "--json", s(&sample("pump-inspection.md"))]);
    let id = first["note_id"].to_string();
    let outcome = |request: &Value| -> String {
        home.sqlite()
            .query_row(
                "SELECT outcome FROM ledger WHERE request_id = ?1",
                [request["request_id"].as_str().unwrap()],
                |r| r.get(0),
            )
            .unwrap()
    };
    // Another style is a new request, not a verdict on the first.
    let brief = home.json(&["summarize", "--json", "--note", &id, "--style", "brief"]);
    assert_eq!(outcome(&first), "pending");
    // The same style again: the first was not the answer.
    let again = home.json(&["summarize", "--json", "--note", &id]);
    assert_eq!(outcome(&first), "regenerated");
    assert_ne!(again["route"], "cache", "a regeneration runs an engine: {again}");
    assert_eq!(outcome(&brief), "pending");
    // A verdict the user gave stands.
    assert!(
        home.run(&["ledger", "outcome", again["request_id"].as_str().unwrap(), "accepted"])
            .status
            .success()
    );
    home.json(&["summarize", "--json", "--note", &id]);
    assert_eq!(outcome(&again), "accepted");
    let report = home.json(&["ledger", "report", "--json"]);
    assert_eq!(
        report["succeeded"].as_u64(),
        Some(3),
        "the regenerated summary is not a success: {report}"
    );
}
