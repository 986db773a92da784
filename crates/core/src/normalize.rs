//! Text normalisation: the one place that decides what "the same text" means.
//!
//! Everything downstream (segmentation, the content hash, the cache, FTS) sees normalised text,
//! so two copies of a note that differ only in line endings or a byte-order mark are the same
//! note. Normalisation never drops words: it only changes whitespace, removes invisible
//! characters, and for PDFs removes running headers/footers and re-joins hyphenated words, each
//! reported as a notice.
//!
//! Text is Unicode NFC (a composed and a decomposed "é" are one character), and typographic
//! ligatures that PDFs produce ("ﬁ", "ﬂ", …) are spelled out, so search, the cache and the
//! fact checks see the letters. Other compatibility characters ("µ", "²", "½") are kept as
//! written: NFKC would turn a measurement's "m²" into "m2".

use regex::Regex;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

/// Normalise decoded text: LF line endings, no BOM or invisible format characters, no trailing
/// spaces, at most one blank line in a row, no leading/trailing blank lines.
pub fn normalize_text(raw: &str) -> String {
    let mut cleaned = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                // CRLF and lone CR both become LF.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                cleaned.push('\n');
            }
            '\u{0C}' | '\u{0B}' | '\u{2028}' | '\u{2029}' | '\u{85}' => cleaned.push('\n'),
            '\u{A0}' | '\u{2007}' | '\u{202F}' => cleaned.push(' '),
            '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{AD}' => {}
            '\t' | '\n' => cleaned.push(c),
            c if c.is_control() => {}
            c => cleaned.push(c),
        }
    }

    let mut out = String::with_capacity(cleaned.len());
    let mut blank_run = 0usize;
    for line in cleaned.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        out.push_str(line);
    }
    // (Edition 2024: the borrow of `out` ends before the `else`.)
    if let Cow::Owned(c) = canonical(&out) { c } else { out }
}

/// `text` in NFC with typographic ligatures spelled out: the form notes are stored, hashed,
/// searched and fact-checked in. Borrowed when it already is (the usual case).
pub fn canonical(text: &str) -> Cow<'_, str> {
    let ligature = |c: char| ('\u{FB00}'..='\u{FB06}').contains(&c);
    let quick_nfc = unicode_normalization::is_nfc_quick(text.chars())
        == unicode_normalization::IsNormalized::Yes;
    if quick_nfc && !text.chars().any(ligature) {
        return Cow::Borrowed(text);
    }
    // Ligatures first, then NFC: a mark after a ligature ("ﬁ" + acute) belongs to its last
    // letter, and the result is NFC whichever way it came (so this is idempotent).
    let mut spelled = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{FB00}' => spelled.push_str("ff"),
            '\u{FB01}' => spelled.push_str("fi"),
            '\u{FB02}' => spelled.push_str("fl"),
            '\u{FB03}' => spelled.push_str("ffi"),
            '\u{FB04}' => spelled.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => spelled.push_str("st"),
            c => spelled.push(c),
        }
    }
    let out: String = spelled.nfc().collect();
    Cow::Owned(out)
}

/// The result of normalising a PDF's pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfText {
    pub text: String,
    pub notices: Vec<String>,
}

static HYPHEN_BREAK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\p{L})-\n[ \t]*(\p{Ll})").expect("static regex"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+").expect("static regex"));
static PAGE_COUNTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:page|pg\.?|seite)\s*\d+(?:\s*(?:of|/|von)\s*\d+)?|^\d+\s*(?:of|/|von)\s*\d+|^[-–—\s]*\d+[-–—\s]*)$")
        .expect("static regex")
});
static PAGE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[-–—\s]*(?:page|pg\.?|seite|p\.)?\s*#\s*(?:(?:of|/|von)\s*#)?[-–—\s]*$")
        .expect("static regex")
});

/// How many lines at the top and bottom of a page can be a running header or footer.
const EDGE_LINES: usize = 3;

