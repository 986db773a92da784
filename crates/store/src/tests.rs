use super::*;
use fieldbrief_core::ledger::Timings;
use fieldbrief_core::quality::Check;
use fieldbrief_core::route::ReasonCode;
use fieldbrief_core::{SourceKind, Style};

fn doc(text: &str) -> Document {
    Document {
        kind: SourceKind::Markdown,
        name: "pump.md".into(),
        path: Some("/notes/pump.md".into()),
        text: text.into(),
        original_bytes: text.len() as u64,
        encoding: "UTF-8".into(),
        pages: None,
        notices: vec!["decoded as windows-1252 (not UTF-8)".into()],
    }
}

fn entry(request_id: &str, note_id: Option<i64>) -> Entry {
    Entry {
        note_id,
        note_hash: Some("abc".into()),
        input_bytes: 120,
        input_tokens: 30,
        output_tokens: 12,
        route: Some(Route::Extractive),
        reasons: vec![Reason { code: ReasonCode::NoLocalModel, detail: "none installed".into() }],
        engine: Some("extractive".into()),
        prompt_version: Some("textrank-1".into()),
        timings: Timings {
            ingest: 1.5,
            save_note: 2.0,
            route: 0.1,
            generate: 7.25,
            store: 3.0,
            total: 14.0,
            first_token: 0.5,
            drafted: 40,
            accepted: 29,
        },
        quality: Some(Verdict {
            passed: true,
            checks: vec![Check {
                name: "non_empty".into(),
                passed: true,
                detail: "12 words".into(),
            }],
        }),
        status: Status::Ok,
        length_from: Some(fieldbrief_core::engine::LengthFrom::Note),
        ..Entry::started(request_id.into(), "2026-11-21T10:00:00Z".into(), Style::Handover, 180)
    }
}

#[test]
fn migrations_are_valid_and_apply_to_an_empty_file_once() {
    Migrations::new(migrations()).validate().unwrap();
    assert_eq!(migrations().len(), SCHEMA_VERSION);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldbrief.sqlite3");
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    store.insert_note(&doc("kept across reopen"), "2026-11-21T09:00:00Z").unwrap();
    drop(store);
    let again = Store::open(&path).unwrap();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(again.counts().unwrap().notes, 1);
    assert_eq!(again.integrity_check().unwrap(), "ok");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldbrief.sqlite3");
    std::fs::write(&path, "this is a text file, not SQLite ".repeat(200)).unwrap();
    let err = Store::open(&path).err().expect("must fail").to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("not a database"), "{err}");
}

#[test]
fn note_summary_and_ledger_round_trip() {
    let mut store = Store::open_in_memory().unwrap();
    let note_id = store
        .insert_note(&doc("# Pump P-101\nSeal replaced, 4.2 bar."), "2026-11-21T09:00:00Z")
        .unwrap();
    let e = entry("req-1", Some(note_id));
    let summary = NewSummary {
        note_id,
        route: Route::Extractive,
        engine: "extractive",
        text: "- Seal replaced, 4.2 bar.",
    };
    store.record_summary(&summary, &e).unwrap();

    let note = store.note(note_id).unwrap().unwrap();
    assert_eq!(note.title, "Pump P-101");
    assert_eq!(note.source_path.as_deref(), Some("/notes/pump.md"));
    assert_eq!(note.notices, vec!["decoded as windows-1252 (not UTF-8)".to_string()]);
    assert_eq!(note.summaries.len(), 1);
    assert_eq!(note.summaries[0].text, "- Seal replaced, 4.2 bar.");
    assert_eq!(note.summaries[0].request_id, "req-1");
    assert_eq!(store.ledger(None).unwrap(), vec![e.clone()]);
    assert_eq!(store.ledger_entry("req-1").unwrap(), Some(e.clone()));
    assert_eq!(store.ledger_entry("req-2").unwrap(), None);
    assert_eq!(store.counts().unwrap(), Counts { notes: 1, summaries: 1, requests: 1 });

    let listed = store.list_notes(10, 0).unwrap();
    assert_eq!((listed[0].id, listed[0].summaries, listed[0].words), (note_id, 1, 7));
    assert!(store.note(note_id + 100).unwrap().is_none());

    assert!(store.set_outcome("req-1", Outcome::Accepted).unwrap());
    assert!(!store.set_outcome("no-such-request", Outcome::Accepted).unwrap());
    assert_eq!(store.ledger(None).unwrap()[0].outcome, Outcome::Accepted);
}

