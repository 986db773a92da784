use super::*;

fn font() -> Font {
    Font::find().expect("CI installs fonts-dejavu-core (scripts/setup)")
}

fn sheet(body: &str) -> Sheet {
    Sheet {
        title: "Substation T2 – insulation test".into(),
        fields: vec![
            ("Date".into(), "2026-11-21 09:00 UTC".into()),
            ("Site".into(), "Riverside substation, bay 4".into()),
            ("Style".into(), "handover".into()),
        ],
        heading: "Handover".into(),
        body: body.into(),
        footer: vec![
            "Route: local model · Model: qwen2.5-0.5b-instruct 2024.09 · Quality: passed".into(),
        ],
        creator: "Fieldbrief test".into(),
    }
}

/// The PDF's text as an independent reader (pdf-extract) gets it back.
fn text_of(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf).expect("the PDF reads back")
}

#[test]
fn a_sheet_renders_as_a_pdf_whose_text_reads_back_with_every_figure() {
    let body = "- L1 to earth 1.8 GΩ, L2 2.1 GΩ at 5 kV\n- Oil at 62 °C, 12 µF capacitor replaced\n\nBreaker CB-7 left **open**; permit PTW-2231 still live.";
    let out = render(&sheet(body), &font()).unwrap();
    assert!(out.bytes.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(out.pages, 1);
    assert!(out.missing.is_empty(), "{:?}", out.missing);
    let text = text_of(&out.bytes);
    for want in [
        "Substation T2 – insulation test",
        "Riverside substation, bay 4",
        "1.8 GΩ",
        "62 °C",
        "12 µF",
        "CB-7 left open",
        "PTW-2231",
        "qwen2.5-0.5b-instruct 2024.09",
        "page 1 of 1",
    ] {
        assert!(text.contains(want), "{want:?} is not in the PDF's text:\n{text}");
    }
    assert!(!text.contains("**"), "emphasis marks are not printed");
    // The font is a subset: far smaller than DejaVu Sans' 700 KB.
    assert!(out.bytes.len() < 120_000, "{} bytes", out.bytes.len());
}

#[test]
fn a_long_summary_flows_onto_more_pages_and_long_words_are_broken_not_cut() {
    let serial = "SN-".to_string() + &"0123456789".repeat(12);
    let mut body = String::new();
    for i in 1..=90 {
        body.push_str(&format!("- Item {i}: torque checked at {i}.5 Nm on flange bolt B{i}\n"));
    }
    body.push_str(&format!("\nSerial {serial} recorded."));
    let out = render(&sheet(&body), &font()).unwrap();
    assert!(out.pages >= 3, "{} pages", out.pages);
    let text = text_of(&out.bytes);
    assert!(text.contains(&format!("page {} of {}", out.pages, out.pages)), "{text}");
    for i in [1, 45, 90] {
        assert!(text.contains(&format!("{i}.5 Nm on flange bolt B{i}")), "item {i} lost");
    }
    let squashed: String = text.split_whitespace().collect();
    assert!(squashed.contains(&serial), "the long serial is kept whole across its line breaks");
}

#[test]
fn characters_the_font_cannot_draw_are_reported_not_dropped() {
    let out = render(&sheet("- Label reads 漢字 and 𝄞"), &font()).unwrap();
    assert_eq!(out.missing, vec!['漢', '字', '𝄞']);
}

#[test]
fn numbered_items_headings_and_paragraph_lines_are_laid_out() {
    assert_eq!(numbered("12. Replace seal"), Some(("12", "Replace seal")));
    assert_eq!(numbered("3) Torque"), Some(("3", "Torque")));
    assert_eq!(numbered("2026. A year"), None);
    assert_eq!(numbered("4.2 bar"), None);
    let out = render(
        &sheet("## Open items\n1. Order seal kit\n2. Re-test\n\nA paragraph\nover two lines."),
        &font(),
    )
    .unwrap();
    let text = text_of(&out.bytes);
    for want in ["Open items", "1.", "Order seal kit", "A paragraph over two lines."] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
}

#[test]
fn a_missing_or_broken_font_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_font = dir.path().join("font.ttf");
    std::fs::write(&not_a_font, b"not a font").unwrap();
    let err = Font::load(&not_a_font, None).unwrap_err().to_string();
    assert!(err.contains("font.ttf") && err.contains("cannot be used"), "{err}");
    let err = Font::load(&dir.path().join("absent.ttf"), None).unwrap_err().to_string();
    assert!(err.contains("absent.ttf"), "{err}");
    let looked = Error::NoFont { looked: "/a.ttf".into() }.to_string();
    assert!(looked.contains("fonts-dejavu-core") && looked.contains("FIELDBRIEF_PDF_FONT"));
}

#[test]
fn a_long_footer_is_printed_whole_and_the_text_stays_above_it() {
    let mut s = sheet(&"- A line of the summary that fills the page.\n".repeat(60));
    s.footer = (1..=5).map(|i| format!("Footer line {i}: {}", "small print ".repeat(12))).collect();
    let out = render(&s, &font()).unwrap();
    let text = text_of(&out.bytes);
    for i in 1..=5 {
        assert!(text.contains(&format!("Footer line {i}:")), "footer line {i} lost");
    }
    assert_eq!(text.matches("A line of the summary").count(), 60, "no summary line lost");
    assert!(out.pages >= 2);
    // Past a dozen lines the foot says how many are not shown.
    s.footer = (1..=40).map(|i| format!("Line {i}")).collect();
    let text = text_of(&render(&s, &font()).unwrap().bytes);
    let shown = |n: usize| text.lines().any(|l| l.trim() == format!("Line {n}"));
    assert!(shown(11) && !shown(12), "{text}");
    assert!(text.contains("and 29 more lines of small print not shown"), "{text}");
}
