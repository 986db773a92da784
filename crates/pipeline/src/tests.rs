use super::*;
use fieldbrief_core::engine::SummaryRequest;
use fieldbrief_core::ledger::Status;
use fieldbrief_core::route::ReasonCode;
use fieldbrief_store::Counts;
use fieldbrief_testkit::samples::samples_dir;

fn open(dir: &tempfile::TempDir) -> Fieldbrief {
    Fieldbrief::open(Some(dir.path().join("home"))).unwrap()
}

fn codes(r: &SummaryReport) -> Vec<ReasonCode> {
    r.reasons.iter().map(|x| x.code).collect()
}

#[test]
fn a_sample_note_becomes_a_stored_summary_with_a_ledger_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let r = fb
        .summarize(
            Input::Path(samples_dir().join("pump-inspection.md")),
            &SummarizeOptions::default(),
        )
        .unwrap();
    assert_eq!(r.route, Route::Extractive);
    assert_eq!(codes(&r), vec![ReasonCode::NoLocalModel, ReasonCode::CloudDisabled]);
    assert!(r.quality.as_ref().unwrap().passed);
    let summary = r.summary.clone().unwrap();
    assert!(!summary.is_empty());

    let note = fb.note(r.note_id.unwrap()).unwrap();
    assert_eq!(note.summaries.len(), 1);
    assert_eq!(note.summaries[0].text, summary);
    assert_eq!(note.summaries[0].request_id, r.request_id);
    let entries = fb.ledger_entries(None).unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (e.request_id.as_str(), e.route, e.status),
        (r.request_id.as_str(), Some(Route::Extractive), Status::Ok)
    );
    assert_eq!(e.note_id, r.note_id);
    assert_eq!(e.note_hash.as_deref(), Some(note.content_hash.as_str()));
    assert_eq!(e.prompt_version.as_deref(), Some(fieldbrief_extractive::ALGORITHM_VERSION));
    assert_eq!(e.engine.as_deref(), Some("extractive"));
    assert!(e.timings.total >= e.timings.generate && e.timings.generate > 0.0);
    assert_eq!(e.output_tokens, r.tokens.output);
}

#[test]
fn refused_input_saves_no_note_but_leaves_a_failed_ledger_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, fieldbrief_testkit::pdf::without_text(2)).unwrap();
    let err = fb.summarize(Input::Path(path), &SummarizeOptions::default()).unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(
        err.to_string().contains("it is a scan (images only); ") && err.to_string().contains("OCR"),
        "{err}"
    );
    assert!(fb.history(10).unwrap().is_empty());
    let entries = fb.ledger_entries(None).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].status, entries[0].error_code.as_deref(), entries[0].route),
        (Status::Failed, Some("pdf_no_text"), None)
    );
}

#[test]
fn dry_run_decides_but_saves_and_summarizes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let opts = SummarizeOptions { dry_run: true, ..Default::default() };
    let r = fb.summarize(Input::Typed("Seal replaced on pump P-101.".into()), &opts).unwrap();
    assert_eq!(r.route, Route::Extractive);
    assert!(r.summary.is_none() && r.note_id.is_none() && r.dry_run);
    assert_eq!(fb.status().unwrap().counts, Counts { notes: 0, summaries: 0, requests: 0 });
}

#[test]
fn cloud_reasons_follow_settings_and_the_per_note_choice() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // The same note again and again: the cache would answer it, and this test is about routing.
    let no_cache = "[cache]\nenabled = false\n";
    std::fs::write(home.join("config.toml"), no_cache).unwrap();
    let text = || Input::Typed("Bearing noise at 7.1 mm/s.".into());
    let mut fb = Fieldbrief::open(Some(home.clone())).unwrap();
    let deny = SummarizeOptions { cloud: Some(CloudChoice::Deny), ..Default::default() };
    assert_eq!(codes(&fb.summarize(text(), &deny).unwrap())[1], ReasonCode::CloudDeniedForNote);
    // `--cloud allow` cannot switch on what the settings keep off.
    let allow = SummarizeOptions { cloud: Some(CloudChoice::Allow), ..Default::default() };
    assert_eq!(codes(&fb.summarize(text(), &allow).unwrap())[1], ReasonCode::CloudDisabled);
    std::fs::write(home.join("config.toml"), format!("{no_cache}[cloud]\nenabled = true\n"))
        .unwrap();
    let mut fb = Fieldbrief::open(Some(home.clone())).unwrap();
    assert_eq!(codes(&fb.summarize(text(), &allow).unwrap())[1], ReasonCode::CloudNotConfigured);

    std::fs::write(home.join("config.toml"), format!("{no_cache}[cloud]\nenabled = true\nendpoint = \"https://llm.example/v1\"\nmodel = \"m\"\n")).unwrap();
    let mut fb = Fieldbrief::open(Some(home)).unwrap();
    let offline = SummarizeOptions { offline: true, ..Default::default() };
    assert_eq!(codes(&fb.summarize(text(), &offline).unwrap())[1], ReasonCode::Offline);
    assert_eq!(codes(&fb.summarize(text(), &deny).unwrap())[1], ReasonCode::CloudDeniedForNote);
}

