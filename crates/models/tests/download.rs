//! Downloads against a loopback server that cuts, stalls and misbehaves, ending in installs.

use fieldbrief_gguf::write::LlamaSpec;
use fieldbrief_models::Error;
use fieldbrief_models::download::{self, Control, Job, Options, Phase};
use fieldbrief_models::install::{Models, Request, Transfer, Trust, sha256_bytes};
use fieldbrief_testkit::file_server::{FileServer, Misbehave};
use std::time::Duration;

/// `name` from `server` into `partial`, with the exact hash and size of `bytes`.
fn exact_job(server: &FileServer, name: &str, partial: std::path::PathBuf, bytes: &[u8]) -> Job {
    Job {
        url: server.url(name),
        partial,
        sha256: Some(sha256_bytes(bytes)),
        size: Some(bytes.len() as u64),
        size_hint: None,
        max_size: None,
    }
}

fn quick() -> Options {
    Options {
        stall: Duration::from_millis(500),
        retry_base: Duration::from_millis(1),
        max_retries: 4,
        min_free: 0,
        ..Options::default()
    }
}

/// A generated model of about 1.6 MB (wider than the tiny one, so offsets spread out).
fn model_bytes(seed: u64) -> Vec<u8> {
    LlamaSpec { seed, n_vocab: 3000, n_embd: 128, ..LlamaSpec::tiny() }.writer().to_bytes()
}

/// An older version, imported as it is (no smoke test in these tests).
fn install_copy(models: &Models, id: &str, version: &str, file: &std::path::Path) {
    let req = Request {
        id,
        version,
        file,
        transfer: Transfer::Copy,
        sha256: None,
        trust: Trust::Imported,
        source: "t".into(),
        keep_previous: 1,
    };
    models.install(&req, &mut |_| Ok(())).unwrap();
}

/// xorshift, so a failing run can be repeated from its seed.
fn offsets(seed: u64, n: usize, len: u64) -> Vec<u64> {
    let mut x = seed.max(1);
    let mut v: Vec<u64> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % (len - 1)
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn fifty_cuts_at_random_offsets_always_end_in_a_verified_active_model() {
    let bytes = model_bytes(11);
    let sha = sha256_bytes(&bytes);
    let server = FileServer::start();
    server.put("tiny-2.gguf", bytes.clone());
    let seed = std::env::var("FIELDBRIEF_CUT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_u64);
    let cuts = offsets(seed, 50, bytes.len() as u64);
    eprintln!("cut seed {seed:#x}: {} cuts in {} bytes", cuts.len(), bytes.len());
    server.plan(cuts.iter().map(|&c| Misbehave::CutAt(c)));

    let t = tempfile::tempdir().unwrap();
    let models = Models::open(&t.path().join("models")).unwrap();
    // An older version is active before the update.
    let old = t.path().join("old.gguf");
    std::fs::write(&old, model_bytes(10)).unwrap();
    install_copy(&models, "tiny", "1", &old);

    let job = Job {
        url: server.url("tiny-2.gguf"),
        partial: models.partial_path("tiny", "2"),
        sha256: Some(sha.clone()),
        size: Some(bytes.len() as u64),
        size_hint: None,
        max_size: None,
    };
    let mut reports = 0;
    // Every cut may land before the server flushed its buffer (no progress at all), so the
    // budget of attempts without progress must cover them; the product's default is 8.
    let opts = Options { max_retries: 60, ..quick() };
    let got = download::download(&job, &opts, &Control::default(), &mut |_| reports += 1).unwrap();
    assert_eq!(got.sha256, sha);
    assert!(
        got.attempts as usize > cuts.len(),
        "every cut cost a connection: {} attempts",
        got.attempts
    );
    // Each request resumed where the last one ended: never from the start again.
    let starts: Vec<u64> = server.requests().iter().map(|(_, s)| *s).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "resumed, never restarted: {starts:?}");
    assert!(
        starts.iter().filter(|&&s| s > 0).count() >= cuts.len() / 2,
        "most requests were resumes: {starts:?}"
    );
    assert!(
        server.served_bytes() < bytes.len() * 2,
        "resumed, not restarted: {} bytes served",
        server.served_bytes()
    );
    assert!(reports > 0);

    let req = Request {
        id: "tiny",
        version: "2",
        file: &got.path,
        transfer: Transfer::Move,
        sha256: Some(&sha),
        trust: Trust::Signed,
        source: job.url.clone(),
        keep_previous: 1,
    };
    let inst = models
        .install(&req, &mut |p| fieldbrief_gguf::inspect(p).map(|_| ()).map_err(|e| e.to_string()))
        .unwrap();
    assert!(inst.current);
    assert_eq!(models.current("tiny").unwrap().record.sha256, sha);
    assert_eq!(std::fs::read(&inst.path).unwrap(), bytes);
    assert!(models.verify(Some("tiny")).unwrap().iter().all(|r| r.ok));
    assert!(!job.partial.exists());
}

#[test]
fn a_stall_is_detected_and_resumed_and_a_500_retried() {
    let bytes = model_bytes(12);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    server.plan([Misbehave::ServerError, Misbehave::StallAt(100_000), Misbehave::ServerError]);
    let t = tempfile::tempdir().unwrap();
    let job = exact_job(&server, "m.gguf", t.path().join("m.part"), &bytes);
    // A stall limit long enough that a loaded machine does not look like a stall itself.
    let opts = Options { stall: Duration::from_secs(2), ..quick() };
    let got = download::download(&job, &opts, &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(got.size, bytes.len() as u64);
    let starts: Vec<u64> = server.requests().iter().map(|(_, s)| *s).collect();
    assert_eq!(&starts[..2], &[0, 0], "the 500 was retried from the start: {starts:?}");
    assert!(
        starts[2..].iter().all(|&s| s > 0) && starts.len() >= 4,
        "after the stall it resumed: {starts:?}"
    );
}

#[test]
fn a_server_that_ignores_ranges_restarts_cleanly() {
    let bytes = model_bytes(13);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    server.plan([Misbehave::CutAt(300_000), Misbehave::IgnoreRange]);
    let t = tempfile::tempdir().unwrap();
    let job = exact_job(&server, "m.gguf", t.path().join("m.part"), &bytes);
    let got = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), bytes);
}

