//! Ingest throughput: a 5 MiB text note and a 200-page PDF.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fieldbrief_ingest::{Limits, read_path};
use fieldbrief_testkit::pdf;
use std::hint::black_box;

fn note_text(target_bytes: usize) -> String {
    let samples = fieldbrief_testkit::samples::samples_dir();
    let seed = std::fs::read_to_string(samples.join("site-log-multiday.md")).expect("sample note");
    let mut text = String::with_capacity(target_bytes + seed.len());
    while text.len() < target_bytes {
        text.push_str(&seed);
        text.push_str("\n\n");
    }
    text
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits::default();

    let text = note_text(5 * 1024 * 1024);
    let txt = dir.path().join("five-mib.txt");
    std::fs::write(&txt, &text).expect("write");
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("text_5mib", |b| {
        b.iter(|| black_box(read_path(&txt, &limits).expect("ingest")))
    });
    g.finish();

    // 200 pages of 48 lines.
    let layout = pdf::Layout {
        lines_per_page: 48,
        header: Some("Bench report".into()),
        ..Default::default()
    };
    let body: String =
        note_text(200 * 48 * 70).lines().take(200 * 48).collect::<Vec<_>>().join("\n");
    let bytes = pdf::from_text(&body, &layout);
    let pdf_path = dir.path().join("two-hundred-pages.pdf");
    std::fs::write(&pdf_path, &bytes).expect("write");
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("pdf_200_pages", |b| {
        b.iter(|| black_box(read_path(&pdf_path, &limits).expect("ingest")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
