//! What a failed command tells the UI: a kind to style it by and a sentence a technician can
//! read. The messages are the library's own (the same the CLI prints); no Rust debug output
//! ever reaches the window.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UiError {
    pub kind: ErrorKind,
    pub message: String,
}

/// What the window does with a failure: point at the input, stay quiet, or show a failure.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file, note or choice cannot be used.
    BadInput,
    /// The user stopped it.
    Cancelled,
    /// A scanned PDF (or one whose fonts cannot be read) that OCR on this laptop can read:
    /// the window offers to recognise its text.
    Scanned,
    /// Anything else: the message says what.
    Failure,
}

impl UiError {
    pub fn bad_input(message: impl Into<String>) -> UiError {
        UiError { kind: ErrorKind::BadInput, message: message.into() }
    }

    pub fn failure(message: impl Into<String>) -> UiError {
        UiError { kind: ErrorKind::Failure, message: message.into() }
    }
}

impl From<fieldbrief_pipeline::Error> for UiError {
    fn from(e: fieldbrief_pipeline::Error) -> UiError {
        use fieldbrief_ingest::Problem;
        let kind = match &e {
            fieldbrief_pipeline::Error::Cancelled => ErrorKind::Cancelled,
            fieldbrief_pipeline::Error::Input(input)
                if matches!(
                    input.problem,
                    Problem::PdfNoText { ocr_here: true, .. }
                        | Problem::PdfUnmappedText { ocr_here: true, .. }
                ) =>
            {
                ErrorKind::Scanned
            }
            e if e.is_bad_input() => ErrorKind::BadInput,
            _ => ErrorKind::Failure,
        };
        let mut message = e.to_string();
        // Sentences start with a capital in the window (the CLI prints them after "error: ").
        if let Some(first) = message.chars().next() {
            message.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
        }
        UiError { kind, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_become_sentences_with_a_kind() {
        let e = UiError::from(fieldbrief_pipeline::Error::NoSuchNote(7));
        assert_eq!(e, UiError { kind: ErrorKind::BadInput, message: "No note with id 7".into() });
        assert_eq!(UiError::from(fieldbrief_pipeline::Error::Cancelled).kind, ErrorKind::Cancelled);
        let scan = |ocr_here| {
            fieldbrief_pipeline::Error::Input(fieldbrief_ingest::Error {
                input: "scan.pdf".into(),
                problem: fieldbrief_ingest::Problem::PdfNoText { pages: 2, ocr_here },
            })
        };
        // OCR is offered only where it can run; elsewhere the message says how.
        assert_eq!(UiError::from(scan(true)).kind, ErrorKind::Scanned);
        let elsewhere = UiError::from(scan(false));
        assert_eq!(elsewhere.kind, ErrorKind::BadInput);
        assert!(elsewhere.message.contains("install OCR"), "{}", elsewhere.message);
        assert_eq!(
            UiError::from(fieldbrief_pipeline::Error::Home("disk full".into())).kind,
            ErrorKind::Failure
        );
    }
}
