//! `summarize --ocr`: a scanned PDF's text recognised on the laptop (Tesseract and poppler's
//! pdftoppm, installed by scripts/setup), with progress on stderr and the reason in the JSON
//! and the ledger; refused with the offer when not asked for, and with how to install the
//! programs where they are missing.

mod common;
use common::*;
use fieldbrief_testkit::pdf;

const REPORT: &str = "Pump station 4 inspection\n\
Inlet pressure 2.4 bar, outlet pressure 6.1 bar.\n\
Motor current 41 A on all three phases, bearing temperature 63 C.\n\
Replace the worn coupling insert before the March outage.";

#[test]
fn a_scan_is_summarized_with_ocr_when_asked_and_the_ledger_says_so() {
    let home = Home::new();
    let scan = home.write("scan.pdf", &pdf::scanned(REPORT));

    let refused = home.run(&["summarize", "--json", s(&scan)]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("it is a scan") && stderr.contains("--ocr"), "{stderr}");

    let out = home.run(&["summarize", "--ocr", "--json", s(&scan)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("OCR: recognising page 1 of 1"), "{stderr}");
    let v = one_json_object(&out.stdout);
    let codes: Vec<&str> =
        v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"scanned_pdf_ocr"), "{v}");
    let encoding = v["document"]["encoding"].as_str().unwrap();
    assert!(encoding.starts_with("OCR: tesseract"), "{encoding}");
    assert!(v["document"]["notices"][0].as_str().unwrap().contains("recognised by OCR"), "{v}");
    let summary = v["summary"].as_str().unwrap();
    // The recognised figures reach the summary (which of the readings the ranking keeps at
    // this length is the ranking's business).
    assert!(
        ["6.1 bar", "2.4 bar", "41 A", "63 C"].iter().any(|f| summary.contains(f)),
        "{summary}"
    );

    let reasons: String = home
        .sqlite()
        .query_row(
            "SELECT reasons FROM ledger WHERE status = 'ok' ORDER BY created_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reasons.contains("scanned_pdf_ocr") && reasons.contains("tesseract"), "{reasons}");
}

#[test]
fn without_tesseract_ocr_is_refused_with_how_to_install_it() {
    let home = Home::new();
    let scan = home.write("scan.pdf", &pdf::without_text(1));
    let nowhere = home.dir.path().join("bin");
    std::fs::create_dir(&nowhere).unwrap();
    for (args, says) in [
        (
            vec!["summarize", "--ocr"],
            "OCR was asked for, but Tesseract (tesseract) and poppler's pdftoppm are not installed",
        ),
        (vec!["summarize"], "OCR it first (e.g. ocrmypdf), or install OCR to recognise it here"),
    ] {
        let mut args = args;
        args.push(s(&scan));
        let out = home.command(&args).env("PATH", &nowhere).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("apt install tesseract-ocr poppler-utils"), "{stderr}");
    }
}
