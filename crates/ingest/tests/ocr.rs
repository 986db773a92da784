//! Scanned PDFs read by OCR on the laptop (Tesseract and poppler's pdftoppm, installed by
//! scripts/setup): refused with the offer when not asked for, recognised with progress and a
//! notice when asked, and refused with how to install the programs where they are missing.

use fieldbrief_ingest::ocr::OcrOptions;
use fieldbrief_ingest::{Limits, Problem, read_path, read_path_with};

const REPORT: &str = "Pump station 4 inspection\n\
Inlet pressure 2.4 bar, outlet pressure 6.1 bar.\n\
Motor current 41 A on all three phases, bearing temperature 63 C.\n\
Replace the worn coupling insert before the March outage.";

fn words(t: &str) -> Vec<String> {
    t.split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .map(|w| w.trim_end_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn a_scan_is_refused_with_the_offer_and_read_by_ocr_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, fieldbrief_testkit::pdf::scanned(REPORT)).unwrap();

    let refused = read_path(&path, &Limits::default()).unwrap_err();
    assert!(
        matches!(refused.problem, Problem::PdfNoText { pages: 1, ocr_here: true }),
        "{refused} (are tesseract-ocr and poppler-utils installed? scripts/setup installs them)"
    );
    assert!(refused.to_string().contains("--ocr"), "{refused}");

    let limits = Limits { ocr: Some(OcrOptions::default()), ..Limits::default() };
    let mut progress = Vec::new();
    let doc =
        read_path_with(&path, &limits, &mut |done, total| progress.push((done, total))).unwrap();
    assert_eq!(progress, [(0, 1), (1, 1)]);
    assert!(doc.ocr().is_some_and(|e| e.starts_with("tesseract")), "{}", doc.encoding);
    assert_eq!(doc.pages, Some(1));
    assert!(doc.notices[0].contains("recognised by OCR on this laptop"), "{:?}", doc.notices);
    let got = words(&doc.text);
    let want = words(REPORT);
    let found = want.iter().filter(|w| got.contains(w)).count();
    assert!(found * 100 >= want.len() * 90, "{found} of {} words: {}", want.len(), doc.text);
    for figure in ["2.4", "6.1", "41", "63"] {
        assert!(got.iter().any(|w| w == figure), "{figure} in {}", doc.text);
    }
}

#[test]
fn ocr_asked_for_without_its_programs_says_how_to_install_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, fieldbrief_testkit::pdf::without_text(1)).unwrap();
    let nowhere = dir.path().join("no-programs-here");
    std::fs::create_dir(&nowhere).unwrap();
    let options =
        OcrOptions { search_path: Some(nowhere.into_os_string()), ..OcrOptions::default() };
    let limits = Limits { ocr: Some(options), ..Limits::default() };
    let err = read_path(&path, &limits).unwrap_err();
    assert!(matches!(err.problem, Problem::OcrUnavailable(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("Tesseract (tesseract) and poppler's pdftoppm are not installed"),
        "{message}"
    );
    assert!(message.contains(fieldbrief_ingest::ocr::install_hint()), "{message}");
}

#[test]
fn cancelling_stops_ocr_mid_page() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.pdf");
    // One page: only a cancel that stops the page's programs can keep it from finishing.
    std::fs::write(&path, fieldbrief_testkit::pdf::scanned(REPORT)).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let options = OcrOptions { cancel: Some(cancel.clone()), ..OcrOptions::default() };
    let limits = Limits { ocr: Some(options), ..Limits::default() };
    let mut pages_begun = 0;
    let err = read_path_with(&path, &limits, &mut |done, total| {
        // Cancelled while the first page is being recognised.
        if done == 0 && total > 0 {
            pages_begun += 1;
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                cancel.store(true, Ordering::SeqCst);
            });
        }
    })
    .unwrap_err();
    assert!(matches!(err.problem, Problem::OcrCancelled), "{err}");
    assert_eq!(pages_begun, 1);
}
