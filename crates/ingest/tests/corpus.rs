//! The real-world PDF corpus (`scripts/fetch-pdf-corpus`: the test PDFs that pikepdf,
//! ocrmypdf, pypdf and pdftotext ship in their source packages), read as a technician's
//! reports would be. Compared with poppler's `pdftotext` (installed by scripts/setup): a PDF
//! in which it finds text is never called a scan, a blank page or unreadable by us; every
//! file is read or refused with its reason, none panics or hangs; and each way a PDF can have
//! no text gets its own diagnosis.

use fieldbrief_ingest::Problem;
use fieldbrief_ingest::pdf::extract_with;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn corpus() -> PathBuf {
    let dir = std::env::var_os("FIELDBRIEF_PDF_CORPUS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/fieldbrief/pdf-corpus")
    });
    assert!(
        dir.join("pypdf/crazyones.pdf").is_file(),
        "the PDF corpus is not at {}: run `scripts/fetch-pdf-corpus` (scripts/test does) or set FIELDBRIEF_PDF_CORPUS",
        dir.display()
    );
    dir
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn ours(path: &Path) -> Result<String, Problem> {
    extract_with(std::fs::read(path).unwrap(), Duration::from_secs(60), None).map(|e| e.text)
}

fn pdftotext_words(path: &Path) -> usize {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup)");
    String::from_utf8_lossy(&out.stdout).split_whitespace().count()
}

#[test]
fn every_file_is_read_or_refused_for_its_reason_and_no_text_pdf_is_called_a_scan() {
    let dir = corpus();
    let all = files(&dir);
    assert!(all.len() > 150, "{} PDFs", all.len());
    let mut wrong = Vec::new();
    for f in &all {
        let result = ours(f);
        let name = f.strip_prefix(&dir).unwrap().display().to_string();
        if let Err(Problem::PdfTimeout { .. }) = result {
            wrong.push(format!("{name}: timed out"));
            continue;
        }
        let poppler = pdftotext_words(f);
        if poppler >= 20
            && let Err(
                p @ (Problem::PdfNoText { .. }
                | Problem::PdfBlank { .. }
                | Problem::PdfUnmappedText { .. }),
            ) = &result
        {
            wrong.push(format!("{name}: pdftotext reads {poppler} words, we said: {p}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_kind_of_pdf_without_text_gets_its_own_diagnosis() {
    let dir = corpus();
    type Expect = fn(&Problem) -> bool;
    let cases: &[(&str, Expect)] = &[
        ("pypdf/encryption/r4-user-password.pdf", |p| matches!(p, Problem::PdfEncrypted)),
        ("pdftotext/user_password.pdf", |p| matches!(p, Problem::PdfEncrypted)),
        ("pikepdf/congress.pdf", |p| matches!(p, Problem::PdfNoText { pages: 1, .. })),
        ("ocrmypdf/type3_font_nomapping.pdf", |p| matches!(p, Problem::PdfUnmappedText { .. })),
        ("pdftotext/corrupt.pdf", |p| matches!(p, Problem::PdfCorrupt(_))),
    ];
    for (file, expected) in cases {
        match ours(&dir.join(file)) {
            Err(p) => assert!(expected(&p), "{file}: {p}"),
            Ok(text) => panic!("{file} gave text: {text:?}"),
        }
    }
    let message = ours(&dir.join("pikepdf/congress.pdf")).unwrap_err().to_string();
    assert!(message.contains("scan") && message.contains("OCR"), "{message}");
}

#[test]
fn a_blank_pdf_is_blank_not_a_scan() {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(Stream::new(dictionary! {}, Vec::new()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()], "Contents" => content,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let err = extract_with(bytes, Duration::from_secs(30), None).unwrap_err();
    assert!(matches!(err, Problem::PdfBlank { pages: 1 }), "{err}");
    assert!(err.to_string().contains("blank"), "{err}");
}

#[test]
fn a_known_text_reads_back_with_its_words() {
    let dir = corpus();
    let expected = std::fs::read_to_string(dir.join("pypdf/crazyones.txt")).unwrap();
    let got = ours(&dir.join("pypdf/crazyones.pdf")).unwrap();
    let (found, of) = fieldbrief_testkit::pdf_cases::words_found(&expected, &got);
    assert!(found * 100 >= of * 98, "{found} of {of} expected words");
}

#[test]
fn filled_in_form_fields_are_kept_and_marked() {
    let dir = corpus();
    let text = ours(&dir.join("pypdf/form_evince.pdf")).unwrap();
    assert!(text.contains("Form fields:"), "{text}");
}
