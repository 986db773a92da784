//! Cache and ledger latency with a realistic amount of data: `cargo bench -p fieldbrief-store`.
//!
//! Targets (from the issue that introduced the cache): with 100,000 cached entries, an exact
//! lookup under 2 ms at p99 and a near-duplicate lookup under 20 ms; a ledger insert (a summary
//! and its ledger row, committed durably) under 1 ms. Percentiles need every sample, so this is
//! a plain timing loop rather than criterion. The database is a real file in WAL mode with
//! `synchronous = FULL`, as the app uses it; the disk's fsync is part of the insert figure.
//!
//! `FIELDBRIEF_BENCH_ENTRIES` changes the cache size (default 100000).

use fieldbrief_core::cache::{NEAR_THRESHOLD, signature};
use fieldbrief_core::ledger::{Entry, Status};
use fieldbrief_core::route::Route;
use fieldbrief_core::{Document, SourceKind, Style};
use fieldbrief_store::{NewCacheEntry, NewSummary, Store};
use std::time::Instant;

const WORDS: &[&str] = &[
    "pump",
    "bearing",
    "seal",
    "valve",
    "motor",
    "breaker",
    "relay",
    "panel",
    "filter",
    "compressor",
    "fan",
    "belt",
    "coupling",
    "gasket",
    "sensor",
    "cable",
    "fuse",
    "contactor",
    "inverter",
    "transformer",
    "replaced",
    "inspected",
    "cleaned",
    "tightened",
    "measured",
    "leaking",
    "worn",
    "noisy",
    "hot",
    "ok",
    "bar",
    "mm/s",
    "°C",
    "A",
    "V",
    "kPa",
    "north",
    "south",
    "east",
    "west",
    "level",
    "room",
    "site",
    "unit",
    "phase",
    "drive",
    "end",
    "outlet",
    "inlet",
];

/// A technician-like note of ~120 words, different for every `n` (xorshift word choice).
fn note(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = format!("Job {n}: ");
    for i in 0..120 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        out.push(if i % 12 == 11 { '.' } else { ' ' });
        if i % 12 == 11 {
            out.push_str(&format!(" {}.{} ", x % 97, x % 10));
        }
    }
    out
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    (at(50.0), at(99.0), v[v.len() - 1])
}

fn main() {
    let entries: u64 = std::env::var("FIELDBRIEF_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("bench.sqlite3")).expect("open");

    let t = Instant::now();
    let batch = 5_000;
    let mut n = 0;
    while n < entries {
        let prefix = |text: &str, n: usize| text.chars().take(n).collect::<String>();
        let notes: Vec<(String, String, String, _)> = (n..(n + batch).min(entries))
            .map(|i| {
                let text = note(i);
                (format!("key-{i}"), prefix(&text, 20), prefix(&text, 400), signature(&text))
            })
            .collect();
        let new: Vec<NewCacheEntry<'_>> = notes
            .iter()
            .map(|(key, title, summary, sig)| NewCacheEntry {
                key,
                note_hash: key,
                note_id: None,
                note_title: title,
                style: "bullets",
                max_words: 150,
                producer: "extractive:textrank-1",
                prompt_version: "textrank-1",
                route: "extractive",
                engine: "extractive",
                model: None,
                request_id: key,
                summary,
                signature: sig,
            })
            .collect();
        store.cache_put_many(&new, "2026-12-01T00:00:00.000000Z", usize::MAX / 2).expect("fill");
        n += batch;
    }
    eprintln!("filled {entries} entries in {:.1} s", t.elapsed().as_secs_f64());

    let rounds = 2_000u64;
    let mut exact = Vec::new();
    for i in 0..rounds {
        let key = format!("key-{}", (i * 7919) % entries);
        let t = Instant::now();
        let hit = store.cache_get(&key, "2026-12-01T00:00:01.000000Z", Some("r")).expect("get");
        exact.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(hit.is_some());
    }
    let mut near = Vec::new();
    let mut found = 0;
    for i in 0..rounds / 4 {
        // A cached note with a few words changed.
        let text =
            note((i * 104_729) % entries).replacen("pump", "pumps", 2).replacen("seal", "seals", 1);
        let t = Instant::now();
        let sig = signature(&text);
        let similar = store.cache_similar(&sig, NEAR_THRESHOLD, 1, &|_| true).expect("similar");
        near.push(t.elapsed().as_secs_f64() * 1000.0);
        found += usize::from(!similar.is_empty());
    }

    let doc = Document {
        kind: SourceKind::Typed,
        name: "typed note".into(),
        path: None,
        text: note(1),
        original_bytes: 800,
        encoding: "UTF-8".into(),
        pages: None,
        notices: vec![],
    };
    let note_id = store.insert_note(&doc, "2026-12-01T00:00:00.000000Z").expect("note");
    let mut insert = Vec::new();
    for i in 0..500 {
        let mut e = Entry::started(
            format!("bench-{i}"),
            "2026-12-01T00:00:02.000000Z".into(),
            Style::Bullets,
            150,
        );
        e.route = Some(Route::Extractive);
        e.status = Status::Ok;
        e.note_id = Some(note_id);
        let summary = NewSummary {
            note_id,
            route: Route::Extractive,
            engine: "extractive",
            text: "- summary",
        };
        let t = Instant::now();
        store.record_summary(&summary, &e).expect("insert");
        insert.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    let (p50, p99, max) = percentiles(exact);
    println!(
        "exact lookup, {entries} entries:     p50 {p50:.3} ms  p99 {p99:.3} ms  max {max:.3} ms  (target p99 < 2 ms)"
    );
    let (p50, p99, max) = percentiles(near);
    println!(
        "near-duplicate lookup, {entries} entries: p50 {p50:.3} ms  p99 {p99:.3} ms  max {max:.3} ms  (target < 20 ms; found {found} of {})",
        rounds / 4
    );
    let (p50, p99, max) = percentiles(insert);
    println!(
        "summary + ledger row, durable commit: p50 {p50:.3} ms  p99 {p99:.3} ms  max {max:.3} ms  (target < 1 ms)"
    );
}
