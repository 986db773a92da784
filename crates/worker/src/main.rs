//! `fieldbrief-engine`: the worker alone, for the CPU-specific builds the bundles carry beside
//! the `fieldbrief` executable (which is also a worker: `fieldbrief __engine-worker`). Same
//! arguments, same protocol.

use fieldbrief_engine::protocol::WORKER_ARG;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some(WORKER_ARG) {
        eprintln!("fieldbrief-engine is started by fieldbrief; run `fieldbrief` instead");
        std::process::exit(2);
    }
    let mut idle_secs = 300u64;
    while let Some(arg) = args.next() {
        let value = match arg.split_once('=') {
            Some(("--idle-secs", v)) => Some(v.to_string()),
            None if arg == "--idle-secs" => args.next(),
            _ => None,
        };
        match value.and_then(|v| v.parse().ok()) {
            Some(n) => idle_secs = n,
            None => {
                eprintln!("fieldbrief-engine: unexpected argument {arg:?}");
                std::process::exit(2);
            }
        }
    }
    let filter = std::env::var("FIELDBRIEF_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
    std::process::exit(fieldbrief_worker::run(Duration::from_secs(idle_secs.max(1))));
}
