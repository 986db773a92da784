//! Ingestion: from a path, stdin or typed text to a [`Document`], or an [`Error`] that names the
//! input and says exactly what is wrong with it.
//!
//! Order of checks for a file, cheapest first, so a bad input is refused before it costs
//! anything: exists → not a directory → size limit (from metadata, before reading) → empty →
//! content sniffing (PDF magic, known binary formats, NUL bytes) → decoding → normalisation →
//! not whitespace-only. Nothing here panics on any input; PDF parsing, which can panic or spin
//! on hostile files, is isolated in [`pdf`].

mod decode;
pub mod inspect;
mod layout;
pub mod ocr;
pub mod pdf;
mod repair;
mod sniff;

use fieldbrief_core::normalize::normalize_text;
use fieldbrief_core::{Document, SourceKind};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub use sniff::Format;

/// Limits applied to every input.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: u64,
    pub pdf_timeout: Duration,
    /// Where PDF text is extracted: a child process with CPU-time and memory limits, or
    /// (`None`: a library caller without an executable to start) a thread of this process.
    pub pdf: Option<pdf::Extractor>,
    /// Recognise the text of a scanned PDF (or one whose fonts cannot be read) with OCR;
    /// `None`: refuse it with the advice.
    pub ocr: Option<ocr::OcrOptions>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 50 * 1024 * 1024,
            pdf_timeout: Duration::from_secs(30),
            pdf: None,
            ocr: None,
        }
    }
}

impl From<&fieldbrief_core::config::Limits> for Limits {
    fn from(l: &fieldbrief_core::config::Limits) -> Self {
        Limits {
            max_bytes: l.max_input_bytes(),
            pdf_timeout: Duration::from_secs(l.pdf_timeout_secs.max(1)),
            pdf: None,
            ocr: None,
        }
    }
}

/// An input that cannot become a note. Displays as "reading NAME: PROBLEM".
#[derive(Debug, thiserror::Error)]
#[error("reading {input}: {problem}")]
pub struct Error {
    /// The path as the user gave it, or "stdin" / "typed note".
    pub input: String,
    pub problem: Problem,
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("no such file")]
    NotFound,
    #[error("it is a directory, not a file")]
    IsDirectory,
    #[error("permission denied")]
    PermissionDenied,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it is {size} bytes, over the {limit}-byte limit ({limit_mib} MiB; change [limits] max_input_mib in config.toml)", limit_mib = limit / (1024 * 1024))]
    TooLarge { size: u64, limit: u64 },
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("the note contains only whitespace")]
    WhitespaceOnly,
    #[error("not a text file: it looks like {0}")]
    Binary(&'static str),
    #[error("the file ends in .pdf but is not a PDF: it looks like {0}")]
    NotAPdf(&'static str),
    #[error("unsupported file type .{0} (supported: .txt, .md, .pdf and plain-text files)")]
    Unsupported(String),
    #[error(
        "invalid UTF-8 at byte {offset}, although the file starts with a UTF-8 byte-order mark"
    )]
    InvalidUtf8 { offset: usize },
    #[error("invalid UTF-16: {0}")]
    InvalidUtf16(&'static str),
    #[error("corrupt PDF: {0}")]
    PdfCorrupt(String),
    #[error("the PDF is encrypted; remove the password and try again")]
    PdfEncrypted,
    /// `ocr_here`: Tesseract and pdftoppm are installed, so the advice is to ask for OCR.
    #[error(
        "no text layer on any of its {pages} pages: it is a scan (images only); {}",
        ocr_advice(*ocr_here, "ocrmypdf")
    )]
    PdfNoText { pages: usize, ocr_here: bool },
    /// Pages that show text, in fonts with no mapping to characters (no ToUnicode, a Type 3
    /// font with made-up glyph names): the words are drawn but cannot be read back.
    #[error(
        "its {pages} pages draw text in fonts that do not say which characters they are, so no text can be read from it; {}",
        ocr_advice(*ocr_here, "ocrmypdf --force-ocr")
    )]
    PdfUnmappedText { pages: usize, ocr_here: bool },
    /// OCR was asked for and cannot run here.
    #[error("OCR was asked for, but {0}")]
    OcrUnavailable(String),
    #[error("OCR failed: {0}")]
    OcrFailed(String),
    /// The user stopped OCR (the note was not saved: there was no text yet).
    #[error("OCR was cancelled")]
    OcrCancelled,
    #[error("OCR found no text on its {pages} scanned pages (blank, or not a language it reads)")]
    OcrNoText { pages: usize },
    /// No text and no images on any page.
    #[error(
        "the PDF has no text and no images on its {pages} pages (blank, or lines and shapes only)"
    )]
    PdfBlank { pages: usize },
    #[error("PDF text extraction gave up after {secs} s (the file may be malformed)")]
    PdfTimeout { secs: u64 },
    /// The PDF needed more memory or CPU time than its extraction may take (a decompression
    /// bomb, or a file far beyond a field report); the app was not touched by it.
    #[error("reading the PDF {0}; it was stopped (the file may be hostile or malformed)")]
    PdfTooCostly(String),
}

