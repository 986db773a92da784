//! The testkit's generated PDFs with known text (`fieldbrief_testkit::pdf_cases`): CID and
//! Type 3 fonts, form fields, incremental updates, a broken cross-reference table, colour
//! spaces, a rotated page, two columns and a table drawn column by column. Each reads back
//! with at least 98 % of its words, or is refused for its true reason; columns and table rows
//! come out in reading order.

use fieldbrief_ingest::Problem;
use fieldbrief_ingest::pdf::extract_with;
use fieldbrief_testkit::pdf_cases::{self, Expect, TABLE};
use std::time::Duration;

/// The share of `expected`'s words found in `got`.
fn found(expected: &str, got: &str) -> f64 {
    let (n, of) = pdf_cases::words_found(expected, got);
    n as f64 / of.max(1) as f64
}

fn read(bytes: &[u8]) -> Result<String, Problem> {
    extract_with(bytes.to_vec(), Duration::from_secs(30), None).map(|e| e.text)
}

fn case(name: &str) -> Vec<u8> {
    pdf_cases::all().into_iter().find(|c| c.name == name).unwrap().bytes
}

#[test]
fn every_generated_pdf_reads_back_its_words_or_is_refused_for_its_reason() {
    let mut wrong = Vec::new();
    for case in pdf_cases::all() {
        let got = read(&case.bytes);
        match (&case.expect, &got) {
            (Expect::Text(expected), Ok(text)) => {
                let share = found(expected, text);
                if share < 0.98 {
                    wrong.push(format!(
                        "{}: {:.0} % of the words: {text:?}",
                        case.name,
                        share * 100.0
                    ));
                }
            }
            (Expect::Unmapped, Err(Problem::PdfUnmappedText { .. })) => {}
            (expect, got) => wrong.push(format!("{}: expected {expect:?}, got {got:?}", case.name)),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_updated_page_is_read_not_the_draft() {
    let text = read(&case("incremental-update")).unwrap();
    assert!(text.contains("4.7 bar") && !text.contains("Draft"), "{text}");
}

#[test]
fn two_columns_read_one_after_the_other() {
    let text = read(&case("two-columns")).unwrap();
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} in {text}"));
    // The left column's last words come before the right column's first.
    assert!(at("outage") < at("The right column"), "{text}");
    assert!(at("north pump house") < at("impeller"), "{text}");
}

#[test]
fn a_table_drawn_column_by_column_keeps_each_row_on_one_line() {
    let text = read(&case("table-by-columns")).unwrap();
    let lines: Vec<String> =
        text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    for row in TABLE {
        let row = row.join(" ");
        assert!(lines.contains(&row), "{row:?} is not a line of:\n{text}");
    }
}

#[test]
fn form_fields_and_annotations_are_marked_as_such() {
    let text = read(&case("form-fields-and-annotations")).unwrap();
    assert!(text.contains("Form fields:") && text.contains("Annotations:"), "{text}");
    assert!(text.find("Work order form") < text.find("Form fields:"), "{text}");
}
