//! The background runner of the deferred queue: cloud refinements queued while the laptop was
//! offline are sent when the network is back, and the window is told "a better summary of …
//! is ready".
//!
//! It has its own handle on the data directory (SQLite WAL lets it write beside the other two),
//! so a refinement that takes a minute never blocks a summary or autosave, and it needs no
//! engine worker: refinements go only to the cloud. All the decisions stay in
//! `Fieldbrief::run_deferred` (privacy included: jobs of notes now kept on this device, or
//! queued before the cloud was switched off, are dropped unsent). This only decides *when*:
//! every `interval` while jobs wait, and at once when nudged (settings saved). The cloud
//! monitor's own backoff keeps an offline laptop from probing every cycle.

use fieldbrief_pipeline::{Fieldbrief, Refinement, RefinementState};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

/// Seconds between runs of the queue while jobs are waiting.
pub const INTERVAL: Duration = Duration::from_secs(45);

/// One run: the refinements that finished (state `done`). Opens the handle on first use;
/// `run_deferred` reads the settings again before each job, so a switch flipped in Settings
/// counts at once.
pub fn run_once(handle: &mut Option<Fieldbrief>, home: &Option<PathBuf>) -> Vec<Refinement> {
    let fb = match handle {
        Some(fb) => fb,
        None => match Fieldbrief::open(home.clone()) {
            Ok(fb) => handle.insert(fb),
            Err(e) => {
                tracing::warn!(error = %e, "the refinement runner could not open the data directory");
                return Vec::new();
            }
        },
    };
    match fb.deferred(false) {
        Ok(jobs) if jobs.is_empty() => return Vec::new(),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "refinements wait: the queue cannot be read");
            return Vec::new();
        }
    }
    match fb.run_deferred(&mut |_, _| {}) {
        Ok(results) => {
            for r in &results {
                tracing::info!(job = r.job_id, note = r.note_id, state = r.state.as_str(), detail = %r.detail, "refinement");
            }
            results.into_iter().filter(|r| r.state == RefinementState::Done).collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, "the refinement run failed");
            Vec::new()
        }
    }
}