#[test]
fn summary_and_ledger_commit_together_or_not_at_all() {
    let mut store = Store::open_in_memory().unwrap();
    let note_id = store.insert_note(&doc("note"), "2026-11-21T09:00:00Z").unwrap();
    // A ledger row with this request id already exists, so the second insert fails...
    store.record_failure(&entry("dup", Some(note_id))).unwrap();
    let summary = NewSummary { note_id, route: Route::Extractive, engine: "extractive", text: "s" };
    assert!(store.record_summary(&summary, &entry("dup", Some(note_id))).is_err());
    // ...and takes the summary with it.
    assert_eq!(store.counts().unwrap(), Counts { notes: 1, summaries: 0, requests: 1 });
}

#[test]
fn failed_requests_are_ledger_rows_without_a_route() {
    let store = Store::open_in_memory().unwrap();
    let mut e = entry("bad-pdf", None);
    e.route = None;
    e.reasons.clear();
    e.engine = None;
    e.quality = None;
    e.status = Status::Failed;
    e.error_code = Some("pdf_no_text".into());
    e.error = Some("reading scan.pdf: no text layer".into());
    store.record_failure(&e).unwrap();
    assert_eq!(store.ledger(None).unwrap(), vec![e]);
}

#[test]
fn ledger_since_filters_by_time() {
    let store = Store::open_in_memory().unwrap();
    let mut old = entry("old", None);
    old.created_at = "2026-01-01T00:00:00Z".into();
    store.record_failure(&old).unwrap();
    store.record_failure(&entry("new", None)).unwrap();
    let ids: Vec<String> =
        store.ledger(Some("2026-06-01")).unwrap().into_iter().map(|e| e.request_id).collect();
    assert_eq!(ids, vec!["new".to_string()]);
    assert_eq!(store.ledger(None).unwrap().len(), 2);
}

#[test]
fn search_finds_words_numbers_codes_and_summaries() {
    let mut store = Store::open_in_memory().unwrap();
    let pump = store
        .insert_note(
            &doc("Pump P-101: bearing P/N 6205-2RS replaced, 4.2 bar, fault E104. Überlast reset."),
            "2026-11-20T09:00:00Z",
        )
        .unwrap();
    let hvac = store
        .insert_note(&doc("Rooftop unit RTU-3 filters changed."), "2026-11-21T09:00:00Z")
        .unwrap();
    let s = NewSummary {
        note_id: hvac,
        route: Route::Extractive,
        engine: "extractive",
        text: "- Compressor contactor worn",
    };
    store.record_summary(&s, &entry("r", Some(hvac))).unwrap();

    let ids =
        |q: &str| store.search(q, 10).unwrap().into_iter().map(|h| h.note_id).collect::<Vec<_>>();
    assert_eq!(ids("bearing"), vec![pump]);
    assert_eq!(ids("6205-2RS"), vec![pump]);
    assert_eq!(ids("4.2 bar"), vec![pump]);
    assert_eq!(ids("E104"), vec![pump]);
    assert_eq!(ids("uberlast"), vec![pump], "diacritics are folded");
    assert_eq!(ids("bear*"), vec![pump]);
    assert_eq!(ids("contactor"), vec![hvac]);
    assert_eq!(store.search("contactor", 10).unwrap()[0].matched_in, "summary");
    assert!(ids("bearing contactor").is_empty(), "all words must match");
    assert!(store.search("bearing", 10).unwrap()[0].snippet.contains("[bearing]"));
    // Query syntax typed by a person is text, not syntax.
    for q in ["\"", "AND", "NEAR(", "a OR", "col:x", "-x", "^x"] {
        assert!(
            store.search(q, 10).is_ok() || matches!(store.search(q, 10), Err(Error::BadQuery(_))),
            "{q}"
        );
    }
    assert!(matches!(store.search(" ?! ", 10), Err(Error::BadQuery(_))));
}