#[test]
fn a_wrong_hash_is_refused_deleted_and_the_active_model_is_untouched() {
    let bytes = model_bytes(14);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    let t = tempfile::tempdir().unwrap();
    let models = Models::open(&t.path().join("models")).unwrap();
    let old = t.path().join("old.gguf");
    std::fs::write(&old, model_bytes(10)).unwrap();
    install_copy(&models, "m", "1", &old);
    let pointer_before = std::fs::read(models.dir().join("m/current.json")).unwrap();
    let job = Job {
        url: server.url("m.gguf"),
        partial: models.partial_path("m", "2"),
        sha256: Some("0".repeat(64)),
        size: Some(bytes.len() as u64),
        size_hint: None,
        max_size: None,
    };
    let e = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(&e, Error::Integrity(m) if m.contains("is not the published file")), "{e}");
    assert!(!job.partial.exists(), "the bad bytes were deleted");
    assert_eq!(std::fs::read(models.dir().join("m/current.json")).unwrap(), pointer_before);
    assert_eq!(models.current("m").unwrap().record.version, "1");
}

#[test]
fn not_enough_disk_space_is_an_error_before_any_byte_is_asked_for() {
    let server = FileServer::start();
    server.put("big.gguf", vec![0; 10]);
    let t = tempfile::tempdir().unwrap();
    let job = Job {
        url: server.url("big.gguf"),
        partial: t.path().join("big.part"),
        sha256: Some("ab".repeat(32)),
        size: Some(1 << 55),
        size_hint: None,
        max_size: None,
    };
    let e = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(&e, Error::DiskSpace(m) if m.contains("not enough disk space for big.gguf")),
        "{e}"
    );
    assert!(server.requests().is_empty(), "nothing was requested");

    // Without a published hash the size is only an estimate, and still checked first.
    let estimate = Job {
        sha256: None,
        size: None,
        size_hint: Some(1 << 55),
        max_size: None,
        partial: t.path().join("est.part"),
        ..job
    };
    let e = download::download(&estimate, &quick(), &Control::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(&e, Error::DiskSpace(m) if m.contains("it needs 36028.8 TB more")), "{e}");
    assert!(server.requests().is_empty(), "nothing was requested");
}

