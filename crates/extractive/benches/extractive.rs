//! Extractive summary of the 20,000-word incident report, in each style.

use criterion::{Criterion, criterion_group, criterion_main};
use fieldbrief_core::{Style, SummaryRequest};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let path = fieldbrief_testkit::samples::samples_dir().join("incident-report-long.md");
    let doc = fieldbrief_ingest::read_path(&path, &Default::default()).expect("sample note");
    let mut g = c.benchmark_group("extractive_20k_words");
    g.sample_size(20);
    for style in Style::ALL {
        let request = SummaryRequest::new(style, None);
        g.bench_function(style.as_str(), |b| {
            b.iter(|| {
                black_box(fieldbrief_extractive::summarize(&doc.text, &request).expect("summary"))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