/// What to do with a PDF whose text cannot be read: OCR it here when that can be done, else
/// elsewhere (`tool`) or after installing it.
fn ocr_advice(here: bool, tool: &str) -> String {
    if here {
        "recognise its text on this laptop with OCR (`fieldbrief summarize --ocr`, or Recognise text in the app)".into()
    } else {
        format!(
            "OCR it first (e.g. {tool}), or install OCR to recognise it here ({})",
            ocr::install_hint()
        )
    }
}

impl Error {
    fn new(input: impl Into<String>, problem: Problem) -> Self {
        Error { input: input.into(), problem }
    }
}

/// Reads a note from a file.
pub fn read_path(path: &Path, limits: &Limits) -> Result<Document, Error> {
    read_path_with(path, limits, &mut |_, _| {})
}

/// [`read_path`], telling `progress(done, total)` how far OCR has come (pages) when it runs.
pub fn read_path_with(
    path: &Path,
    limits: &Limits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Document, Error> {
    let input = path.display().to_string();
    let fail = |p: Problem| Error::new(input.clone(), p);
    let meta = std::fs::metadata(path).map_err(|e| fail(io_problem(e)))?;
    if meta.is_dir() {
        return Err(fail(Problem::IsDirectory));
    }
    if meta.len() > limits.max_bytes {
        return Err(fail(Problem::TooLarge { size: meta.len(), limit: limits.max_bytes }));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(io_problem(e)))?;
    // Read at most one byte past the limit: the file may have grown since metadata().
    let bytes = read_limited(file, limits.max_bytes).map_err(fail)?;
    let name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| input.clone());
    let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    let mut doc = from_bytes(&input, &name, extension.as_deref(), bytes, limits, progress)?;
    doc.path = Some(path.display().to_string());
    Ok(doc)
}

/// Reads a note from a stream (the CLI's stdin), up to the size limit.
pub fn read_stream(reader: impl Read, label: &str, limits: &Limits) -> Result<Document, Error> {
    read_stream_with(reader, label, limits, &mut |_, _| {})
}

