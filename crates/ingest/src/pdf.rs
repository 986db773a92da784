//! PDF text extraction, isolated from the rest of the process.
//!
//! `pdf-extract` can panic on malformed files and has been seen to spin on hostile ones, so it
//! runs on its own named thread, inside `catch_unwind`, and the caller waits at most the time
//! limit. A thread that overruns is abandoned (Rust cannot kill a thread): it holds only its
//! own copy of the bytes and ends with the process. The panic hook installed here keeps such
//! panics out of the user's terminal; they are logged through `tracing` instead. Callers on an
//! async runtime should call [`extract`] from a blocking task: it blocks for up to the limit.
//!
//! This relies on `panic = "unwind"` (the workspace's release profile says so).

use crate::Problem;
use fieldbrief_core::normalize::normalize_pdf_pages;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Once, mpsc};
use std::time::Duration;

const THREAD_NAME: &str = "fieldbrief-pdf";

pub struct Extracted {
    pub text: String,
    pub pages: usize,
    pub notices: Vec<String>,
}

pub fn extract(bytes: Vec<u8>, timeout: Duration) -> Result<Extracted, Problem> {
    install_quiet_panic_hook();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                pdf_extract::extract_text_from_mem_by_pages(&bytes)
            }));
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(result);
        })
        .map_err(Problem::Io)?;

    let pages = match rx.recv_timeout(timeout) {
        Ok(Ok(Ok(pages))) => pages,
        Ok(Ok(Err(e))) => return Err(classify(&e.to_string())),
        Ok(Err(payload)) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::debug!(panic = %msg, "pdf-extract panicked (caught)");
            return Err(Problem::PdfCorrupt(format!(
                "the PDF parser could not read it ({})",
                first_line(&msg)
            )));
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(Problem::PdfTimeout { secs: timeout.as_secs() });
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(Problem::PdfCorrupt("the PDF parser stopped without a result".into()));
        }
    };

    let page_count = pages.len();
    let normalized = normalize_pdf_pages(&pages);
    if normalized.text.trim().is_empty() {
        return Err(Problem::PdfNoText { pages: page_count });
    }
    Ok(Extracted { text: normalized.text, pages: page_count, notices: normalized.notices })
}

fn classify(message: &str) -> Problem {
    let lower = message.to_lowercase();
    if lower.contains("encrypt") || lower.contains("password") || lower.contains("decrypt") {
        Problem::PdfEncrypted
    } else {
        Problem::PdfCorrupt(first_line(message).to_string())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn install_quiet_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(THREAD_NAME) {
                tracing::debug!(%info, "panic inside PDF extraction (caught)");
            } else {
                previous(info);
            }
        }));
    });
}
