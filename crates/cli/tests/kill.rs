//! A killed process never corrupts the database, and a note whose summary was interrupted is
//! there on the next run.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// Opened read-write, as the next run opens it: a kill while the database was being created
/// can leave a hot rollback journal, which the next writer rolls back (a read-only reader
/// could not).
fn integrity(home: &Home) -> String {
    let db = rusqlite::Connection::open(home.db()).unwrap();
    db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

fn note_count(home: &Home) -> Option<i64> {
    if !home.db().exists() {
        return None;
    }
    let db = rusqlite::Connection::open_with_flags(
        home.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    db.query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).ok()
}

#[test]
fn sigkill_at_any_moment_leaves_a_sound_database() {
    let home = Home::new();
    let note = sample("incident-report-long.md");
    for delay_ms in [0u64, 1, 3, 7, 15, 30, 60, 120, 250] {
        let mut child = home
            .command(&["summarize", s(&note)])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if home.db().exists() {
            assert_eq!(integrity(&home), "ok", "after a kill at {delay_ms} ms");
        }
    }
    // And the next run works on what is left.
    let out = home.run(&["summarize", "--json", s(&sample("pump-inspection.md"))]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(integrity(&home), "ok");
}

#[test]
fn a_note_killed_mid_summary_is_there_on_the_next_run() {
    let home = Home::new();
    let note = sample("incident-report-long.md");
    // Initialise the database so the first poll sees the schema.
    assert!(home.run(&["status"]).status.success());

    let mut killed_mid_summary = false;
    for _attempt in 0..5 {
        let before = note_count(&home).unwrap();
        let mut child = home
            .command(&["summarize", s(&note)])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while note_count(&home).unwrap_or(before) == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        // The note is committed: kill now, while the summary is being made.
        let finished_already = child.try_wait().unwrap().is_some();
        child.kill().ok();
        child.wait().unwrap();
        if !finished_already {
            let summaries: i64 = home
                .sqlite()
                .query_row("SELECT count(*) FROM summaries", [], |r| r.get(0))
                .unwrap();
            if summaries == 0 {
                killed_mid_summary = true;
                break;
            }
        }
    }
    assert!(
        killed_mid_summary,
        "could not catch the process between saving the note and storing the summary"
    );
    assert_eq!(integrity(&home), "ok");

    let list = home.json(&["history", "list", "--json"]);
    let notes = list["notes"].as_array().unwrap();
    assert!(!notes.is_empty());
    let interrupted = &notes[0];
    assert_eq!(interrupted["summaries"], 0);
    let shown = home.json(&["history", "show", &interrupted["id"].to_string(), "--json"]);
    let original = std::fs::read_to_string(&note).unwrap();
    assert_eq!(
        shown["text"].as_str().unwrap().split_whitespace().collect::<Vec<_>>(),
        original.split_whitespace().collect::<Vec<_>>(),
        "the saved note is the whole note"
    );
}