#[test]
fn pause_keeps_the_bytes_and_a_later_call_resumes_cancel_deletes_them() {
    let bytes = model_bytes(15);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    // The first connection is cut at 300 000; the user pauses while it waits to retry.
    server.plan([Misbehave::CutAt(300_000)]);
    let t = tempfile::tempdir().unwrap();
    let job = exact_job(&server, "m.gguf", t.path().join("m.part"), &bytes);
    let control = Control::default();
    let c = control.clone();
    let e = download::download(&job, &quick(), &control, &mut |p| {
        if p.phase == Phase::Retrying {
            c.pause();
        }
    })
    .unwrap_err();
    let Error::Paused(kept) = e else { panic!("{e}") };
    assert!(kept > 0 && kept <= 300_000, "{kept}");
    assert_eq!(download::partial_state(&job.partial), Some((kept, Some(bytes.len() as u64))));
    // "After an app restart": a fresh call with a fresh control resumes from the kept bytes.
    let got = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(got.resumed_from, kept);
    assert_eq!(std::fs::read(&got.path).unwrap(), bytes);
    assert_eq!(server.requests().last().map(|r| r.1), Some(kept));

    let job2 = Job { partial: t.path().join("m2.part"), ..job };
    server.plan([Misbehave::CutAt(100_000)]);
    let control = Control::default();
    let c = control.clone();
    let e = download::download(&job2, &quick(), &control, &mut |p| {
        if p.phase == Phase::Retrying {
            c.cancel();
        }
    })
    .unwrap_err();
    assert!(matches!(e, Error::Cancelled));
    assert!(!job2.partial.exists() && download::partial_state(&job2.partial).is_none());
}

#[test]
fn while_the_server_sends_nothing_the_progress_shows_every_byte_and_a_pause_takes_effect_at_once() {
    let bytes = model_bytes(16);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    server.plan([Misbehave::StallAt(300_000)]);
    let t = tempfile::tempdir().unwrap();
    let job = exact_job(&server, "m.gguf", t.path().join("m.part"), &bytes);
    // A stall limit far longer than the test: only the pause can end this connection.
    let opts = Options { stall: Duration::from_secs(600), ..quick() };
    let control = Control::default();
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let mut phases = Vec::new();
    let e = std::thread::scope(|scope| {
        // The user pauses once the bar shows all 300 000 bytes that came before the silence.
        let pauser = control.clone();
        scope.spawn(move || {
            while rx.recv().is_ok_and(|n| n < 300_000) {}
            pauser.pause();
        });
        // `tx` goes with the download, so the pauser never waits for more than it will get.
        let tx = tx;
        download::download(&job, &opts, &control, &mut |p| {
            phases.push(p.phase);
            let _ = tx.send(p.downloaded);
        })
    })
    .unwrap_err();
    let Error::Paused(kept) = e else { panic!("{e}") };
    assert_eq!(kept, 300_000);
    assert!(
        !phases.contains(&Phase::Retrying),
        "paused on the quiet connection, not after a stall was declared: {phases:?}"
    );
    assert_eq!(server.requests().len(), 1);
    let got = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), bytes);
}

#[test]
fn a_trust_on_first_use_download_pins_its_hash() {
    let bytes = model_bytes(16);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    let t = tempfile::tempdir().unwrap();
    let models = Models::open(&t.path().join("models")).unwrap();
    let job = Job {
        url: server.url("m.gguf"),
        partial: models.partial_path("m", "1"),
        sha256: None,
        size: Some(999),
        size_hint: None,
        max_size: None,
    };
    let got = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(
        got.sha256,
        sha256_bytes(&bytes),
        "the size in a catalog without a hash is only a hint"
    );
    let req = Request {
        id: "m",
        version: "1",
        file: &got.path,
        transfer: Transfer::Move,
        sha256: None,
        trust: Trust::FirstUse,
        source: job.url.clone(),
        keep_previous: 1,
    };
    let inst = models.install(&req, &mut |_| Ok(())).unwrap();
    assert_eq!(inst.record.trust, Trust::FirstUse);
    assert_eq!(models.pin("m", "1"), Some(got.sha256));
}

