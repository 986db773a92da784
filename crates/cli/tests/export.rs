//! `export ID --pdf`: a summary as the PDF a work order gets, checked the way a person would
//! see it: rendered to an image by poppler's `pdftoppm` (ink on the page) and read back by
//! `pdftotext` (every figure there). scripts/setup installs poppler-utils and DejaVu Sans.

mod common;
use common::*;
use std::process::Command;

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", s(pdf), "-"])
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Renders page `page` at 40 dpi to greyscale and returns (width, height, share of dark pixels).
fn ink(pdf: &std::path::Path, page: u32) -> (usize, usize, f64) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("page");
    let out = Command::new("pdftoppm")
        .args([
            "-gray",
            "-r",
            "40",
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
            "-singlefile",
        ])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils, installed by scripts/setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pgm = std::fs::read(dir.path().join("page.pgm")).unwrap();
    // Binary PGM: "P5", width, height, maxval, then one byte per pixel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).to_string());
    }
    let pixels = &pgm[at + 1..];
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    assert_eq!(pixels.len(), w * h);
    let dark = pixels.iter().filter(|&&p| p < 128).count();
    (w, h, dark as f64 / pixels.len() as f64)
}

#[test]
fn a_summary_exports_as_a_pdf_with_its_details_figures_and_footer() {
    let home = Home::new();
    let done = home.json(&[
        "summarize",
        "--json",
        "--style",
        "handover",
        // One page's worth: the default for this 717-word inspection, dense with readings,
        // is 45 % of it.
        "--max-words",
        "220",
        s(&sample("substation-inspection.md")),
    ]);
    let id = done["note_id"].to_string();
    let pdf = home.path().join("out dir with spaces/ss-04.pdf");
    std::fs::create_dir_all(pdf.parent().unwrap()).unwrap();
    let report = home.json(&["export", &id, "--pdf", "-o", s(&pdf), "--json"]);
    assert_eq!(report["pages"], 1, "{report}");
    assert_eq!(report["request_id"], done["request_id"]);
    assert_eq!(report["missing"], serde_json::json!([]), "{report}");
    assert_eq!(report["bytes"].as_u64().unwrap(), std::fs::metadata(&pdf).unwrap().len());

    // As printed: an A4 page (40 dpi: 331 × 468 pixels) with text on it, not a blank sheet.
    let (w, h, dark) = ink(&pdf, 1);
    assert_eq!((w, h), (331, 468));
    assert!(dark > 0.01 && dark < 0.3, "share of dark pixels {dark}");

    let text = pdftotext(&pdf);
    let squashed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "Quarterly inspection - Substation SS-04",
        "Site Brookfield Business Park, substation SS-04 (behind Unit 12)",
        "Style handover",
        "substation-inspection.md",
        "Handover",
        "Route: extractive (the note's own sentences)",
        "Quality: all",
        done["request_id"].as_str().unwrap(),
        "page 1 of 1",
    ] {
        assert!(squashed.contains(want), "{want:?} is not on the page:\n{text}");
    }
    // Every figure of the summary is on the page as the summary has it.
    let summary = done["summary"].as_str().unwrap();
    for figure in ["58 °C", "1.35 bar", "TRF1000-8813"] {
        if summary.contains(figure) {
            assert!(squashed.contains(figure), "{figure} lost:\n{text}");
        }
    }
    let first_bullet = summary.lines().find(|l| l.starts_with("- ")).unwrap();
    let words: Vec<&str> = first_bullet[2..].split_whitespace().take(6).collect();
    assert!(squashed.contains(&words.join(" ")), "{first_bullet:?} not on the page:\n{text}");
}

#[test]
fn the_technicians_edit_is_what_prints_and_the_footer_says_so() {
    let home = Home::new();
    let done = home.json(&["summarize", "--json", s(&sample("pump-inspection.md"))]);
    let id = done["note_id"].to_string();
    let edit = home.write(
        "edit.txt",
        "- Seal on P-101 replaced; 4.2 bar held for 30 min.\n- Signed off by J. Ortiz.".as_bytes(),
    );
    let out = home.run(&[
        "ledger",
        "outcome",
        done["request_id"].as_str().unwrap(),
        "edited",
        "--text",
        s(&edit),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Default name: after the note, in the current folder.
    let cwd = tempfile::tempdir().unwrap();
    let out = home.command(&["export", &id, "--pdf"]).current_dir(cwd.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written: Vec<_> =
        std::fs::read_dir(cwd.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(written.len(), 1);
    let name = written[0].file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(name, format!("pump-inspection-raw-water-pump-p-102-bullets-note-{id}.pdf"));
    // That name is not taken over a second time; -o names another file.
    let again = home.command(&["export", &id, "--pdf"]).current_dir(cwd.path()).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrote") && stderr.contains("(1 page)"), "{stderr}");
    let text = pdftotext(&written[0]).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Seal on P-101 replaced; 4.2 bar held for 30 min."), "{text}");
    assert!(text.contains("edited by the technician"), "{text}");
    assert!(text.contains("Quality of the engine's text:"), "{text}");
    assert!(text.contains("engine's own text is kept in history"), "{text}");

    // Markdown, on standard output, says the same.
    let md = home.run(&["export", &id]);
    assert!(md.status.success());
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("# "), "{md}");
    assert!(md.contains("Seal on P-101 replaced; 4.2 bar held for 30 min."), "{md}");
    assert!(md.contains("Route: extractive"), "{md}");
}

#[test]
fn exporting_what_is_not_there_is_a_clear_error() {
    let home = Home::new();
    let out = home.run(&["export", "42", "--pdf"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error:") && err.contains("no note with id 42"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let done = home.json(&["summarize", "--json", s(&sample("pump-inspection.md"))]);
    let id = done["note_id"].to_string();
    let out = home.run(&["export", &id, "--pdf", "--request", "no-such-request"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-request"));
    let out = home.run(&["export", &id, "--pdf", "-o", "/nonexistent-dir/x.pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/x.pdf"));
    // --json describes a file; on standard output the export itself goes.
    let out = home.run(&["export", &id, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    // A font that cannot be used is named.
    let bad_font = home.write("font.ttf", b"not a font");
    let out = home
        .command(&["export", &id, "--pdf", "-o", "-"])
        .env("FIELDBRIEF_PDF_FONT", &bad_font)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("font.ttf"));
}