#[test]
fn settings_choose_the_default_style_and_bad_settings_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.toml"), "[summary]\nstyle = \"handover\"\n").unwrap();
    let mut fb = Fieldbrief::open(Some(home.clone())).unwrap();
    let r = fb
        .summarize(
            Input::Typed("Seal replaced. Pump needs a new coupling.".into()),
            &Default::default(),
        )
        .unwrap();
    assert_eq!(r.style, Style::Handover);
    assert!(r.summary.unwrap().starts_with("Found:"));

    std::fs::write(home.join("config.toml"), "[summary]\nstyle = 3\n").unwrap();
    let err = Fieldbrief::open(Some(home)).err().unwrap();
    assert!(err.is_bad_input());
    assert!(err.to_string().contains("config.toml"), "{err}");
}

#[test]
fn since_accepts_dates_and_times_in_any_offset_and_orders_like_the_ledger() {
    assert_eq!(parse_since("2026-05-14").unwrap().0, "2026-05-14T00:00:00.000000Z");
    assert_eq!(parse_since("2026-05-14T10:30:00+02:00").unwrap().0, "2026-05-14T08:30:00.000000Z");
    assert!(parse_since("last week").unwrap_err().is_bad_input());
    assert!(parse_since("2026-13-01").is_err());
    assert_eq!(now().len(), "2026-05-14T08:30:00.000000Z".len());

    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    fb.summarize(Input::Typed("Seal replaced on pump P-101.".into()), &Default::default()).unwrap();
    let created = fb.ledger_entries(None).unwrap()[0].created_at.clone();
    assert_eq!(fb.ledger_entries(Some(&Since(created.clone()))).unwrap().len(), 1, "inclusive");
    assert!(fb.ledger_entries(Some(&parse_since("2999-01-01").unwrap())).unwrap().is_empty());
}

#[test]
fn unreadable_config_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("config.toml")).unwrap();
    let err = Fieldbrief::open(Some(home)).err().unwrap();
    assert!(err.is_bad_input(), "{err}");
}

#[test]
fn a_draft_becomes_a_note_once_and_a_saved_note_is_summarized_again_without_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let draft = fb.save_draft(None, "Pump P-101 seal").unwrap();
    assert_eq!(fb.save_draft(Some(draft), "Pump P-101 seal replaced, 4.2 bar.").unwrap(), draft);
    let r = fb.summarize(Input::Draft(draft), &Default::default()).unwrap();
    assert!(fb.drafts().unwrap().is_empty(), "the draft became the note");
    let note = r.note_id.unwrap();
    assert_eq!(fb.note(note).unwrap().text, "Pump P-101 seal replaced, 4.2 bar.");

    let again = SummarizeOptions { style: Some(Style::Brief), ..Default::default() };
    let r2 = fb.summarize(Input::Saved(note), &again).unwrap();
    assert_eq!(r2.note_id, Some(note));
    assert_eq!(fb.history(10).unwrap().len(), 1, "no second copy of the note");
    assert_eq!(fb.note(note).unwrap().summaries.len(), 2);

    assert!(matches!(
        fb.summarize(Input::Saved(999), &Default::default()),
        Err(Error::NoSuchNote(999))
    ));
    assert!(matches!(
        fb.summarize(Input::Draft(999), &Default::default()),
        Err(Error::NoSuchDraft(999))
    ));
}