/// Normalise the text of a PDF given page by page: drop running headers and footers (lines
/// that repeat, digits aside, at the edge of most pages) and bare page numbers, then re-join
/// words hyphenated across line breaks, then [`normalize_text`].
pub fn normalize_pdf_pages(pages: &[String]) -> PdfText {
    let pages: Vec<Vec<String>> =
        pages.iter().map(|p| normalize_text(p).lines().map(str::to_string).collect()).collect();
    let mut notices = Vec::new();

    // Count, for each digit-blind line shape, on how many pages it sits at an edge.
    let mut edge_counts: HashMap<String, usize> = HashMap::new();
    for page in &pages {
        let mut seen = std::collections::HashSet::new();
        for line in edge_lines(page) {
            let key = shape(line);
            if !key.is_empty() && seen.insert(key.clone()) {
                *edge_counts.entry(key).or_default() += 1;
            }
        }
    }
    let threshold = (pages.len() * 3).div_ceil(5).max(3);
    let repeated: std::collections::HashSet<String> = if pages.len() >= 3 {
        edge_counts.into_iter().filter(|(_, n)| *n >= threshold).map(|(k, _)| k).collect()
    } else {
        Default::default()
    };

    let mut removed_running = 0usize;
    let mut removed_numbers = 0usize;
    let mut example: Option<String> = None;
    let mut kept_pages = Vec::with_capacity(pages.len());
    for page in &pages {
        let non_empty: Vec<usize> =
            page.iter().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, _)| i).collect();
        let edge: std::collections::HashSet<usize> = non_empty
            .iter()
            .take(EDGE_LINES)
            .chain(non_empty.iter().rev().take(EDGE_LINES))
            .copied()
            .collect();
        let mut kept = Vec::with_capacity(page.len());
        for (i, line) in page.iter().enumerate() {
            if edge.contains(&i) {
                let key = shape(line);
                if repeated.contains(&key) {
                    removed_running += 1;
                    example.get_or_insert_with(|| line.trim().to_string());
                    continue;
                }
                if pages.len() >= 2 && PAGE_NUMBER.is_match(&key) {
                    removed_numbers += 1;
                    continue;
                }
            }
            kept.push(line.as_str());
        }
        kept_pages.push(kept.join("\n"));
    }
    if removed_running > 0 {
        notices.push(format!(
            "removed {removed_running} running header/footer lines such as {:?}",
            example.unwrap_or_default()
        ));
    }
    if removed_numbers > 0 {
        notices.push(format!("removed {removed_numbers} page-number lines"));
    }

    let joined = kept_pages.join("\n\n");
    let hyphen_joins = HYPHEN_BREAK.find_iter(&joined).count();
    let dehyphenated = HYPHEN_BREAK.replace_all(&joined, "$1$2");
    if hyphen_joins > 0 {
        notices.push(format!("re-joined {hyphen_joins} words hyphenated across line breaks"));
    }
    PdfText { text: normalize_text(&dehyphenated), notices }
}

fn edge_lines(page: &[String]) -> impl Iterator<Item = &String> {
    let non_empty: Vec<&String> = page.iter().filter(|l| !l.trim().is_empty()).collect();
    let n = non_empty.len();
    let head = n.min(EDGE_LINES);
    let tail_start = n.saturating_sub(EDGE_LINES).max(head);
    non_empty
        .into_iter()
        .enumerate()
        .filter(move |(i, _)| *i < head || *i >= tail_start)
        .map(|(_, l)| l)
}

