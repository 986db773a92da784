//! `history`, `ledger report` and `status`, after real summaries.

mod common;
use common::*;

#[test]
fn history_search_show_ledger_and_status() {
    let home = Home::new();
    let pump = home.json(&["summarize", "--json", s(&sample("pump-inspection.md"))]);
    let latin = home.json(&["summarize", "--json", s(&sample("generator-service-latin1.txt"))]);
    home.run(&["summarize", s(&home.write("empty.txt", b""))]);

    let list = home.json(&["history", "list", "--json"]);
    let ids: Vec<i64> =
        list["notes"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        vec![latin["note_id"].as_i64().unwrap(), pump["note_id"].as_i64().unwrap()],
        "newest first"
    );

    let hits = home.json(&["history", "search", "KSB-4471-22B", "--json"]);
    let hit_ids: Vec<i64> =
        hits["hits"].as_array().unwrap().iter().map(|h| h["note_id"].as_i64().unwrap()).collect();
    assert_eq!(hit_ids, vec![pump["note_id"].as_i64().unwrap()]);
    // Latin-1 text was decoded, so its accented words are searchable (diacritics folded).
    let hits = home.json(&["history", "search", "uberlast", "--json"]);
    assert_eq!(hits["hits"][0]["note_id"], latin["note_id"]);
    let none = home.json(&["history", "search", "zebra", "--json"]);
    assert!(none["hits"].as_array().unwrap().is_empty());

    let shown = home.json(&["history", "show", &pump["note_id"].to_string(), "--json"]);
    assert_eq!(shown["summaries"][0]["text"], pump["summary"]);
    assert_eq!(shown["source_kind"], "markdown");
    let shown_latin = home.json(&["history", "show", &latin["note_id"].to_string(), "--json"]);
    assert!(shown_latin["text"].as_str().unwrap().contains("Müller"));
    assert_eq!(shown_latin["encoding"], "windows-1252");

    let report = home.json(&["ledger", "report", "--json"]);
    assert_eq!((report["requests"].as_u64(), report["succeeded"].as_u64()), (Some(3), Some(2)));
    let extractive =
        report["rows"].as_array().unwrap().iter().find(|r| r["route"] == "extractive").unwrap();
    assert_eq!(extractive["requests"], 2);
    assert!(
        extractive["latency_p95_ms"].as_f64().unwrap()
            >= extractive["latency_p50_ms"].as_f64().unwrap()
    );
    let future = home.json(&["ledger", "report", "--since", "2999-01-01", "--json"]);
    assert_eq!(future["requests"], 0);

    let csv = home.run(&["ledger", "report", "--csv"]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("route,model,power_mode,device_class,requests,"));
    // The device class holds commas, so it is quoted.
    assert!(
        lines.any(|l| l.starts_with("extractive,extractive,performance,\"cpu, ")
            && l.contains("on AC\",2,2,0,")),
        "{csv}"
    );

    let status = home.json(&["status", "--json"]);
    assert_eq!(status["counts"]["notes"], 2);
    assert_eq!(status["engine"]["backend"], "cpu");
    assert_eq!(status["cloud"]["enabled"], false);
    assert!(status["active_model"].is_null());

    let human = home.run(&["history", "list"]);
    assert!(String::from_utf8(human.stdout).unwrap().contains("Pump inspection"));
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let home = Home::new();
    let v = home.json(&["summarize", "--json", s(&sample("incident-report-long.md"))]);
    // `history show` prints ~180 KB, more than a pipe holds; the reader leaves at once.
    let mut child = home
        .command(&["history", "show", &v["note_id"].to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn saved_notes_are_summarized_again_deleted_and_rated() {
    let home = Home::new();
    let first = home.json(&["summarize", "--json", s(&sample("pump-inspection.md"))]);
    let id = first["note_id"].to_string();
    let again = home.json(&["summarize", "--json", "--note", &id, "--style", "handover"]);
    assert_eq!(again["note_id"], first["note_id"]);
    assert!(again["summary"].as_str().unwrap().starts_with("Found:"));
    let shown = home.json(&["history", "show", &id, "--json"]);
    assert_eq!(shown["summaries"].as_array().unwrap().len(), 2);

    let ok = home.run(&["ledger", "outcome", first["request_id"].as_str().unwrap(), "rejected"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let report = home.json(&["ledger", "report", "--json"]);
    assert_eq!((report["requests"].as_u64(), report["succeeded"].as_u64()), (Some(2), Some(1)));
    assert_eq!(
        home.run(&["ledger", "outcome", "no-such-request", "accepted"]).status.code(),
        Some(2)
    );

    // The handover summary, corrected by the technician (from stdin), is what history shows.
    let edit = home.run_with_stdin(
        &["ledger", "outcome", again["request_id"].as_str().unwrap(), "edited", "--text", "-"],
        b"Found: bearing worn.\nDone: bearing replaced.\n",
    );
    assert!(edit.status.success(), "{}", String::from_utf8_lossy(&edit.stderr));
    let shown = home.json(&["history", "show", &id, "--json"]);
    let edited = &shown["summaries"][1];
    assert_eq!(edited["text"], "Found: bearing worn.\nDone: bearing replaced.");
    assert_eq!(edited["original_text"], again["summary"], "the engine's text is kept");
    let text = home.run(&["history", "show", &id]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(" · edited "),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    assert_eq!(
        home.run(&["ledger", "outcome", "r", "accepted", "--text", "-"]).status.code(),
        Some(2),
        "--text only with edited"
    );

    assert!(home.run(&["history", "delete", &id]).status.success());
    assert_eq!(home.run(&["history", "show", &id]).status.code(), Some(2));
    assert_eq!(home.run(&["summarize", "--note", &id]).status.code(), Some(2));
    let list = home.json(&["history", "list", "--json"]);
    assert!(list["notes"].as_array().unwrap().is_empty());
}