#[test]
fn an_edited_summary_is_what_history_shows_and_the_cache_no_longer_serves_the_engines() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let path = samples_dir().join("pump-inspection.md");
    let first = fb.summarize(Input::Path(path.clone()), &SummarizeOptions::default()).unwrap();
    let engine_text = first.summary.clone().unwrap();
    assert!(
        fb.edit_summary(&first.request_id, "   ").unwrap_err().is_bad_input(),
        "an empty edit is refused"
    );
    assert!(fb.edit_summary("no-such-request", "x").unwrap_err().is_bad_input());
    fb.edit_summary(&first.request_id, "  - Bearing replaced; vibration back to 2.1 mm/s.\n")
        .unwrap();

    let note = fb.note(first.note_id.unwrap()).unwrap();
    assert_eq!(note.summaries[0].text, "- Bearing replaced; vibration back to 2.1 mm/s.");
    assert_eq!(note.summaries[0].original_text.as_deref(), Some(engine_text.as_str()));
    let e = fb
        .ledger_entries(None)
        .unwrap()
        .into_iter()
        .find(|e| e.request_id == first.request_id)
        .unwrap();
    assert_eq!(e.outcome, fieldbrief_core::ledger::Outcome::Edited);

    // The same file again: not the engine's text from the cache, which the technician corrected.
    let again = fb.summarize(Input::Path(path), &SummarizeOptions::default()).unwrap();
    assert_ne!(again.route, Route::Cache, "{:?}", codes(&again));
}

#[test]
fn feedback_sets_the_outcome_and_deleting_a_note_keeps_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let r = fb
        .summarize(Input::Typed("Seal replaced on pump P-101.".into()), &Default::default())
        .unwrap();
    fb.feedback(&r.request_id, fieldbrief_core::ledger::Outcome::Rejected).unwrap();
    assert!(
        fb.feedback("nope", fieldbrief_core::ledger::Outcome::Accepted).unwrap_err().is_bad_input()
    );
    let report = fb.ledger_report(None).unwrap();
    assert_eq!((report.requests, report.succeeded), (1, 0), "a rejected summary is not a success");
    fb.delete_note(r.note_id.unwrap()).unwrap();
    assert!(fb.history(10).unwrap().is_empty());
    assert_eq!(fb.ledger_report(None).unwrap().requests, 1);
    assert!(fb.delete_note(r.note_id.unwrap()).unwrap_err().is_bad_input());
}

#[test]
fn without_an_engine_worker_no_model_is_activated_and_removal_refuses_bad_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    let source = dir.path().join("field-model.gguf");
    fieldbrief_gguf::write::LlamaSpec::tiny().write(&source).unwrap();
    // No worker, no smoke test: the model is refused rather than activated untested.
    let e = fb.import_model(&source).unwrap_err();
    assert!(
        e.to_string().contains("smoke test") && e.to_string().contains("no engine worker"),
        "{e}"
    );
    assert!(fb.models().unwrap().is_empty());
    assert!(fb.status().unwrap().active_model.is_none());

    // Ids that name anything but an installed model are refused, and nothing is deleted.
    let outside = source.to_str().unwrap().to_string();
    for bad in ["", "../field-model", ".field-model", "missing", outside.as_str()] {
        let e = fb.remove_model(bad, None).unwrap_err();
        assert!(e.is_bad_input(), "{bad:?}: {e}");
    }
    assert!(source.is_file(), "the source file outside the models directory is untouched");
    let r = fb
        .summarize(
            Input::Typed("Pump P-101 bearing at 78 °C; replaced seal kit SK-22.".into()),
            &SummarizeOptions::default(),
        )
        .unwrap();
    assert_eq!(r.route, Route::Extractive);
}

/// The modules of this crate (files under `src/`) that each one names with `crate::…` outside
/// its tests.
fn module_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .filter_map(|e| e.unwrap().path().file_stem()?.to_str().map(str::to_string))
        .filter(|m| m != "lib" && m != "tests")
        .collect();
    let mut imports = std::collections::BTreeMap::new();
    for m in &modules {
        let text = std::fs::read_to_string(src.join(format!("{m}.rs"))).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let named = modules
            .iter()
            .filter(|other| *other != m && code.contains(&format!("crate::{other}::")))
            .cloned()
            .collect();
        imports.insert(m.clone(), named);
    }
    imports
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let imports = module_imports();
    assert!(imports["deferred"].contains("request"), "the scan sees imports: {imports:?}");
    // Any cycle, however long: a depth-first walk that meets a module on its own path.
    fn walk<'a>(
        m: &'a str,
        imports: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<&'a str>,
    ) {
        if let Some(at) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {} -> {m}", path[at..].join(" -> "));
        }
        path.push(m);
        for next in &imports[m] {
            walk(next, imports, path);
        }
        path.pop();
    }
    for m in imports.keys() {
        walk(m, &imports, &mut Vec::new());
    }
}