/// A line with whitespace collapsed, lower-cased, and, when it looks like a page counter,
/// its digits blinded: "Page 3 of 12" and "Page 4 of 12" have the same shape, but two body
/// lines that differ only in a reading do not.
fn shape(line: &str) -> String {
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if PAGE_COUNTER.is_match(&collapsed) {
        DIGITS.replace_all(&collapsed, "#").into_owned()
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_bom_and_invisible_characters() {
        let cases: &[(&str, &str)] = &[
            ("\u{FEFF}a\r\nb\rc\n", "a\nb\nc"),
            ("a \t \nb", "a\nb"),
            ("a\n\n\n\n\nb", "a\n\nb"),
            ("\n\n  \nfirst\n\n", "first"),
            ("4.2\u{A0}bar", "4.2 bar"),
            ("zero\u{200B}width soft\u{AD}hyphen", "zerowidth softhyphen"),
            ("bell\u{7}char", "bellchar"),
            ("page\u{0C}break", "page\nbreak"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_text(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn text_is_nfc_with_ligatures_spelled_out_and_units_kept() {
        let decomposed = "Re\u{301}sume\u{301}: pre\u{301}-check";
        assert_eq!(normalize_text(decomposed), "Résumé: pré-check");
        assert_eq!(
            normalize_text(decomposed),
            normalize_text("Résumé: pré-check"),
            "composed and decomposed are one note"
        );
        assert_eq!(normalize_text("\u{FB01}lter o\u{FB00} \u{FB02}ow"), "filter off flow");
        // Compatibility characters that carry meaning in a measurement stay.
        assert_eq!(normalize_text("12 µF, 4 m², ½ turn, 1.8 GΩ"), "12 µF, 4 m², ½ turn, 1.8 GΩ");
        assert!(matches!(canonical("plain ASCII and é"), Cow::Borrowed(_)));
        // The Ohm sign (U+2126) is NFC-equivalent to Omega, so the figure reads the same.
        assert_eq!(canonical("1.8 G\u{2126}"), "1.8 GΩ");
        // A mark after a ligature lands on its last letter, composed: one pass is enough.
        let once = canonical("\u{FB01}\u{301}").into_owned();
        assert_eq!(once, "fí");
        assert_eq!(canonical(&once), once);
    }

    #[test]
    fn normalisation_is_idempotent() {
        let once = normalize_text("A\r\n\r\n\r\nB \u{FEFF}\n  C");
        assert_eq!(normalize_text(&once), once);
    }

    fn page(n: usize, total: usize, body: &str) -> String {
        format!("ACME Utilities - Substation report\n{body}\nPage {n} of {total}\n")
    }

    #[test]
    fn running_headers_footers_and_page_numbers_are_removed_and_reported() {
        let pages: Vec<String> = (1..=4)
            .map(|n| page(n, 4, &format!("Body line of page {n}.\nMore text {n}.")))
            .collect();
        let out = normalize_pdf_pages(&pages);
        assert!(!out.text.contains("ACME Utilities"), "{}", out.text);
        assert!(!out.text.contains("Page 2 of 4"), "{}", out.text);
        for n in 1..=4 {
            assert!(out.text.contains(&format!("Body line of page {n}.")));
            assert!(out.text.contains(&format!("More text {n}.")));
        }
        assert!(
            out.notices.iter().any(|n| n.contains("running header/footer")),
            "{:?}",
            out.notices
        );
    }

    #[test]
    fn two_page_documents_keep_their_first_lines() {
        // With two pages a repeated first line may be real content: only bare page numbers go.
        let pages =
            vec!["Pump report\nline one.\n1".to_string(), "Pump report\nline two.\n2".to_string()];
        let out = normalize_pdf_pages(&pages);
        assert_eq!(out.text.matches("Pump report").count(), 2);
        assert!(!out.text.lines().any(|l| l.trim() == "1" || l.trim() == "2"), "{}", out.text);
    }

    #[test]
    fn hyphenated_line_breaks_are_rejoined_but_codes_are_not() {
        let out = normalize_pdf_pages(&[
            "The inspec-\ntion found wear.\nP/N 6205-\n2RS fitted.".to_string()
        ]);
        assert!(out.text.contains("inspection found wear."), "{}", out.text);
        assert!(out.text.contains("6205-\n2RS"), "{}", out.text);
        assert_eq!(out.notices.len(), 1);
    }
}