#[test]
fn an_edited_summary_replaces_the_text_everywhere_keeps_the_engines_and_marks_the_request_edited() {
    let mut store = Store::open_in_memory().unwrap();
    let note_id = store
        .insert_note(&doc("Rooftop unit RTU-3 filters changed."), "2026-11-21T09:00:00Z")
        .unwrap();
    let s = NewSummary {
        note_id,
        route: Route::Local,
        engine: "local",
        text: "- Compressor contactor worn",
    };
    store.record_summary(&s, &entry("r1", Some(note_id))).unwrap();

    assert!(
        store
            .edit_summary(
                "r1",
                "- Filters changed; contactor K2 pitted, replace next visit",
                "2026-11-21T10:00:00Z"
            )
            .unwrap()
    );
    assert!(
        store
            .edit_summary(
                "r1",
                "- Filters changed; contactor K2 pitted, replace at next visit",
                "2026-11-21T10:05:00Z"
            )
            .unwrap()
    );
    let saved = &store.note(note_id).unwrap().unwrap().summaries[0];
    assert_eq!(saved.text, "- Filters changed; contactor K2 pitted, replace at next visit");
    assert_eq!(
        saved.original_text.as_deref(),
        Some("- Compressor contactor worn"),
        "the engine's first text is kept, not an earlier edit"
    );
    assert_eq!(saved.edited_at.as_deref(), Some("2026-11-21T10:05:00Z"));
    assert_eq!(store.ledger(None).unwrap()[0].outcome, Outcome::Edited);
    // Search follows the edit.
    let ids =
        |q: &str| store.search(q, 10).unwrap().into_iter().map(|h| h.note_id).collect::<Vec<_>>();
    assert_eq!(ids("K2"), vec![note_id]);
    assert!(ids("worn").is_empty(), "the replaced words are no longer found");

    assert!(!store.edit_summary("no-such-request", "x", "2026-11-21T10:00:00Z").unwrap());
}

#[test]
fn settings_upsert() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.setting("k").unwrap(), None);
    store.set_setting("k", "1").unwrap();
    store.set_setting("k", "2").unwrap();
    assert_eq!(store.setting("k").unwrap().as_deref(), Some("2"));
}

#[test]
fn a_version_1_database_is_upgraded_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        Migrations::new(migrations()[..1].to_vec()).to_latest(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO notes (created_at, source_kind, source_name, title, body, content_hash, original_bytes, est_tokens, encoding)
             VALUES ('2026-01-01T00:00:00.000000Z', 'typed', 'typed note', 'Old', 'Old note body', 'h', 13, 4, 'UTF-8')",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.list_notes(10, 0).unwrap()[0].title, "Old");
    assert!(store.drafts().unwrap().is_empty());
    assert_eq!(store.search("body", 5).unwrap().len(), 1, "the FTS index survived the upgrade");
}

