//! PDF coverage against poppler's `pdftotext` on the real-world corpus
//! (`scripts/fetch-pdf-corpus`): `cargo bench -p fieldbrief-ingest --bench corpus`.
//!
//! The generated PDFs with known text (`fieldbrief_testkit::pdf_cases`, under `generated/`)
//! are measured with them, and their words (with `pypdf/crazyones.pdf`'s) checked.
//!
//! For every PDF: the words `pdftotext` finds, the words we find (through the extraction
//! process path's reader, on a thread), the time each took, and our refusal if any. Prints a
//! table of the files where we differ and the totals: coverage (files with ≥ 20 words found /
//! files in which pdftotext finds ≥ 20 words), crashes and hangs, text PDFs called scans, and
//! time per file. `--tsv FILE` writes every row.

use fieldbrief_ingest::Problem;
use fieldbrief_ingest::pdf::extract_with;
use fieldbrief_testkit::pdf_cases::{self, Expect};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HAS_TEXT: usize = 20;
const RUNS: usize = 3;

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
    // The testkit's generated PDFs with known text join the real-world ones.
    let generated =
        std::env::temp_dir().join(format!("fieldbrief-pdf-cases-{}", std::process::id()));
    let mut known: Vec<(PathBuf, String)> = Vec::new();
    if let Err(e) = std::fs::create_dir_all(&generated) {
        eprintln!("{}: {e}", generated.display());
        std::process::exit(1);
    }
    for case in pdf_cases::all() {
        let path = generated.join(format!("{}.pdf", case.name));
        if let Err(e) = std::fs::write(&path, &case.bytes) {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
        if let Expect::Text(text) = case.expect {
            known.push((path.clone(), text));
        }
        all.push(path);
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("pypdf/crazyones.txt")) {
        known.push((dir.join("pypdf/crazyones.pdf"), text));
    }
    let (mut known_words, mut known_found) = (0, 0);
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
        // Each timed as the best of three runs: the machine's other work is not the file's.
        let mut poppler_ms = Duration::MAX;
        let mut poppler = None;
        for _ in 0..RUNS {
            let started = Instant::now();
            let out = std::process::Command::new("pdftotext").arg(f).arg("-").output();
            poppler_ms = poppler_ms.min(started.elapsed());
            poppler = Some(out);
        }
        let Some(Ok(poppler)) = poppler else {
            eprintln!("pdftotext is missing (poppler-utils)");
            std::process::exit(2);
        };
        let p_words = String::from_utf8_lossy(&poppler.stdout).split_whitespace().count();
        let mut ours_ms = Duration::MAX;
        let mut ours = None;
        for _ in 0..RUNS {
            let started = Instant::now();
            let got = extract_with(bytes.clone(), Duration::from_secs(30), None);
            ours_ms = ours_ms.min(started.elapsed());
            ours = Some(got);
        }
        let ours = ours.expect("RUNS > 0");
        ours_time += ours_ms;
        poppler_time += poppler_ms;
        if let Some((_, expected)) = known.iter().find(|(p, _)| p == f) {
            let got = ours.as_ref().map(|e| e.text.as_str()).unwrap_or("");
            let (found, of) = pdf_cases::words_found(expected, got);
            known_found += found;
            known_words += of;
        }
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
        let name = match (f.strip_prefix(&dir), f.strip_prefix(&generated)) {
            (Ok(p), _) => p.display().to_string(),
            (_, Ok(p)) => Path::new("generated").join(p).display().to_string(),
            _ => f.display().to_string(),
        };
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
        "known text ({} files): {known_found} of {known_words} expected words found ({:.1} %)",
        known.len(),
        known_found as f64 * 100.0 / known_words.max(1) as f64
    );
    println!(
        "text PDFs we called a scan, blank or unreadable: {called_scan}; timeouts: {hangs}; parser panics caught and refused as corrupt: {panics} (none reaches the app)"
    );
    println!(
        "time per file (best of {RUNS}): ours {:.1} ms, pdftotext {:.1} ms (a process each)",
        ours_time.as_secs_f64() * 1000.0 / all.len() as f64,
        poppler_time.as_secs_f64() * 1000.0 / all.len() as f64
    );
    let _ = std::fs::remove_dir_all(&generated);
    if let Some(path) = tsv {
        if let Err(e) = std::fs::write(&path, rows.join("\n") + "\n") {
            eprintln!("writing {path}: {e}");
            std::process::exit(1);
        }
        println!("every row: {path}");
    }
}
