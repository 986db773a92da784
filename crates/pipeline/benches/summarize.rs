//! The whole `summarize` path (ingest, save, route, extractive summary, quality gate, store)
//! for the 20,000-word incident report. Target: under 1 s on a 2-core laptop.

use criterion::{Criterion, criterion_group, criterion_main};
use fieldbrief_pipeline::{Fieldbrief, Input, SummarizeOptions};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut fb = Fieldbrief::open(Some(dir.path().to_path_buf())).expect("home");
    let path = fieldbrief_testkit::samples::samples_dir().join("incident-report-long.md");
    let mut g = c.benchmark_group("summarize");
    g.sample_size(10);
    g.bench_function("incident_report_20k_words", |b| {
        b.iter(|| {
            black_box(
                fb.summarize(Input::Path(path.clone()), &SummarizeOptions::default())
                    .expect("summary"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