#[test]
fn version_9_rewrites_stored_text_in_nfc_and_search_finds_either_form() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.sqlite3");
    let decomposed = "Pre\u{301}-check of the \u{FB01}lter at the Cafe\u{301} site";
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        Migrations::new(migrations()[..8].to_vec()).to_latest(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO notes (created_at, source_kind, source_name, title, body, content_hash, original_bytes, est_tokens, encoding)
             VALUES ('2026-01-01T00:00:00.000000Z', 'typed', 'typed note', ?1, ?1, ?2, 13, 4, 'UTF-8')",
            rusqlite::params![decomposed, fieldbrief_core::document::content_hash(decomposed)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO summaries (note_id, request_id, created_at, style, max_words, route, engine, prompt_version, body)
             VALUES (1, 'r', '2026-01-01T00:00:00Z', 'brief', 50, 'extractive', 'extractive', 'p1', ?1)",
            [decomposed],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO notes (created_at, source_kind, source_name, title, body, content_hash, original_bytes, est_tokens, encoding)
             VALUES ('2026-01-01T00:00:00.000000Z', 'typed', 'typed note', 'ascii', 'ascii only', 'kept', 10, 3, 'UTF-8')",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO drafts (updated_at, body) VALUES ('t', ?1)", [decomposed])
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let composed = "Pré-check of the filter at the Café site";
    let note = store.note(1).unwrap().unwrap();
    assert_eq!((note.text.as_str(), note.title.as_str()), (composed, composed));
    assert_eq!(note.content_hash, fieldbrief_core::document::content_hash(composed));
    assert_eq!(note.summaries[0].text, composed);
    let untouched: String = store
        .conn
        .query_row("SELECT content_hash FROM notes WHERE id = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(untouched, "kept", "a row already in NFC is not rewritten");
    assert_eq!(store.drafts().unwrap()[0].body, composed);
    for query in ["café", "cafe\u{301}", "filter", "pré-check"] {
        assert!(!store.search(query, 5).unwrap().is_empty(), "{query:?} finds the note");
    }
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn drafts_are_saved_replaced_listed_and_deleted() {
    let store = Store::open_in_memory().unwrap();
    let id = store.save_draft(None, "Pump P-1", "2026-11-21T10:00:00.000000Z").unwrap();
    assert_eq!(
        store.save_draft(Some(id), "Pump P-101 seal", "2026-11-21T10:00:05.000000Z").unwrap(),
        id
    );
    let other = store.save_draft(None, "HVAC", "2026-11-21T09:00:00.000000Z").unwrap();
    let drafts = store.drafts().unwrap();
    assert_eq!(
        drafts.iter().map(|d| (d.id, d.body.as_str())).collect::<Vec<_>>(),
        vec![(id, "Pump P-101 seal"), (other, "HVAC")]
    );
    assert!(store.delete_draft(id).unwrap());
    assert!(!store.delete_draft(id).unwrap());
    // Saving to a deleted draft's id brings it back rather than losing the text.
    store.save_draft(Some(id), "typed after delete", "2026-11-21T10:01:00.000000Z").unwrap();
    assert_eq!(store.drafts().unwrap().len(), 2);
}

#[test]
fn deleting_a_note_removes_its_summaries_and_search_entries_but_keeps_ledger_counts() {
    let mut store = Store::open_in_memory().unwrap();
    let note_id =
        store.insert_note(&doc("Bearing replaced on P-101."), "2026-11-21T09:00:00Z").unwrap();
    let s = NewSummary {
        note_id,
        route: Route::Extractive,
        engine: "extractive",
        text: "- Bearing replaced",
    };
    store.record_summary(&s, &entry("r1", Some(note_id))).unwrap();
    assert!(store.delete_note(note_id).unwrap());
    assert!(!store.delete_note(note_id).unwrap());
    assert!(store.note(note_id).unwrap().is_none());
    assert!(store.search("bearing", 5).unwrap().is_empty());
    assert_eq!(store.counts().unwrap(), Counts { notes: 0, summaries: 0, requests: 1 });
    assert_eq!(store.ledger(None).unwrap()[0].note_id, None);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn every_older_schema_version_upgrades_with_its_notes() {
    for version in 1..SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            Migrations::new(migrations()[..version].to_vec()).to_latest(&mut conn).unwrap();
            conn.execute(
                "INSERT INTO notes (created_at, source_kind, source_name, title, body, content_hash, original_bytes, est_tokens, encoding)
                 VALUES ('2026-01-01T00:00:00.000000Z', 'typed', 'typed note', 'Old', 'Old note body', 'h', 13, 4, 'UTF-8')",
                [],
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION, "from version {version}");
        assert_eq!(store.list_notes(10, 0).unwrap()[0].title, "Old", "from version {version}");
        let mut e = entry(&format!("r{version}"), Some(1));
        e.device_class = Some("cpu, 16 GiB, on AC".into());
        store
            .record_summary(
                &NewSummary {
                    note_id: 1,
                    route: Route::Extractive,
                    engine: "extractive",
                    text: "s",
                },
                &e,
            )
            .unwrap();
        assert_eq!(
            store.ledger(None).unwrap()[0].device_class.as_deref(),
            Some("cpu, 16 GiB, on AC")
        );
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }
}

fn cache_entry<'a>(
    key: &'a str,
    request_id: &'a str,
    sig: &'a fieldbrief_core::cache::Signature,
) -> NewCacheEntry<'a> {
    NewCacheEntry {
        key,
        note_hash: "h",
        note_id: None,
        note_title: "Pump P-101",
        style: "bullets",
        max_words: 150,
        producer: "extractive:1",
        prompt_version: "textrank-1",
        route: "extractive",
        engine: "extractive",
        model: None,
        request_id,
        summary: "- Bearing replaced",
        signature: sig,
    }
}