/// Whatever was decided when a request began, the note's own flags are read again at the
/// moment of sending: kept on this device by another handle (the app's, another process) a
/// second ago, or deleted, it is not sent.
#[test]
fn nothing_is_sent_for_a_note_kept_or_deleted_since_the_request_began() {
    use fieldbrief_testkit::fake_cloud::{FakeCloud, Fault};
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::start(&[], Fault::Ok);
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    std::fs::write(
        dir.path().join("home/config.toml"),
        format!(
            "[cloud]\nenabled = true\nendpoint = \"{}\"\nmodel = \"fake-1\"\n",
            cloud.endpoint()
        ),
    )
    .unwrap();
    let mut fb = open(&dir);
    let other = open(&dir);
    let doc = fieldbrief_ingest::from_typed("Pump P-101: bearing 78 °C, seal kit SK-22 to order.")
        .unwrap();
    let request = SummaryRequest::new(Style::Bullets, Some(20));
    let kept = fb.store.insert_note(&doc, &now()).unwrap();
    let deleted = fb.store.insert_note(&doc, &now()).unwrap();
    let free = fb.store.insert_note(&doc, &now()).unwrap();
    other.set_keep_on_device(kept, true).unwrap();
    other.delete_note(deleted).unwrap();
    for (note, why) in [(kept, "kept on this device"), (deleted, "deleted")] {
        let e = fb.run_cloud(Some(note), &doc, &request, &mut |_| {}).unwrap_err();
        assert!(matches!(&e, fieldbrief_cloud::CloudError::Refused(m) if m.contains(why)), "{e}");
    }
    assert_eq!(cloud.connections(), 0, "a refused note reached the cloud");
    // The same path sends a note that may leave.
    fb.run_cloud(Some(free), &doc, &request, &mut |_| {}).unwrap();
    assert!(cloud.connections() > 0);
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let fb = open(&dir);
    let root = fb.home().root().to_path_buf();
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&fb.home().database_path()), 0o600);
    drop(fb);
    // One an older version created with the default umask is made private when opened.
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _fb = open(&dir);
    assert_eq!(mode(&root), 0o700);
    // So is an empty one the user made and named as the data directory.
    let named = dir.path().join("named");
    std::fs::create_dir(&named).unwrap();
    std::fs::set_permissions(&named, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _fb = Fieldbrief::open(Some(named.clone())).unwrap();
    assert_eq!(mode(&named), 0o700);
}

#[test]
fn typed_and_drafted_notes_and_the_asked_length_are_held_to_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    std::fs::write(fb.home().config_path(), "[limits]\nmax_input_mib = 1\n").unwrap();
    fb.reload_settings().unwrap();
    let big = "Pump P-101 bearing at 78 °C. ".repeat(40_000); // about 1.2 MB
    let e = fb.summarize(Input::Typed(big.clone()), &SummarizeOptions::default()).unwrap_err();
    assert!(e.is_bad_input() && e.to_string().contains("over the 1048576-byte limit"), "{e}");
    let draft = fb.save_draft(None, &big).unwrap();
    let e = fb.summarize(Input::Draft(draft), &SummarizeOptions::default()).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    // Refused, but not lost: the draft is still there.
    assert!(fb.drafts().unwrap().iter().any(|d| d.id == draft && d.body == big));

    for n in [0, request::MAX_WORDS + 1, usize::MAX] {
        let opts = SummarizeOptions { max_words: Some(n), ..Default::default() };
        let e = fb.summarize(Input::Typed("Pump P-101 ok.".into()), &opts).unwrap_err();
        assert!(matches!(e, Error::BadArgument(_)), "{n}: {e}");
    }
    let opts = SummarizeOptions { max_words: Some(request::MAX_WORDS), ..Default::default() };
    fb.summarize(Input::Typed("Pump P-101 ok, bearing 78 °C.".into()), &opts).unwrap();
}

