//! PDF coverage against poppler's `pdftotext` on the real-world corpus
//! (`scripts/fetch-pdf-corpus`): `cargo bench -p fieldbrief-ingest --bench corpus`.
//!
//! For every PDF: the words `pdftotext` finds, the words we find (through the extraction
//! process path's reader, on a thread), the time each took, and our refusal if any. Prints a
//! table of the files where we differ and the totals: coverage (files with ≥ 20 words found /
//! files in which pdftotext finds ≥ 20 words), crashes and hangs, text PDFs called scans, and
//! time per file. `--tsv FILE` writes every row.

use fieldbrief_ingest::Problem;
use fieldbrief_ingest::pdf::extract_with;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HAS_TEXT: usize = 20;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else { return };
    for e in read.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")) {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; a test run (`cargo test --benches`) passes nothing: skip.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let tsv = args.iter().position(|a| a == "--tsv").and_then(|i| args.get(i + 1)).cloned();
    let dir = std::env::var_os("FIELDBRIEF_PDF_CORPUS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/fieldbrief/pdf-corpus")
    });
    let mut all = Vec::new();
    files(&dir, &mut all);
    all.sort();
    if all.is_empty() {
        eprintln!("no PDFs under {}: run scripts/fetch-pdf-corpus", dir.display());
        std::process::exit(2);
    }
    let (mut with_text, mut covered, mut called_scan, mut hangs, mut panics) = (0, 0, 0, 0, 0);
    let (mut ours_time, mut poppler_time) = (Duration::ZERO, Duration::ZERO);
    let mut rows =
        vec!["file\tpdftotext_words\tour_words\tpdftotext_ms\tour_ms\tour_refusal".to_string()];
    println!("{:<58} {:>9} {:>7}  our refusal", "file (where we differ)", "pdftotext", "ours");
    for f in &all {
        let Ok(bytes) = std::fs::read(f) else {
            eprintln!("{} cannot be read: skipped", f.display());
            continue;
        };
        let started = Instant::now();
        let poppler = std::process::Command::new("pdftotext").arg(f).arg("-").output();
        let poppler_ms = started.elapsed();
        let Ok(poppler) = poppler else {
            eprintln!("pdftotext is missing (poppler-utils)");
            std::process::exit(2);
        };
        let p_words = String::from_utf8_lossy(&poppler.stdout).split_whitespace().count();
        let started = Instant::now();
        let ours = extract_with(bytes, Duration::from_secs(30), None);
        let ours_ms = started.elapsed();
        ours_time += ours_ms;
        poppler_time += poppler_ms;
        let (o_words, refusal) = match &ours {
            Ok(e) => (e.text.split_whitespace().count(), String::new()),
            Err(p) => (0, p.to_string()),
        };
        if matches!(ours, Err(Problem::PdfTimeout { .. })) {
            hangs += 1;
        }
        if matches!(&ours, Err(Problem::PdfCorrupt(m)) if m.starts_with("the PDF parser could not read it"))
        {
            panics += 1;
        }
        if p_words >= HAS_TEXT {
            with_text += 1;
            covered += usize::from(o_words >= HAS_TEXT);
            called_scan += usize::from(matches!(
                ours,
                Err(Problem::PdfNoText { .. }
                    | Problem::PdfBlank { .. }
                    | Problem::PdfUnmappedText { .. })
            ));
        }
        let name = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        let differs = (p_words >= HAS_TEXT) != (o_words >= HAS_TEXT)
            || p_words.abs_diff(o_words) * 10 > p_words.max(1);
        if differs {
            let short: String = refusal.chars().take(70).collect();
            println!("{name:<58} {p_words:>9} {o_words:>7}  {short}");
        }
        rows.push(format!(
            "{name}\t{p_words}\t{o_words}\t{}\t{}\t{refusal}",
            poppler_ms.as_millis(),
            ours_ms.as_millis()
        ));
    }
    println!();
    println!("files: {}", all.len());
    println!(
        "coverage: ours {covered} of the {with_text} files where pdftotext finds ≥ {HAS_TEXT} words ({:.1} %)",
        covered as f64 * 100.0 / with_text.max(1) as f64
    );
    println!(
        "text PDFs we called a scan, blank or unreadable: {called_scan}; timeouts: {hangs}; parser panics caught and refused as corrupt: {panics} (none reaches the app)"
    );
    println!(
        "time per file: ours {:.1} ms, pdftotext {:.1} ms (a process each)",
        ours_time.as_secs_f64() * 1000.0 / all.len() as f64,
        poppler_time.as_secs_f64() * 1000.0 / all.len() as f64
    );
    if let Some(path) = tsv {
        if let Err(e) = std::fs::write(&path, rows.join("\n") + "\n") {
            eprintln!("writing {path}: {e}");
            std::process::exit(1);
        }
        println!("every row: {path}");
    }
}