/// Starts the runner thread. `ready` is called for each finished refinement. The returned
/// sender nudges it to run now; dropping every sender stops it.
pub fn spawn(
    home: Option<PathBuf>,
    first_after: Duration,
    interval: Duration,
    ready: impl Fn(&Refinement) + Send + 'static,
) -> Sender<()> {
    let (nudge, nudged) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new().name("refiner".into()).spawn(move || {
        let mut handle = None;
        let mut wait = first_after;
        loop {
            match nudged.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            for r in run_once(&mut handle, &home) {
                ready(&r);
            }
            wait = interval;
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "the refinement runner could not start; refinements wait for the CLI");
    }
    nudge
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbrief_pipeline::{Input, SummarizeOptions};
    use fieldbrief_testkit::fake_cloud::{FakeCloud, Fault};

    const NOTE: &str = "Pump P-101 inspected on 2026-03-14. Discharge pressure 4.2 bar at the outlet.\n\
Bearing temperature 78 °C at the drive end. Replaced bearing P/N 6309-2Z-C3; seal kit to order.\n";

    fn config(home: &std::path::Path, cloud: &FakeCloud, extra: &str) {
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[cloud]\nenabled = true\nendpoint = \"{}\"\nmodel = \"fake-1\"\nconnect_timeout_secs = 1\nfirst_byte_timeout_secs = 2\ntotal_timeout_secs = 5\n{extra}",
                cloud.endpoint()
            ),
        )
        .unwrap();
    }

    /// A note summarized offline with the cloud permitted: a local summary now, a refinement queued.
    fn queue_one(home: &std::path::Path) -> i64 {
        let mut fb = Fieldbrief::open(Some(home.to_path_buf())).unwrap();
        let opts = SummarizeOptions { offline: true, ..Default::default() };
        let report = fb.summarize(Input::Typed(NOTE.into()), &opts).unwrap();
        assert_eq!(report.route.as_str(), "deferred");
        report.note_id.unwrap()
    }

    #[test]
    fn queued_refinements_wait_while_offline_and_are_announced_when_done() {
        let dir = tempfile::tempdir().unwrap();
        let home = Some(dir.path().to_path_buf());
        let cloud = FakeCloud::start(&[], Fault::Ok);
        config(dir.path(), &cloud, "work_offline = true\n");
        let note = queue_one(dir.path());
        let mut handle = None;

        assert!(run_once(&mut handle, &home).is_empty(), "working offline: it waits");
        assert_eq!(cloud.connections(), 0, "and nothing is probed");

        // "Work offline" switched off in Settings (a file write, as the app does): the next
        // run sends it.
        config(dir.path(), &cloud, "");
        let done = run_once(&mut handle, &home);
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!((done[0].note_id, done[0].state), (note, RefinementState::Done));
        assert!(done[0].request_id.is_some());
        assert!(run_once(&mut handle, &home).is_empty(), "done once, not again");
    }

    #[test]
    fn a_refinement_streaming_when_the_cloud_is_switched_off_stops_and_is_dropped_unstored() {
        let dir = tempfile::tempdir().unwrap();
        let home = Some(dir.path().to_path_buf());
        // One byte every 200 ms: left alone, the answer would take minutes to arrive.
        let cloud = FakeCloud::start(&[], Fault::SlowDrip);
        let slow = "total_timeout_secs = 600\nfirst_byte_timeout_secs = 60\n";
        std::fs::write(
            dir.path().join("config.toml"),
            format!("[cloud]\nenabled = true\nendpoint = \"{}\"\nmodel = \"fake-1\"\nconnect_timeout_secs = 1\n{slow}", cloud.endpoint()),
        )
        .unwrap();
        let note = queue_one(dir.path());
        let runner = std::thread::spawn(move || {
            let mut handle = None;
            run_once(&mut handle, &home)
        });
        // Sent (the probe's connection alone is not yet the chat request).
        while !cloud.requests().iter().any(|r| r.path.ends_with("/chat/completions")) {
            assert!(!runner.is_finished(), "the refinement ended before it was sent");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The user switches the cloud off in Settings while the answer streams.
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "[cloud]\nenabled = false\nendpoint = \"{}\"\nmodel = \"fake-1\"\n{slow}",
                cloud.endpoint()
            ),
        )
        .unwrap();
        let done = runner.join().unwrap();
        assert!(done.is_empty(), "nothing is announced: {done:?}");
        let fb = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        let job = &fb.deferred(true).unwrap()[0];
        assert_eq!(job.state, "dropped", "{job:?}");
        assert!(
            job.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("switched off while it was being sent"),
            "{job:?}"
        );
        let shown = fb.note(note).unwrap();
        assert!(
            shown.summaries.iter().all(|s| s.route != "cloud"),
            "no cloud summary was stored: {:?}",
            shown.summaries
        );
        let ledger = fb.ledger_entries(None).unwrap();
        let stopped = ledger
            .iter()
            .find(|e| e.engine.as_deref() == Some("cloud"))
            .expect("the request that went out is in the ledger");
        assert_eq!(stopped.error_code.as_deref(), Some("cancelled"), "{stopped:?}");
    }

    #[test]
    fn a_runner_nudged_after_the_cloud_was_switched_off_sends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = FakeCloud::start(&[], Fault::Ok);
        config(dir.path(), &cloud, "");
        queue_one(dir.path());
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "[cloud]\nenabled = false\nendpoint = \"{}\"\nmodel = \"m\"\n",
                cloud.endpoint()
            ),
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let nudge = spawn(
            Some(dir.path().to_path_buf()),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
            move |r| {
                let _ = tx.send(r.clone());
            },
        );
        nudge.send(()).unwrap();
        // The nudged run drops the job unsent: nothing is announced and the cloud sees nothing.
        let fb = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        let started = std::time::Instant::now();
        while !fb.deferred(false).unwrap().is_empty() {
            assert!(started.elapsed() < Duration::from_secs(30), "the nudge did not run the queue");
            std::thread::sleep(Duration::from_millis(50));
        }
        let job = &fb.deferred(true).unwrap()[0];
        assert_eq!(job.state, "dropped", "{job:?}");
        assert!(
            rx.recv_timeout(Duration::from_millis(500)).is_err(),
            "a dropped job is not announced"
        );
        assert_eq!(cloud.connections(), 0);
    }
}