#[test]
fn a_file_that_changed_on_the_server_mid_download_is_started_over_not_spliced() {
    let old = model_bytes(17);
    let new = model_bytes(18);
    let server = FileServer::start();
    server.put("m.gguf", old.clone());
    server.plan([Misbehave::CutAt(500_000)]);
    let t = tempfile::tempdir().unwrap();
    // Trust on first use: no hash to catch a splice, so the validator must.
    let job = Job {
        url: server.url("m.gguf"),
        partial: t.path().join("m.part"),
        sha256: None,
        size: None,
        size_hint: None,
        max_size: None,
    };
    let control = Control::default();
    let c = control.clone();
    let e = download::download(&job, &quick(), &control, &mut |p| {
        if p.phase == Phase::Retrying {
            c.pause();
        }
    })
    .unwrap_err();
    assert!(matches!(e, Error::Paused(n) if n > 0));
    // The publisher replaces the file (another length, another ETag) before the resume.
    let mut changed = new.clone();
    changed.extend_from_slice(b"...");
    server.put("m.gguf", changed.clone());
    let got = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(
        std::fs::read(&got.path).unwrap(),
        changed,
        "the new file whole, not old bytes + new bytes"
    );
    assert_eq!(got.sha256, sha256_bytes(&changed));
}

#[test]
fn a_complete_download_that_was_not_installed_is_not_fetched_again() {
    let bytes = model_bytes(19);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    let t = tempfile::tempdir().unwrap();
    let job = exact_job(&server, "m.gguf", t.path().join("m.part"), &bytes);
    download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    let served = server.served_bytes();
    // Say the process died before installing: the next call verifies what is on disk.
    let again = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(again.resumed_from, bytes.len() as u64);
    assert_eq!(server.served_bytes(), served, "no byte was sent twice");
    assert_eq!(again.sha256, sha256_bytes(&bytes));
}

/// A trust-on-first-use job (no hash) for `name`, bounded as the pipeline bounds it.
fn first_use_job(
    server: &FileServer,
    name: &str,
    partial: std::path::PathBuf,
    estimate: u64,
) -> Job {
    Job {
        url: server.url(name),
        partial,
        sha256: None,
        size: None,
        size_hint: Some(estimate),
        max_size: Some(Job::ceiling_for(estimate)),
    }
}

#[test]
fn a_first_use_download_without_a_length_stops_at_its_ceiling_not_at_a_full_disk() {
    let server = FileServer::start();
    server.put("m.gguf", model_bytes(21));
    server.plan([Misbehave::Endless]);
    let t = tempfile::tempdir().unwrap();
    let partial = t.path().join("m.partial");
    // A 1 MiB model by its catalog: its ceiling is 1.25 MiB + 16 MiB.
    let job = first_use_job(&server, "m.gguf", partial.clone(), 1 << 20);
    let e = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, Error::Integrity(_)), "{e}");
    assert!(e.to_string().contains("more than"), "{e}");
    let ceiling = Job::ceiling_for(1 << 20) as usize;
    // What was read is bounded by the ceiling (plus what was in flight), and not kept whole.
    assert!(server.served_bytes() < ceiling + (8 << 20), "{} bytes served", server.served_bytes());
    assert!(!partial.exists(), "the oversized bytes are not kept to resume");

    // A server that announces more than the ceiling is refused before its body is read.
    let big = vec![7u8; 3 << 20];
    server.put("big.gguf", big);
    let job = first_use_job(&server, "big.gguf", t.path().join("big.partial"), 512 << 10);
    let job = Job { max_size: Some(1 << 20), ..job };
    let e = download::download(&job, &quick(), &Control::default(), &mut |_| {}).unwrap_err();
    // Refused on the announced length, before a byte of the body was kept.
    assert!(e.to_string().contains("the server offers 3.1 MB, more than"), "{e}");
    assert!(!job.partial.exists());
}

#[test]
fn a_server_that_sends_a_byte_and_hangs_up_runs_the_retry_budget_out() {
    let bytes = model_bytes(22);
    let server = FileServer::start();
    server.put("m.gguf", bytes.clone());
    // Every request brings one more byte, then the connection is cut.
    server.plan((1..=200).map(Misbehave::CutAt));
    let t = tempfile::tempdir().unwrap();
    let job = exact_job(&server, "m.gguf", t.path().join("m.partial"), &bytes);
    let opts = quick();
    let e = download::download(&job, &opts, &Control::default(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("without progress"), "{e}");
    let asked = server.requests().len();
    assert!(asked <= opts.max_retries as usize + 2, "{asked} requests for one byte each");
}