/// [`read_stream`] with OCR's progress, as [`read_path_with`].
pub fn read_stream_with(
    reader: impl Read,
    label: &str,
    limits: &Limits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Document, Error> {
    let bytes = read_limited(reader, limits.max_bytes).map_err(|p| Error::new(label, p))?;
    let mut doc = from_bytes(label, label, None, bytes, limits, progress)?;
    if doc.kind == SourceKind::Text {
        doc.kind = SourceKind::Stdin;
    }
    Ok(doc)
}

/// A note typed or pasted into the app.
/// [`from_typed`] under the same size limit as a file: typed, pasted or drafted text is no
/// way around `max_input_mib`.
pub fn from_typed_within(text: &str, limits: &Limits) -> Result<Document, Error> {
    if text.len() as u64 > limits.max_bytes {
        let problem = Problem::TooLarge { size: text.len() as u64, limit: limits.max_bytes };
        return Err(Error::new("typed note", problem));
    }
    from_typed(text)
}

pub fn from_typed(text: &str) -> Result<Document, Error> {
    let normalized = normalize_text(text);
    if normalized.trim().is_empty() {
        let problem = if text.is_empty() { Problem::Empty } else { Problem::WhitespaceOnly };
        return Err(Error::new("typed note", problem));
    }
    Ok(Document {
        kind: SourceKind::Typed,
        name: "typed note".into(),
        path: None,
        original_bytes: text.len() as u64,
        text: normalized,
        encoding: "UTF-8".into(),
        pages: None,
        notices: Vec::new(),
    })
}

fn read_limited(reader: impl Read, max_bytes: u64) -> Result<Vec<u8>, Problem> {
    let mut bytes = Vec::new();
    reader.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(io_problem)?;
    if bytes.len() as u64 > max_bytes {
        return Err(Problem::TooLarge { size: bytes.len() as u64, limit: max_bytes });
    }
    Ok(bytes)
}

fn io_problem(e: std::io::Error) -> Problem {
    match e.kind() {
        std::io::ErrorKind::NotFound => Problem::NotFound,
        std::io::ErrorKind::PermissionDenied => Problem::PermissionDenied,
        std::io::ErrorKind::IsADirectory => Problem::IsDirectory,
        _ => Problem::Io(e),
    }
}

/// A scanned PDF's text, recognised by OCR, as a document that says so.
fn recognised(
    name: &str,
    bytes: &[u8],
    pages: usize,
    why: &str,
    options: &ocr::OcrOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Document, Problem> {
    let read = ocr::recognise(bytes, pages, options, progress)?;
    let normalized = fieldbrief_core::normalize::normalize_pdf_pages(&read.pages);
    if normalized.text.split_whitespace().count() == 0 {
        return Err(Problem::OcrNoText { pages });
    }
    let mut notices = vec![format!(
        "{why}: the text of its {pages} page{} was recognised by OCR on this laptop ({}, {}, {:.1} s); check names and figures against the original",
        if pages == 1 { "" } else { "s" },
        read.engine,
        options.languages,
        read.seconds
    )];
    notices.extend(normalized.notices);
    Ok(Document {
        kind: SourceKind::Pdf,
        name: name.into(),
        path: None,
        original_bytes: bytes.len() as u64,
        text: normalized.text,
        encoding: format!(
            "{}{} ({})",
            fieldbrief_core::OCR_ENCODING,
            read.engine,
            options.languages
        ),
        pages: Some(pages as u32),
        notices,
    })
}

const TEXT_EXTENSIONS: &[&str] =
    &["txt", "text", "md", "markdown", "mdown", "log", "note", "notes", "csv"];
const MARKDOWN_EXTENSIONS: &[&str] = &["md", "markdown", "mdown"];

fn from_bytes(
    input: &str,
    name: &str,
    extension: Option<&str>,
    bytes: Vec<u8>,
    limits: &Limits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Document, Error> {
    let fail = |p: Problem| Error::new(input, p);
    if bytes.is_empty() {
        return Err(fail(Problem::Empty));
    }
    let original_bytes = bytes.len() as u64;
    let format = sniff::sniff(&bytes, extension == Some("pdf"));
    match (extension, format) {
        (_, Format::Pdf) => {
            // OCR, when asked for, needs the file again after the text layer was looked for.
            let again = limits.ocr.as_ref().map(|o| (o, bytes.clone()));
            let extracted = match pdf::extract_with(bytes, limits.pdf_timeout, limits.pdf.as_ref())
            {
                Ok(extracted) => extracted,
                Err(Problem::PdfNoText { pages, .. }) if let Some((options, bytes)) = again => {
                    let why = "no text layer";
                    return recognised(name, &bytes, pages, why, options, progress).map_err(fail);
                }
                Err(Problem::PdfUnmappedText { pages, .. })
                    if let Some((options, bytes)) = again =>
                {
                    let why = "its fonts do not say which characters they draw";
                    return recognised(name, &bytes, pages, why, options, progress).map_err(fail);
                }
                Err(p) => return Err(fail(p)),
            };
            return Ok(Document {
                kind: SourceKind::Pdf,
                name: name.into(),
                path: None,
                text: extracted.text,
                original_bytes,
                encoding: "PDF text layer".into(),
                pages: Some(extracted.pages as u32),
                notices: extracted.notices,
            });
        }
        (Some("pdf"), Format::Binary(what)) => return Err(fail(Problem::NotAPdf(what))),
        (Some("pdf"), Format::Text) => return Err(fail(Problem::NotAPdf("plain text"))),
        (_, Format::Binary(what)) => return Err(fail(Problem::Binary(what))),
        (Some(ext), Format::Text)
            if !TEXT_EXTENSIONS.contains(&ext) && sniff::known_binary_extension(ext) =>
        {
            return Err(fail(Problem::Unsupported(ext.to_string())));
        }
        (_, Format::Text) => {}
    }

    let decoded = decode::decode(&bytes).map_err(fail)?;
    let text = normalize_text(&decoded.text);
    if text.trim().is_empty() {
        return Err(fail(Problem::WhitespaceOnly));
    }
    let kind = match extension {
        Some(ext) if MARKDOWN_EXTENSIONS.contains(&ext) => SourceKind::Markdown,
        _ => SourceKind::Text,
    };
    Ok(Document {
        kind,
        name: name.into(),
        path: None,
        text,
        original_bytes,
        encoding: decoded.encoding.to_string(),
        pages: None,
        notices: decoded.notices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbrief_testkit::{bad_inputs, pdf as make_pdf};
    use std::io::Write;

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    #[test]
    fn bad_inputs_each_get_their_own_problem_and_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let tight = Limits { max_bytes: 1024, ..Limits::default() };
        let cases: Vec<(&str, Vec<u8>, Limits, &str)> = vec![
            ("empty.txt", vec![], Limits::default(), "the file is empty"),
            ("blank.md", b" \n\t\r\n  ".to_vec(), Limits::default(), "only whitespace"),
            (
                "scan.pdf",
                bad_inputs::jpeg(),
                Limits::default(),
                "ends in .pdf but is not a PDF: it looks like a JPEG image",
            ),
            (
                "cut.pdf",
                bad_inputs::truncated_pdf(),
                Limits::default(),
                "probably cut off: only 1 of its 4 pages",
            ),
            (
                "hostile.pdf",
                bad_inputs::pdf_that_panics_the_parser(),
                Limits::default(),
                "the PDF parser could not read it",
            ),
            (
                "scanned.pdf",
                make_pdf::without_text(3),
                Limits::default(),
                "no text layer on any of its 3 pages: it is a scan",
            ),
            (
                "drawing.pdf",
                make_pdf::drawings_only(2),
                Limits::default(),
                "no text and no images on its 2 pages",
            ),
            (
                "prog.txt",
                bad_inputs::binary(),
                Limits::default(),
                "not a text file: it looks like an ELF executable",
            ),
            (
                "bom.txt",
                bad_inputs::invalid_utf8_with_bom(),
                Limits::default(),
                "invalid UTF-8 at byte 42",
            ),
            ("big.txt", vec![b'a'; 2048], tight, "over the 1024-byte limit"),
            (
                "report.docx",
                b"PK\x03\x04rest-of-zip".to_vec(),
                Limits::default(),
                "looks like a ZIP archive",
            ),
            ("photo.jpg", bad_inputs::jpeg(), Limits::default(), "looks like a JPEG image"),
            ("odd.txt", vec![0xFF, 0xFE, b'a', 0, b'b'], Limits::default(), "invalid UTF-16"),
        ];
        for (name, bytes, limits, want) in cases {
            let path = write(&dir, name, &bytes);
            let err = read_path(&path, &limits).expect_err(name);
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("reading {}: ", path.display())), "{msg}");
            assert!(msg.contains(want), "{name}: {msg}");
        }
        let missing = read_path(&dir.path().join("nope.txt"), &Limits::default()).unwrap_err();
        assert!(matches!(missing.problem, Problem::NotFound), "{missing}");
        let is_dir = read_path(dir.path(), &Limits::default()).unwrap_err();
        assert!(matches!(is_dir.problem, Problem::IsDirectory), "{is_dir}");
    }

    #[test]
    fn encodings_decode_to_the_same_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "Müller: Überlast at 78 °C, 10 µm filter, 400 V ± 1 %.\nSeal replaced.";
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("utf8.txt", text.as_bytes().to_vec(), "UTF-8"),
            ("bom.txt", bom, "UTF-8"),
            ("le.txt", bad_inputs::utf16(text, true), "UTF-16LE"),
            ("be.txt", bad_inputs::utf16(text, false), "UTF-16BE"),
            ("latin1.txt", bad_inputs::latin1(text), "windows-1252"),
        ];
        for (name, bytes, encoding) in cases {
            let doc = read_path(&write(&dir, name, &bytes), &Limits::default()).unwrap();
            assert_eq!(doc.text, text, "{name}");
            assert_eq!(doc.encoding, encoding, "{name}");
            assert_eq!(doc.kind, SourceKind::Text);
        }
    }

    #[test]
    fn pdf_text_comes_back_without_running_headers() {
        let dir = tempfile::tempdir().unwrap();
        let body: String = (1..=120)
            .map(|i| format!("Reading {i}: discharge pressure 4.{i} bar at pump P-{i}.\n"))
            .collect();
        let layout = make_pdf::Layout {
            lines_per_page: 40,
            header: Some("ACME Report".into()),
            ..Default::default()
        };
        let doc = read_path(
            &write(&dir, "r.pdf", &make_pdf::from_text(&body, &layout)),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.kind, SourceKind::Pdf);
        assert_eq!(doc.pages, Some(3));
        assert!(!doc.text.contains("ACME Report"), "{}", doc.text);
        assert!(!doc.text.contains("Page 2 of 3"));
        for i in 1..=120 {
            assert!(
                doc.text.contains(&format!("discharge pressure 4.{i} bar at pump P-{i}.")),
                "line {i} lost"
            );
        }
    }

    #[test]
    fn pdf_extraction_is_abandoned_at_the_time_limit() {
        let body =
            "Reading: discharge pressure 4.2 bar at pump P-101, bearing 78 °C.\n".repeat(48 * 100);
        let bytes = make_pdf::from_text(
            &body,
            &make_pdf::Layout { lines_per_page: 48, ..Default::default() },
        );
        let started = std::time::Instant::now();
        let err = pdf::extract_with(bytes, std::time::Duration::from_millis(1), None)
            .expect_err("must time out");
        assert!(matches!(err, Problem::PdfTimeout { .. }), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn stdin_and_typed_notes() {
        let doc = read_stream(&b"Pump ok.\r\n"[..], "stdin", &Limits::default()).unwrap();
        assert_eq!((doc.kind, doc.text.as_str()), (SourceKind::Stdin, "Pump ok."));
        let err = read_stream(&b""[..], "stdin", &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), "reading stdin: the file is empty (0 bytes)");
        let too_big =
            read_stream(&[b'x'; 100][..], "stdin", &Limits { max_bytes: 10, ..Limits::default() });
        assert!(matches!(too_big.unwrap_err().problem, Problem::TooLarge { .. }));
        let small = Limits { max_bytes: 64, ..Limits::default() };
        let typed = from_typed_within(&"pump ok. ".repeat(10), &small).unwrap_err();
        assert!(matches!(typed.problem, Problem::TooLarge { size: 90, limit: 64 }), "{typed}");
        assert!(from_typed_within("pump ok.", &small).is_ok());
        assert!(from_typed(" \n ").is_err());
        assert_eq!(from_typed("a\r\nb").unwrap().text, "a\nb");
    }
}