const PUMP: &str = "Pump P-101 inspected. Discharge pressure 4.2 bar at the outlet. Bearing temperature 78 C at the drive end. \
Replaced bearing P/N 6309-2Z-C3 and the coupling insert. Seal kit to order. Next inspection in three months.";

#[test]
fn cache_hits_count_and_survive_reopening() {
    use fieldbrief_core::cache::signature;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    let sig = signature(PUMP);
    {
        let mut store = Store::open(&path).unwrap();
        store.cache_put(&cache_entry("k1", "r1", &sig), "2026-11-21T10:00:00.000000Z", 10).unwrap();
        assert!(store.cache_get("k2", "2026-11-21T10:00:01.000000Z", None).unwrap().is_none());
    }
    let store = Store::open(&path).unwrap();
    let hit = store
        .cache_get("k1", "2026-11-21T10:00:02.000000Z", Some("r2"))
        .unwrap()
        .expect("survives a restart");
    assert_eq!((hit.summary.as_str(), hit.hits), ("- Bearing replaced", 0));
    let again = store.cache_peek("k1").unwrap().unwrap();
    assert_eq!(again.hits, 1);
    assert_eq!(again.last_used_at, "2026-11-21T10:00:02.000000Z");
    assert_eq!(store.cache_peek("k1").unwrap().unwrap().hits, 1, "a peek counts nothing");
    assert_eq!(store.cache_stats().unwrap().entries, 1);
    // Served again to r3; rejecting the summary served to r2 (not the latest) forgets the entry.
    store.cache_get("k1", "2026-11-21T10:00:05.000000Z", Some("r3")).unwrap().unwrap();
    assert_eq!(store.cache_forget_request("r2").unwrap(), 1);
    assert!(store.cache_peek("k1").unwrap().is_none());
}

#[test]
fn the_least_recently_used_entries_go_first_over_the_cap() {
    use fieldbrief_core::cache::signature;
    let mut store = Store::open_in_memory().unwrap();
    let sigs: Vec<_> =
        (0..4).map(|i| signature(&format!("note number {i} about pump {i}"))).collect();
    for (i, sig) in sigs.iter().enumerate().take(3) {
        store
            .cache_put(
                &cache_entry(&format!("k{i}"), &format!("r{i}"), sig),
                &format!("2026-11-21T10:00:0{i}.000000Z"),
                3,
            )
            .unwrap();
    }
    // k0 is used, so k1 is now the least recently used.
    store.cache_get("k0", "2026-11-21T10:00:05.000000Z", None).unwrap().unwrap();
    store.cache_put(&cache_entry("k3", "r3", &sigs[3]), "2026-11-21T10:00:06.000000Z", 3).unwrap();
    let present: Vec<bool> =
        (0..4).map(|i| store.cache_peek(&format!("k{i}")).unwrap().is_some()).collect();
    assert_eq!(present, [true, false, true, true]);
    let buckets: i64 =
        store.conn.query_row("SELECT count(*) FROM cache_buckets", [], |r| r.get(0)).unwrap();
    assert_eq!(
        buckets as usize,
        3 * fieldbrief_core::cache::BANDS,
        "an evicted entry takes its buckets"
    );
}

#[test]
fn near_duplicates_are_found_and_unrelated_notes_are_not() {
    use fieldbrief_core::cache::{NEAR_THRESHOLD, signature};
    let mut store = Store::open_in_memory().unwrap();
    let sig = signature(PUMP);
    store.cache_put(&cache_entry("k1", "r1", &sig), "2026-11-21T10:00:00.000000Z", 10).unwrap();
    let edited = PUMP.replace("78 C", "81 C").replace("three months", "six weeks");
    let found = store.cache_similar(&signature(&edited), NEAR_THRESHOLD, 3, &|_| true).unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        found[0].similarity >= NEAR_THRESHOLD && found[0].similarity < 1.0,
        "{}",
        found[0].similarity
    );
    assert!(
        store
            .cache_similar(&signature(&edited), NEAR_THRESHOLD, 3, &|e| e.style == "brief")
            .unwrap()
            .is_empty(),
        "filtered out"
    );
    let other = "Generator G2 serviced: oil and filters changed, coolant topped up, load bank test at 80 % for one hour passed.";
    assert!(
        store.cache_similar(&signature(other), NEAR_THRESHOLD, 3, &|_| true).unwrap().is_empty()
    );
}