/// Versions 1 and 2 of a generated model installed (2 current, 1 kept for rollback), and the
/// ledger rows of `per_version` local requests on each: version 1 passing `good_1` of them,
/// version 2 `good_2`.
fn two_versions_with_outcomes(fb: &Fieldbrief, per_version: usize, good_1: usize, good_2: usize) {
    use fieldbrief_models::install::{Request, Transfer, Trust};
    let models = fb.installed().unwrap();
    for (version, seed) in [("1", 1), ("2", 2)] {
        let file = fb.home().root().join(format!("tiny-{version}.gguf"));
        let spec =
            fieldbrief_gguf::write::LlamaSpec { seed, ..fieldbrief_gguf::write::LlamaSpec::tiny() };
        std::fs::write(&file, spec.writer().to_bytes()).unwrap();
        let req = Request {
            id: "tiny",
            version,
            file: &file,
            transfer: Transfer::Copy,
            sha256: None,
            trust: Trust::FirstUse,
            source: "test".into(),
            keep_previous: 1,
        };
        models.install(&req, &mut |_| Ok(())).unwrap();
    }
    // As `install_file` marks a new version over an earlier one.
    fb.store.set_setting("models.probation.tiny@2", "pending").unwrap();
    let mut n = 0;
    for (version, good) in [("1", good_1), ("2", good_2)] {
        for i in 0..per_version {
            n += 1;
            let passed = i < good;
            let mut e = fieldbrief_core::ledger::Entry::started(
                format!("request-{n}"),
                format!("2026-12-01T08:{:02}:{:02}.000000Z", n / 60, n % 60),
                Style::Bullets,
                60,
            );
            e.status = Status::Ok;
            e.route = Some(Route::Local);
            e.model = Some(fieldbrief_core::engine::ModelRef {
                id: "tiny".into(),
                version: version.into(),
            });
            e.quality = Some(fieldbrief_core::quality::Verdict { passed, checks: vec![] });
            if !passed {
                e.reasons.push(route::Reason::new(ReasonCode::ExtractiveAfterQualityGate, "facts"));
            }
            fb.store.record_failure(&e).unwrap();
        }
    }
}

#[test]
fn a_new_version_clearly_worse_than_the_last_rolls_back_with_model_regressed_and_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    // Version 1: 19 of its last 20 summaries passed; version 2: 9 of its first 20.
    two_versions_with_outcomes(&fb, 20, 19, 9);
    let v2 = fb.resolve_model("tiny").unwrap();
    assert_eq!(v2.version, "2");
    let reason = fb.probation_verdict(&v2).unwrap().expect("version 2 regressed");
    assert_eq!(reason.code, ReasonCode::ModelRegressed);
    assert!(reason.detail.contains("45 %") && reason.detail.contains("95 %"), "{}", reason.detail);
    assert!(reason.detail.contains("1 is active again"), "{}", reason.detail);
    assert_eq!(fb.resolve_model("tiny").unwrap().version, "1");
    // Decided once; the fleet file says what happened, and the version is held.
    assert!(fb.probation_verdict(&v2).unwrap().is_none());
    let fleet = fb.ledger_aggregate(None).unwrap().models;
    assert_eq!((fleet[0].id.as_str(), fleet[0].version.as_str()), ("tiny", "1"));
    assert!(fleet[0].rollout.contains("model_regressed"), "{:?}", fleet[0]);
    assert!(
        fb.store
            .setting("models.held.tiny@2")
            .unwrap()
            .is_some_and(|h| h.starts_with("model_regressed"))
    );
}

#[test]
fn a_new_version_as_good_as_the_last_passes_probation_and_one_still_on_it_is_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    two_versions_with_outcomes(&fb, 20, 18, 17);
    let v2 = fb.resolve_model("tiny").unwrap();
    assert!(fb.probation_verdict(&v2).unwrap().is_none());
    assert_eq!(fb.resolve_model("tiny").unwrap().version, "2");
    assert_eq!(fb.store.setting("models.probation.tiny@2").unwrap().as_deref(), Some("passed"));

    // Ten summaries into a probation of twenty: too early to judge, however bad.
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    two_versions_with_outcomes(&fb, 10, 10, 0);
    let v2 = fb.resolve_model("tiny").unwrap();
    assert!(fb.probation_verdict(&v2).unwrap().is_none());
    assert_eq!(fb.resolve_model("tiny").unwrap().version, "2");
    let fleet = fb.ledger_aggregate(None).unwrap().models;
    assert_eq!(fleet[0].rollout, "probation: 10 of 20 summaries");

    // A version chosen again on purpose (not newly installed) is never on probation, however
    // its old history reads.
    let dir = tempfile::tempdir().unwrap();
    let mut fb = open(&dir);
    two_versions_with_outcomes(&fb, 20, 20, 0);
    fb.store.delete_setting("models.probation.tiny@2").unwrap();
    let v2 = fb.resolve_model("tiny").unwrap();
    assert!(fb.probation_verdict(&v2).unwrap().is_none());
    assert_eq!(fb.resolve_model("tiny").unwrap().version, "2");
}
