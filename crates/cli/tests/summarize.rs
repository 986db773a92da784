//! `fieldbrief summarize` against the contract, from the outside.

mod common;
use common::*;

#[test]
fn every_sample_gives_a_contract_json_summary_that_is_stored_with_its_ledger_row() {
    let home = Home::new();
    let samples = samples();
    assert!(samples.len() >= 9, "{samples:?}");
    for path in &samples {
        let v = home.json(&["summarize", "--json", s(path)]);
        let name = path.display();
        assert_eq!(v["route"], "extractive", "{name}");
        let reasons = v["reasons"].as_array().expect("reasons");
        assert!(
            !reasons.is_empty()
                && reasons.iter().all(|r| r["code"].is_string() && r["detail"].is_string()),
            "{name}"
        );
        assert!(v["summary"].as_str().is_some_and(|t| !t.trim().is_empty()), "{name}");
        assert!(v["model"].is_null(), "{name}");
        assert!(
            v["tokens"]["input"].as_u64().unwrap() > 0
                && v["tokens"]["output"].as_u64().unwrap() > 0,
            "{name}"
        );
        assert!(v["timings_ms"]["total"].as_f64().unwrap() > 0.0, "{name}");
        assert_eq!(v["quality"]["passed"], true, "{name}: {}", v["quality"]);
        assert!(
            v["quality"]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["name"].is_string() && c["passed"].is_boolean())
        );
        let request_id = v["request_id"].as_str().expect("request_id");
        let note_id = v["note_id"].as_i64().expect("note_id");

        let db = home.sqlite();
        let body: String = db
            .query_row("SELECT body FROM notes WHERE id = ?1", [note_id], |r| r.get(0))
            .expect("note row");
        assert!(!body.is_empty());
        let (route, status, ledger_note, reasons_json): (String, String, i64, String) = db
            .query_row(
                "SELECT route, status, note_id, reasons FROM ledger WHERE request_id = ?1",
                [request_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("ledger row");
        assert_eq!(
            (route.as_str(), status.as_str(), ledger_note),
            ("extractive", "ok", note_id),
            "{name}"
        );
        assert!(reasons_json.contains("no_local_model"));
        let stored: String = db
            .query_row("SELECT body FROM summaries WHERE request_id = ?1", [request_id], |r| {
                r.get(0)
            })
            .expect("summary row");
        assert_eq!(stored, v["summary"].as_str().unwrap());
    }
}

#[test]
fn human_output_puts_only_the_summary_on_stdout() {
    let home = Home::new();
    let out = home.run(&["summarize", s(&sample("hvac-service.txt"))]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.lines().all(|l| l.starts_with("- ")), "{stdout}");
    assert!(stderr.contains("extractive") && stderr.contains("why:"), "{stderr}");
}

#[test]
fn stdin_style_and_word_budget() {
    let home = Home::new();
    let note = std::fs::read(sample("shift-handover.md")).unwrap();
    let out = home.run_with_stdin(
        &["summarize", "-", "--style", "handover", "--max-words", "60", "--json"],
        &note,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Found:") && summary.contains("\nDone:") && summary.contains("\nOpen:"),
        "{summary}"
    );
    let words = summary.split_whitespace().filter(|w| *w != "-").count();
    assert!(words <= 60, "{words} words");
    assert_eq!(v["document"]["kind"], "stdin");
}

#[test]
fn dry_run_explains_and_keeps_nothing() {
    let home = Home::new();
    let v = home.json(&[
        "summarize",
        "--dry-run",
        "--json",
        "--cloud",
        "deny",
        s(&sample("pump-inspection.md")),
    ]);
    assert_eq!(v["route"], "extractive");
    assert!(v["summary"].is_null());
    let codes: Vec<&str> =
        v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["no_local_model", "cloud_denied_for_note"]);
    let counts: (i64, i64) = home
        .sqlite()
        .query_row("SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM ledger)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(counts, (0, 0));
}