#[test]
fn deleting_a_note_deletes_what_the_cache_kept_of_it() {
    use fieldbrief_core::cache::signature;
    let mut store = Store::open_in_memory().unwrap();
    let id = store.insert_note(&doc(PUMP), "2026-11-21T10:00:00.000000Z").unwrap();
    let sig = signature(PUMP);
    let mut e = cache_entry("k1", "r1", &sig);
    e.note_id = Some(id);
    store.cache_put(&e, "2026-11-21T10:00:00.000000Z", 10).unwrap();
    assert!(store.delete_note(id).unwrap());
    assert!(store.cache_peek("k1").unwrap().is_none());
    assert!(store.cache_similar(&sig, 0.5, 3, &|_| true).unwrap().is_empty());
}

#[test]
fn a_deferred_job_is_claimed_by_one_runner_at_a_time() {
    let store = Store::open_in_memory().unwrap();
    let note = store.insert_note(&doc("Pump note"), "2026-11-21T10:00:00.000000Z").unwrap();
    let job = store
        .enqueue_deferred(note, "r1", Style::Bullets, 100, "2026-11-21T10:00:00.000000Z")
        .unwrap();
    assert!(
        store
            .claim_deferred(job, "2026-11-21T10:00:01.000000Z", "2026-11-21T10:05:01.000000Z")
            .unwrap()
    );
    assert!(
        !store
            .claim_deferred(job, "2026-11-21T10:00:02.000000Z", "2026-11-21T10:05:02.000000Z")
            .unwrap(),
        "held"
    );
    // A lease left by a killed runner expires.
    assert!(
        store
            .claim_deferred(job, "2026-11-21T10:06:00.000000Z", "2026-11-21T10:11:00.000000Z")
            .unwrap()
    );
    store.release_deferred(job).unwrap();
    assert!(
        store
            .claim_deferred(job, "2026-11-21T10:06:01.000000Z", "2026-11-21T10:11:01.000000Z")
            .unwrap()
    );
    store.finish_deferred(job, "done", "r2", "2026-11-21T10:06:02.000000Z").unwrap();
    assert!(
        !store
            .claim_deferred(job, "2026-11-21T10:20:00.000000Z", "2026-11-21T10:25:00.000000Z")
            .unwrap(),
        "done"
    );
}

/// Every byte of the database and its WAL, for looking for text that must not be there.
fn on_disk(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(PathBuf::from(wal)).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_deleted_note_leaves_no_text_in_the_file_the_wal_or_the_search_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldbrief.sqlite3");
    let store = Store::open(&path).unwrap();
    // Enough notes that the secret one's pages are not the last ones (which a plain delete
    // could happen to truncate away).
    for i in 0..40 {
        store
            .insert_note(
                &doc(&format!("routine visit {i}: filters changed")),
                "2026-11-21T09:00:00Z",
            )
            .unwrap();
    }
    let secret = "Customer Hollowmere gate code 4711-QX, alarm disarmed by Ivo";
    let id = store.insert_note(&doc(secret), "2026-11-21T09:01:00Z").unwrap();
    for i in 40..80 {
        store
            .insert_note(&doc(&format!("routine visit {i}: belts checked")), "2026-11-21T09:02:00Z")
            .unwrap();
    }
    assert!(contains(&on_disk(&path), "Hollowmere"), "the test would prove nothing");
    assert!(store.delete_note(id).unwrap());
    let bytes = on_disk(&path);
    for word in ["Hollowmere", "hollowmere", "4711-QX", "Ivo"] {
        assert!(!contains(&bytes, word), "{word:?} is still on disk after the delete");
    }
    // The search index forgot it too, and the rest is intact.
    assert!(store.search("hollowmere", 10).unwrap().is_empty());
    assert_eq!(store.search("belts", 100).unwrap().len(), 40);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[cfg(unix)]
#[test]
fn the_database_is_readable_by_its_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let path = dir.path().join("fieldbrief.sqlite3");
    let store = Store::open(&path).unwrap();
    store.insert_note(&doc("private"), "2026-11-21T09:00:00Z").unwrap();
    assert_eq!(mode(&path), 0o600);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    assert_eq!(mode(Path::new(&wal)), 0o600);
    drop(store);
    // A file an older version left world-readable is made private when opened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = Store::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
}
