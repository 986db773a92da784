//! `fieldbrief eval`: the starter set through the routes, scores, skipped routes and the
//! baseline comparison that catches a regression.

mod common;

use common::{Home, s, tiny_model};
use serde_json::Value;
use std::path::PathBuf;

fn starter_set() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/eval/set.jsonl")
}

#[test]
fn the_starter_set_runs_extractive_and_a_baseline_catches_a_regression() {
    let home = Home::new();
    let set = starter_set();
    let lines =
        std::fs::read_to_string(&set).unwrap().lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines >= 30, "the starter set has {lines} cases");

    let saved = home.path().join("baseline.json");
    let v = home.json(&["eval", s(&set), "--routes", "extractive", "--save", s(&saved), "--json"]);
    let report = &v["report"];
    assert_eq!(report["cases"].as_u64(), Some(lines as u64));
    let ex = &report["routes"][0];
    assert_eq!(ex["route"], "extractive");
    assert_eq!((ex["cases"].as_u64(), ex["failed"].as_u64()), (Some(lines as u64), Some(0)));
    let rouge = ex["rouge_l"].as_f64().unwrap();
    let recall = ex["key_fact_recall"].as_f64().unwrap();
    assert!(rouge > 0.1 && rouge < 1.0, "{rouge}");
    assert!(recall > 0.3 && recall <= 1.0, "{recall}");
    // The extractive summarizer never exceeds the budget.
    assert_eq!(ex["length_compliance"].as_f64(), Some(1.0));
    assert_eq!(report["runs"].as_array().unwrap().len(), lines);
    assert!(v["regressions"].as_array().unwrap().is_empty());
    // Nothing of an evaluation lands in history or the ledger.
    assert_eq!(home.json(&["status", "--json"])["counts"]["requests"], 0);

    // The same run against its own baseline: no regression.
    let again = home.run(&["eval", s(&set), "--routes", "extractive", "--baseline", s(&saved)]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let table = String::from_utf8_lossy(&again.stdout);
    assert!(table.contains("ROUGE-L") && table.contains("extractive"), "{table}");

    // A baseline that was better: the drop is reported and the command fails.
    let mut better: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    better["routes"][0]["rouge_l"] = Value::from(rouge + 0.1);
    std::fs::write(&saved, better.to_string()).unwrap();
    let worse = home.run(&["eval", s(&set), "--routes", "extractive", "--baseline", s(&saved)]);
    assert_eq!(worse.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&worse.stdout).contains("REGRESSION extractive rouge_l"));
    assert!(String::from_utf8_lossy(&worse.stderr).starts_with("error: 1 score(s) fell"));
}

#[test]
fn routes_that_cannot_run_say_why_and_a_local_model_is_scored() {
    let home = Home::new();
    let set = home.write(
        "set.jsonl",
        br#"{"id":"pump","style":"bullets","max_words":40,"note":"Pump P-101: bearing 78 C, replaced P/N 6309-2Z-C3. Alarm E-104 cleared.","reference":"- Bearing 78 C; replaced P/N 6309-2Z-C3\n- E-104 cleared","key_facts":["P/N 6309-2Z-C3","E-104"]}"#,
    );
    let v = home.json(&["eval", s(&set), "--json"]);
    let skipped = &v["report"]["skipped"];
    assert!(skipped["local"].as_str().unwrap().contains("no local model"), "{v}");
    assert!(skipped["cloud"].as_str().unwrap().contains("off"), "{v}");
    assert_eq!(v["report"]["routes"].as_array().unwrap().len(), 1);

    let model = tiny_model(&home);
    let v = home.json(&["eval", s(&set), "--routes", "local", "--model", s(&model), "--json"]);
    let local = &v["report"]["routes"][0];
    assert_eq!(local["route"], "local", "{v}");
    assert_eq!(local["failed"], 0);
    // Random weights: the model's summaries are noise, so on the device (as for a real
    // request) the extractive summary stands in, and the report says the model served none.
    let run = &v["report"]["runs"][0];
    assert_eq!(run["served_by"], "extractive", "{v}");
    assert_eq!(local["served_share"].as_f64(), Some(0.0), "{v}");
    assert!(run["summary"].as_str().unwrap().contains("P/N 6309-2Z-C3"), "{v}");

    for (bad, expected) in [(&b"{not json"[..], "line 1"), (&b""[..], "no cases")] {
        let path = home.write("bad.jsonl", bad);
        let out = home.run(&["eval", s(&path)]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: ") && err.contains(expected), "{err}");
    }
    let out = home.run(&["eval", s(&set), "--routes", "telepathy"]);
    assert_eq!(out.status.code(), Some(2));
}
