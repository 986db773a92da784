//! A note as the rest of the pipeline sees it: normalised text plus where it came from.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Where a note came from. Stored with the note and shown in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Typed or pasted into the app.
    Typed,
    /// Piped into the CLI.
    Stdin,
    Text,
    Markdown,
    Pdf,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Typed => "typed",
            SourceKind::Stdin => "stdin",
            SourceKind::Text => "text",
            SourceKind::Markdown => "markdown",
            SourceKind::Pdf => "pdf",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        Some(match s {
            "typed" => SourceKind::Typed,
            "stdin" => SourceKind::Stdin,
            "text" => SourceKind::Text,
            "markdown" => SourceKind::Markdown,
            "pdf" => SourceKind::Pdf,
            _ => return None,
        })
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A note after ingestion: the text every engine summarizes and the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: SourceKind,
    /// File name (no directories) or a label such as `"stdin"`; shown to the user.
    pub name: String,
    /// The path the note was read from, when it was a file.
    pub path: Option<String>,
    /// Normalised text (see [`crate::normalize`]).
    pub text: String,
    /// Size of the original input in bytes, before decoding.
    pub original_bytes: u64,
    /// The character encoding the input was decoded from, e.g. `"UTF-8"`, `"windows-1252"`.
    pub encoding: String,
    /// Number of pages, for PDFs.
    pub pages: Option<u32>,
    /// Things the user should know about how the text was obtained (e.g. headers removed).
    pub notices: Vec<String>,
}

/// How [`Document::encoding`] begins when the text was recognised by OCR (then the engine and
/// its languages, e.g. "OCR: tesseract 5.3.0 (eng)").
pub const OCR_ENCODING: &str = "OCR: ";

impl Document {
    /// The engine and languages that recognised the text, when it came from OCR.
    pub fn ocr(&self) -> Option<&str> {
        self.encoding.strip_prefix(OCR_ENCODING)
    }

    /// SHA-256 of the normalised text, hex. Identifies the content for the cache and ledger;
    /// the same note typed twice hashes the same.
    pub fn content_hash(&self) -> String {
        content_hash(&self.text)
    }

    /// A title for history lists: the first heading or line, shortened.
    pub fn title(&self) -> String {
        title_of(&self.text)
    }

    pub fn word_count(&self) -> usize {
        self.text.split_whitespace().count()
    }
}

pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Where the work was done, when the note says so in a labelled line near its top
/// ("Site: Riverside substation", "**Location:** bay 4"), for the printed summary's header.
pub fn site_of(text: &str) -> Option<String> {
    const LABELS: &[&str] = &["site", "location", "customer site", "plant", "facility", "station"];
    text.lines().take(20).find_map(|line| {
        let line = line.trim().trim_start_matches(['-', '*', '#', ' ']).replace("**", "");
        let (label, value) = line.split_once(':')?;
        let value = value.trim();
        (LABELS.contains(&label.trim().to_lowercase().as_str()) && !value.is_empty())
            .then(|| value.chars().take(120).collect())
    })
}

/// The first non-empty line without Markdown heading marks, at most 80 characters.
pub fn title_of(text: &str) -> String {
    let line = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() <= 80 {
        line.to_string()
    } else {
        let cut: String = line.chars().take(79).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_read_from_a_labelled_line_near_the_top() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "# Handover\n\n**Site:** Brackenfield Foods, Wakefield bakery\n",
                Some("Brackenfield Foods, Wakefield bakery"),
            ),
            ("Pump check\nLocation: Riverside PS, bay 4", Some("Riverside PS, bay 4")),
            ("- Customer site: Unit 7", Some("Unit 7")),
            ("Site:\nnothing on the line", None),
            ("The site manager: agreed", None),
            ("No labels at all.", None),
        ];
        for (text, want) in cases {
            assert_eq!(site_of(text).as_deref(), *want, "{text:?}");
        }
        let late = format!("{}Site: too far down", "line\n".repeat(25));
        assert_eq!(site_of(&late), None);
    }

    #[test]
    fn hash_is_of_the_text_only() {
        assert_eq!(
            content_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn title_skips_blank_lines_and_heading_marks_and_is_bounded() {
        assert_eq!(title_of("\n\n## Pump P-101 inspection\nbody"), "Pump P-101 inspection");
        let long = "x".repeat(200);
        let t = title_of(&long);
        assert_eq!(t.chars().count(), 80);
        assert!(t.ends_with('…'));
        assert_eq!(title_of("   "), "");
    }
}
