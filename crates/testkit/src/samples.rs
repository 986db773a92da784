//! The checked-in sample PDF is generated from its Markdown source by this code (run
//! `cargo run -p fieldbrief-testkit --bin make-samples`); a test checks the two agree.

use crate::pdf;

pub const PDF_SOURCE: &str = "substation-inspection.md";
pub const PDF_TARGET: &str = "substation-inspection.pdf";

pub fn sample_pdf(markdown: &str) -> Vec<u8> {
    let layout = pdf::Layout {
        lines_per_page: 48,
        wrap_at: 90,
        header: Some("Northgate Electrical Services - Substation inspection report".into()),
        page_numbers: true,
    };
    pdf::from_text(markdown, &layout)
}

/// `assets/samples/` of this repository.
pub fn samples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_sample_pdf_is_what_the_generator_makes() {
        let dir = samples_dir();
        let markdown = std::fs::read_to_string(dir.join(PDF_SOURCE)).unwrap();
        let committed = std::fs::read(dir.join(PDF_TARGET)).unwrap();
        assert!(
            committed == sample_pdf(&markdown),
            "{PDF_TARGET} is stale: run `cargo run -p fieldbrief-testkit --bin make-samples`"
        );
    }
}
