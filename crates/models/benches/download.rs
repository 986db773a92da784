//! Download throughput from a loopback server, against `curl` fetching the same file from the
//! same server, and the SHA-256 verification rate (against `sha256sum` on the same file).
//!
//! `cargo bench -p fieldbrief-models` (size with FIELDBRIEF_BENCH_MIB, default 256).
//! Prints a table; nothing here is asserted (targets live in benchmarks, not tests).

use fieldbrief_models::download::{self, Control, Job, Options};
use fieldbrief_models::sha256_file;
use fieldbrief_testkit::file_server::FileServer;
use std::process::Command;
use std::time::Instant;

fn main() {
    let mib: usize =
        std::env::var("FIELDBRIEF_BENCH_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
    let bytes: Vec<u8> = {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        (0..mib << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let len = bytes.len() as f64 / 1e6;
    let sha = fieldbrief_models::install::sha256_bytes(&bytes);
    let server = FileServer::start();
    server.put("model.gguf", bytes);
    let url = server.url("model.gguf");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { min_free: 0, ..Options::default() };

    let mut ours = Vec::new();
    let mut curl = Vec::new();
    let mut curl_synced = Vec::new();
    for round in 0..3 {
        let partial = dir.path().join(format!("ours-{round}.part"));
        let job = Job {
            url: url.clone(),
            partial: partial.clone(),
            sha256: Some(sha.clone()),
            size: Some((mib << 20) as u64),
            size_hint: None,
            max_size: None,
        };
        let t = Instant::now();
        download::download(&job, &opts, &Control::default(), &mut |_| {}).expect("download");
        ours.push(len / t.elapsed().as_secs_f64());
        let _ = std::fs::remove_file(&partial);

        let target = dir.path().join(format!("curl-{round}"));
        let t = Instant::now();
        match Command::new("curl").args(["-s", "-f", "-o"]).arg(&target).arg(&url).status() {
            Ok(s) if s.success() => {
                curl.push(len / t.elapsed().as_secs_f64());
                // The same durability as ours: the bytes on disk, not in the page cache.
                let _ = std::fs::File::open(&target).and_then(|f| f.sync_all());
                curl_synced.push(len / t.elapsed().as_secs_f64());
            }
            Ok(s) => eprintln!("curl failed: {s}"),
            Err(e) => eprintln!("curl is not installed ({e}); no comparison"),
        }
        if round < 2 {
            let _ = std::fs::remove_file(&target);
        }
    }
    let file = dir.path().join("curl-2");
    let file = if file.exists() {
        file
    } else {
        let p = dir.path().join("hash-me");
        let job = Job {
            url: url.clone(),
            partial: p.clone(),
            sha256: None,
            size: None,
            size_hint: None,
            max_size: None,
        };
        download::download(&job, &opts, &Control::default(), &mut |_| {}).expect("download");
        p
    };
    let t = Instant::now();
    let (ours_sha, _) = sha256_file(&file).expect("hash");
    let hash_rate = len / t.elapsed().as_secs_f64();
    assert_eq!(ours_sha, sha);
    let t = Instant::now();
    let sum = Command::new("sha256sum")
        .arg(&file)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| len / t.elapsed().as_secs_f64());

    let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    println!("file: {mib} MiB from http://127.0.0.1 (3 rounds, best)");
    println!("| measurement | MB/s |");
    println!("|---|---|");
    println!("| fieldbrief download (streaming sha256, fsync, sidecar) | {:.0} |", best(&ours));
    if !curl.is_empty() {
        println!("| curl -o (same server, same file) | {:.0} |", best(&curl));
        println!(
            "| curl -o, then fsync (the durability fieldbrief gives) | {:.0} |",
            best(&curl_synced)
        );
        println!("| ratio fieldbrief / curl+fsync | {:.2} |", best(&ours) / best(&curl_synced));
    }
    println!("| sha256 verification (models verify) | {hash_rate:.0} |");
    if let Some(s) = sum {
        println!("| sha256sum (same file) | {s:.0} |");
    }
}
