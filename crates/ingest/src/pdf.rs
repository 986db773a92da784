//! PDF text extraction, isolated from the rest of the process.
//!
//! `pdf-extract` can panic on malformed files, spin on hostile ones, and a decompression bomb
//! (a small stream that inflates to gigabytes) can take all the memory there is. So the
//! product extracts in a child process — the same executable started with
//! [`PDF_EXTRACT_ARG`] ([`serve`]) — that limits its own memory and CPU time with `setrlimit`
//! and is killed at the time limit: a hostile PDF costs the request, never the app. Windows has
//! no `setrlimit`: there the executable's allocator is a [`BudgetedAllocator`], which refuses
//! what would take the process past the memory limit (the time limit holds as everywhere).
//!
//! Without an executable to start (a library caller, a unit test) it runs on a named thread
//! of this process, inside `catch_unwind`, and the caller waits at most the time limit; a
//! thread that overruns is abandoned (Rust cannot kill a thread). The panic hook installed
//! here keeps such panics out of the user's terminal; they are logged through `tracing`.
//! Callers on an async runtime should call [`extract_with`] from a blocking task.
//!
//! This relies on `panic = "unwind"` (the workspace's release profile says so).

use crate::Problem;
use crate::inspect::{Inspection, inspect};
use crate::repair;
use fieldbrief_core::normalize::normalize_pdf_pages;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Once, mpsc};
use std::time::{Duration, Instant};

/// The hidden command-line argument that makes the executable a PDF extractor ([`serve`]).
pub const PDF_EXTRACT_ARG: &str = "__pdf-extract";

/// The child process that extracts PDF text: `program` started with `args`, then
/// `--max-memory-mib N --cpu-secs S` (see [`serve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extractor {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The most memory the extraction may use (its address space), in bytes.
    pub max_memory: u64,
    /// The most text it may hand back, in bytes (as much as a note may be): a bomb that fits
    /// in memory still does not fill the database.
    pub max_text: u64,
}

impl Extractor {
    /// `program` (an executable that handles [`PDF_EXTRACT_ARG`]) with a memory limit in MiB.
    pub fn new(program: PathBuf, max_memory_mib: u64, max_text: u64) -> Extractor {
        Extractor {
            program,
            args: vec![PDF_EXTRACT_ARG.into()],
            max_memory: max_memory_mib.max(64) << 20,
            max_text,
        }
    }
}

const THREAD_NAME: &str = "fieldbrief-pdf";
/// Set in the extraction process: its panics are answers, not crashes to print.
static SERVING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[derive(Debug)]
pub struct Extracted {
    pub text: String,
    pub pages: usize,
    pub notices: Vec<String>,
}

/// The text of a PDF, page by page, with its form fields and annotations after it: in the
/// `extractor`'s process when there is one, else on a thread of this one. A PDF that yields no
/// text is refused with the reason it has none (encrypted, blank, a scan, or text drawn in
/// fonts with no mapping to characters).
pub fn extract_with(
    bytes: Vec<u8>,
    timeout: Duration,
    extractor: Option<&Extractor>,
) -> Result<Extracted, Problem> {
    let answer = match extractor {
        Some(e) => in_child(bytes, timeout, e)?,
        None => in_thread(bytes, timeout)?,
    };
    let (pages, inspection, unreadable, xref_rebuilt) = match answer {
        Answer::Read { pages, inspection, unreadable, xref_rebuilt } => {
            (pages, inspection, unreadable, xref_rebuilt)
        }
        Answer::Refused { why, inspection } if inspection.encrypted => {
            tracing::debug!(%why, "an encrypted PDF was refused");
            return Err(Problem::PdfEncrypted);
        }
        Answer::Refused { why, .. } => return Err(classify(&why)),
        Answer::Panicked(why) => return Err(parser_panicked(&why)),
    };
    // pdf-extract stops at a page it cannot read; the document's own count is the truth.
    let page_count = pages.len().max(inspection.pages);
    let normalized = normalize_pdf_pages(&pages);
    let mut extra = inspection.extra_text();
    let mut notices = normalized.notices;
    if xref_rebuilt {
        notices.push(
            "the file's cross-reference table was broken: it was rebuilt from the objects found in the file"
                .to_string(),
        );
    }
    if !unreadable.is_empty() {
        notices.push(format!(
            "{} could not be read whole: what they gave is kept, the rest is missing",
            page_list(&unreadable)
        ));
    }
    // A scan with a comment or two is still a scan: its form fields and annotations stand in
    // for the text only when they say something (a filled-in form whose printed words are
    // drawn as an image).
    if normalized.text.trim().is_empty() && extra.split_whitespace().count() < MIN_EXTRA_WORDS {
        extra.clear();
    }
    let text = match (normalized.text.trim().is_empty(), extra.is_empty()) {
        (true, true) => return Err(no_text(&inspection, page_count)),
        (false, true) => normalized.text,
        (empty, false) => {
            notices.push(format!(
                "{} at the end, marked as such",
                match (inspection.fields.len(), inspection.annotations.len()) {
                    (f, 0) => format!("{f} filled-in form field{} included", plural(f)),
                    (0, a) => format!("{a} annotation{} included", plural(a)),
                    (f, a) => format!(
                        "{f} form field{} and {a} annotation{} included",
                        plural(f),
                        plural(a)
                    ),
                }
            ));
            let extra = fieldbrief_core::normalize::normalize_text(&extra);
            if empty { extra } else { format!("{}\n\n{extra}", normalized.text) }
        }
    };
    Ok(Extracted { text, pages: page_count, notices })
}

/// Words of form fields and annotations that make a PDF without page text worth summarizing.
const MIN_EXTRA_WORDS: usize = 20;

/// "page 3", "pages 3, 5 and 9", "14 pages (3, 5, 9, …)".
fn page_list(pages: &[u32]) -> String {
    let shown: Vec<String> = pages.iter().take(8).map(u32::to_string).collect();
    match pages.len() {
        1 => format!("page {}", shown[0]),
        n if n <= 8 => {
            format!("pages {} and {}", shown[..n - 1].join(", "), shown[n - 1])
        }
        n => format!("{n} pages ({}, …)", shown.join(", ")),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Why a PDF that parsed gave no text, as truthfully as its structure tells.
fn no_text(inspection: &Inspection, pages: usize) -> Problem {
    if inspection.encrypted {
        Problem::PdfEncrypted
    } else if !inspection.parsed {
        Problem::PdfCorrupt(format!(
            "its {pages} pages gave no text, and its structure could not be read to say why"
        ))
    } else if inspection.text_pages > 0 {
        Problem::PdfUnmappedText { pages, ocr_here: crate::ocr::available() }
    } else if inspection.image_pages > 0 {
        Problem::PdfNoText { pages, ocr_here: crate::ocr::available() }
    } else {
        Problem::PdfBlank { pages }
    }
}

/// What the extraction writes on its standard output: the pages and what else the file holds,
/// or why not.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Read {
        pages: Vec<String>,
        #[serde(default)]
        inspection: Inspection,
        /// Pages (numbered from 1) that could not be read whole, or at all.
        #[serde(default)]
        unreadable: Vec<u32>,
        /// The cross-reference table was broken and rebuilt by scanning the file.
        #[serde(default)]
        xref_rebuilt: bool,
    },
    /// `pdf-extract` refused the file.
    Refused {
        why: String,
        #[serde(default)]
        inspection: Inspection,
    },
    /// `pdf-extract` panicked on it.
    Panicked(String),
}

/// Reads `bytes` with `pdf-extract` page by page (each page laid out again by
/// [`crate::layout`]) and inspects them with `lopdf`, each inside `catch_unwind`: a page that
/// panics is read again without its colour operators ([`repair::without_colour`]) and
/// otherwise costs that page (named in a notice), a panic in the inspection only the
/// diagnosis. A file whose cross-reference table is broken is read through a rebuilt one
/// ([`repair::rebuild_xref`]).
fn read(bytes: &[u8]) -> Answer {
    let (mut doc, rebuilt) = match load(bytes) {
        Ok(doc) if !doc.get_pages().is_empty() => (doc, None),
        first => match panic::catch_unwind(|| repair::rebuild_xref(bytes))
            .ok()
            .flatten()
            .and_then(|fixed| Some((load(&fixed).ok()?, fixed)))
            .filter(|(doc, _)| !doc.get_pages().is_empty())
        {
            Some((doc, fixed)) => (doc, Some(fixed)),
            None => match first {
                Ok(doc) => (doc, None),
                Err(Loaded::Refused(why)) => {
                    let inspection = inspect_caught(bytes);
                    return Answer::Refused { why, inspection };
                }
                Err(Loaded::Panicked(why)) => return Answer::Panicked(why),
            },
        },
    };
    let inspection = inspect_caught(rebuilt.as_deref().unwrap_or(bytes));
    let numbers: Vec<(u32, pdf_extract::ObjectId)> = doc.get_pages().into_iter().collect();
    if rebuilt.is_some() {
        // A file cut off (a download interrupted) rebuilds too, without its last pages: it
        // is refused rather than read in part.
        let found = numbers.len();
        let declared = doc
            .catalog()
            .and_then(|c| c.get(b"Pages"))
            .and_then(|p| doc.dereference(p))
            .and_then(|(_, p)| p.as_dict())
            .and_then(|p| p.get(b"Count"))
            .and_then(pdf_extract::Object::as_i64)
            .unwrap_or(0);
        if declared > found as i64 {
            let why = format!(
                "it is incomplete, probably cut off: only {found} of its {declared} pages are in the file"
            );
            return Answer::Refused { why, inspection };
        }
    }
    let mut pages = Vec::with_capacity(numbers.len());
    let mut unreadable = Vec::new();
    let mut first_panic = None;
    let mut first_error: Option<String> = None;
    let mut colourless = false;
    for (n, id) in numbers {
        // The rewrites parse and decompress what the file says: inside catch_unwind too.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| repair::text_operators(&mut doc, id)));
        let collector = match page(&doc, n) {
            Ok(collector) => collector,
            Err((partial, why)) => {
                // Again without colours; the better of the two readings is kept. The forms
                // are cleaned once per document.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                    repair::without_colour(&mut doc, id, !colourless)
                }));
                colourless = true;
                match page(&doc, n) {
                    Ok(collector) => collector,
                    Err((again, _)) => {
                        match why {
                            Some(why) => first_panic.get_or_insert(why),
                            None => first_error.get_or_insert_with(|| again.error.clone()),
                        };
                        unreadable.push(n);
                        if again.glyphs.len() > partial.glyphs.len() { again } else { partial }
                    }
                }
            }
        };
        // A page past the characters kept is not read whole either.
        if collector.dropped > 0 && !unreadable.contains(&n) {
            unreadable.push(n);
        }
        pages.push(crate::layout::page_text(&collector));
    }
    if pages.iter().all(|p| p.trim().is_empty()) {
        // Nothing read, and pages failed: their failure is the answer, not "no text".
        if let Some(why) = first_panic {
            return Answer::Panicked(why);
        }
        if let Some(why) = first_error.filter(|_| unreadable.len() == pages.len()) {
            return Answer::Refused { why, inspection };
        }
    }
    Answer::Read { pages, inspection, unreadable, xref_rebuilt: rebuilt.is_some() }
}

fn inspect_caught(bytes: &[u8]) -> Inspection {
    panic::catch_unwind(AssertUnwindSafe(|| inspect(bytes))).unwrap_or_default()
}

enum Loaded {
    Refused(String),
    Panicked(String),
}

fn load(bytes: &[u8]) -> Result<pdf_extract::Document, Loaded> {
    let loaded =
        panic::catch_unwind(AssertUnwindSafe(|| -> Result<pdf_extract::Document, String> {
            let mut doc = pdf_extract::Document::load_mem(bytes).map_err(|e| e.to_string())?;
            if doc.is_encrypted() {
                // An empty user password opens most "encrypted" PDFs (printing and copying
                // restrictions only).
                doc.decrypt("").map_err(|e| format!("encrypted: {e}"))?;
            }
            Ok(doc)
        }));
    match loaded {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(why)) => Err(Loaded::Refused(why)),
        Err(payload) => Err(Loaded::Panicked(panic_message(&*payload))),
    }
}

/// One page's characters; when it fails, what it drew before failing and the panic's
/// message if it panicked.
#[allow(clippy::result_large_err)]
fn page(
    doc: &pdf_extract::Document,
    n: u32,
) -> Result<crate::layout::Collector, (crate::layout::Collector, Option<String>)> {
    let mut collector = crate::layout::Collector::default();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::output_doc_page(doc, &mut collector, n)
    }));
    match result {
        Ok(Ok(())) => Ok(collector),
        Ok(Err(e)) => {
            tracing::debug!(page = n, error = %e, "a PDF page could not be read");
            collector.error = e.to_string();
            Err((collector, None))
        }
        Err(payload) => Err((collector, Some(panic_message(&*payload)))),
    }
}

fn in_child(bytes: Vec<u8>, timeout: Duration, e: &Extractor) -> Result<Answer, Problem> {
    let cpu_secs = timeout.as_secs().max(1);
    let mut command = Command::new(&e.program);
    // It reads hostile input, and needs nothing from the environment: it gets nothing (no
    // API key, no token), bar what the platform needs to start a program.
    command.env_clear();
    for keep in ["PATH", "SYSTEMROOT", "SystemRoot", "TMPDIR", "TMP", "TEMP"] {
        if let Some(v) = std::env::var_os(keep) {
            command.env(keep, v);
        }
    }
    let mut child = command
        .args(&e.args)
        .args(["--max-memory-mib", &(e.max_memory >> 20).to_string()])
        .args(["--cpu-secs", &cpu_secs.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(Problem::Io)?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Problem::PdfCorrupt("the PDF reader could not be started".into()));
    };
    // Written and read on threads of their own, so a child that stops reading or writing
    // cannot block this one past the time limit.
    std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    // JSON escaping at most doubles the text (bar control characters); beyond that the
    // answer is refused unread.
    let max_answer = e.max_text.saturating_mul(2).saturating_add(1 << 20);
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(max_answer + 1).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        let waited = child.try_wait();
        match waited {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            // Past the time limit, or the process cannot be watched: it is stopped either way.
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(match other {
                    Err(e) => Problem::Io(e),
                    _ => Problem::PdfTimeout { secs: timeout.as_secs() },
                });
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    let too_much_text = || {
        Problem::PdfTooCostly(format!(
            "produced more than {} MiB of text",
            (e.max_text >> 20).max(1)
        ))
    };
    // Cut off at the limit (its writes then fail, whatever it does next): too much text.
    if out.len() as u64 > max_answer {
        return Err(too_much_text());
    }
    if !status.success() {
        return Err(stopped(status, e.max_memory, cpu_secs));
    }
    match serde_json::from_slice::<Answer>(&out) {
        Ok(Answer::Read { pages, inspection, .. })
            if pages.iter().map(|p| p.len() as u64).sum::<u64>()
                + inspection.extra_text().len() as u64
                > e.max_text =>
        {
            Err(too_much_text())
        }
        Ok(answer) => Ok(answer),
        Err(_) => Err(Problem::PdfCorrupt("the PDF reader gave no readable answer".into())),
    }
}

/// The extraction process ran out of memory (or stack: the words cover both).
#[cfg(any(unix, windows))]
fn out_of_memory(max_memory: u64) -> Problem {
    Problem::PdfTooCostly(format!(
        "needed more than {} MiB of memory (or nested too deep)",
        max_memory >> 20
    ))
}

/// Why the extraction process ended without an answer, in words.
fn stopped(status: std::process::ExitStatus, max_memory: u64, cpu_secs: u64) -> Problem {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            // Out of CPU time: SIGXCPU at the soft limit.
            Some(libc::SIGXCPU) => {
                return Problem::PdfTooCostly(format!("took more than {cpu_secs} s of CPU time"));
            }
            // An allocation over the memory limit aborts the process (so would a stack
            // overflow on absurdly nested objects: the words cover both).
            Some(libc::SIGABRT) => return out_of_memory(max_memory),
            // The hard CPU limit, or the system (out of memory), or someone else.
            Some(libc::SIGKILL) => {
                return Problem::PdfTooCostly(
                    "was killed (its CPU-time limit, or the system ran out of memory)".into(),
                );
            }
            _ => {}
        }
    }
    #[cfg(windows)]
    {
        let _ = cpu_secs;
        // An allocation past the BudgetedAllocator's budget aborts (a fail-fast exit); a stack
        // overflow has its own code.
        if matches!(status.code().map(|c| c as u32), Some(0xC000_0409 | 0xC000_00FD)) {
            return out_of_memory(max_memory);
        }
    }
    #[cfg(not(any(unix, windows)))]
    let _ = (max_memory, cpu_secs);
    Problem::PdfCorrupt(format!("the PDF reader stopped ({status})"))
}

/// The extraction process: limits its own address space to `max_memory_mib` and its CPU time
/// to `cpu_secs`, reads a PDF (at most `max_bytes`) from standard input, and writes its pages
/// as JSON to standard output. Returns the exit code.
pub fn serve(max_memory_mib: u64, cpu_secs: u64, max_bytes: u64) -> i32 {
    SERVING.store(true, std::sync::atomic::Ordering::Relaxed);
    if !limit_resources(max_memory_mib << 20, cpu_secs) {
        return 4;
    }
    let mut bytes = Vec::new();
    if std::io::stdin().take(max_bytes).read_to_end(&mut bytes).is_err() {
        return 3;
    }
    install_quiet_panic_hook();
    // On a thread with Linux's main-thread stack (8 MiB), so that how deeply nested a PDF may
    // be does not depend on the platform (a Windows main thread gets far less).
    let reader = std::thread::Builder::new().stack_size(8 << 20).spawn(move || read(&bytes));
    let Ok(Ok(answer)) = reader.map(|r| r.join()) else {
        return 3;
    };
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &answer).map_err(std::io::Error::from);
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 3,
    }
}

/// Limits this process's address space and CPU time, never above limits it already has (a
/// process may lower its hard limits, not raise them). Returns false if a limit could not be
/// set; the caller then refuses to work without it.
#[cfg(unix)]
fn limit_resources(max_memory: u64, cpu_secs: u64) -> bool {
    let set = |resource, soft: u64, hard: u64| -> bool {
        let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes the struct it is given, setrlimit reads it; both are
        // plain system calls on this process.
        if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
            return false;
        }
        let cap = |v: u64| (v as libc::rlim_t).min(current.rlim_max);
        let limit = libc::rlimit { rlim_cur: cap(soft), rlim_max: cap(hard) };
        unsafe { libc::setrlimit(resource, &limit) == 0 }
    };
    // RLIMIT_AS is not enforced on macOS; there only the time limits hold.
    let memory = set(libc::RLIMIT_AS, max_memory, max_memory);
    // SIGXCPU at the soft limit, SIGKILL one second later.
    let cpu = set(libc::RLIMIT_CPU, cpu_secs, cpu_secs + 1);
    memory && cpu
}

#[cfg(not(unix))]
fn limit_resources(max_memory: u64, _cpu_secs: u64) -> bool {
    // No setrlimit: the memory limit is the allocator's (when the executable installed a
    // BudgetedAllocator, as `fieldbrief` does), the time limit the parent's (it kills the
    // process at the deadline).
    BudgetedAllocator::limit(usize::try_from(max_memory).unwrap_or(usize::MAX))
}

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static BUDGET: AtomicUsize = AtomicUsize::new(usize::MAX);
static BUDGETED: AtomicBool = AtomicBool::new(false);

/// The system's allocator, refusing any allocation that would take the bytes allocated past a
/// budget ([`BudgetedAllocator::limit`]; none until then). A refused allocation ends the process
/// as any failed one does (Rust aborts: SIGABRT on Unix, `0xC0000409` on Windows), which
/// [`serve`]'s parent reports as "needed more than N MiB of memory". Install it with
/// `#[global_allocator]` in an executable that serves [`PDF_EXTRACT_ARG`] where the system has
/// no address-space limit (Windows).
pub struct BudgetedAllocator;

impl BudgetedAllocator {
    /// Caps the bytes allocated from now on at `bytes` (counted since the program started).
    /// Returns false where this allocator is not the program's (nothing would hold the cap).
    pub fn limit(bytes: usize) -> bool {
        BUDGET.store(bytes, Ordering::Relaxed);
        BUDGETED.load(Ordering::Relaxed)
    }

    /// Bytes allocated through this allocator and not yet freed.
    pub fn allocated() -> usize {
        ALLOCATED.load(Ordering::Relaxed)
    }

    fn take(size: usize) -> bool {
        if !BUDGETED.load(Ordering::Relaxed) {
            BUDGETED.store(true, Ordering::Relaxed);
        }
        let budget = BUDGET.load(Ordering::Relaxed);
        // Reserve exactly: a thread refused is one that would have gone past the budget.
        ALLOCATED
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |allocated| {
                allocated.checked_add(size).filter(|&total| total <= budget)
            })
            .is_ok()
    }

    fn give(size: usize) {
        ALLOCATED.fetch_sub(size, Ordering::Relaxed);
    }

    /// `allocate` if `size` fits the budget, counted; null (nothing counted) otherwise.
    fn counted(size: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
        if !Self::take(size) {
            return std::ptr::null_mut();
        }
        let p = allocate();
        if p.is_null() {
            Self::give(size);
        }
        p
    }
}

// SAFETY: every call goes to the system allocator with the caller's layout unchanged; this only
// counts sizes, and returns null (a failed allocation, which callers must handle) instead of
// calling it when the budget would be exceeded.
unsafe impl GlobalAlloc for BudgetedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is System's.
        Self::counted(layout.size(), || unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        Self::counted(layout.size(), || unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System with this layout (every allocation goes through here).
        unsafe { System.dealloc(ptr, layout) };
        Self::give(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::take(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `dealloc`; `new_size` obeys realloc's contract (the caller's).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        match (p.is_null(), new_size > old) {
            (true, true) => Self::give(new_size - old),
            (false, false) => Self::give(old - new_size),
            _ => {}
        }
        p
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn in_thread(bytes: Vec<u8>, timeout: Duration) -> Result<Answer, Problem> {
    install_quiet_panic_hook();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(read(&bytes));
        })
        .map_err(Problem::Io)?;

    match rx.recv_timeout(timeout) {
        Ok(answer) => {
            if let Answer::Panicked(msg) = &answer {
                tracing::debug!(panic = %msg, "pdf-extract panicked (caught)");
            }
            Ok(answer)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(Problem::PdfTimeout { secs: timeout.as_secs() })
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(Problem::PdfCorrupt("the PDF parser stopped without a result".into()))
        }
    }
}

fn classify(message: &str) -> Problem {
    let lower = message.to_lowercase();
    if lower.contains("encrypt") || lower.contains("password") || lower.contains("decrypt") {
        Problem::PdfEncrypted
    } else {
        Problem::PdfCorrupt(first_line(message).to_string())
    }
}

fn parser_panicked(message: &str) -> Problem {
    Problem::PdfCorrupt(format!("the PDF parser could not read it ({})", first_line(message)))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn install_quiet_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // The extraction thread here, or the extraction process (its main thread).
            if std::thread::current().name() == Some(THREAD_NAME)
                || SERVING.load(std::sync::atomic::Ordering::Relaxed)
            {
                tracing::debug!(%info, "panic inside PDF extraction (caught)");
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    /// The allocator's bookkeeping, called directly (it is not this test program's allocator):
    /// within the budget it allocates, past it it refuses, and what is freed is counted back.
    #[test]
    fn the_budgeted_allocator_refuses_past_its_budget_and_counts_frees_back() {
        let a = BudgetedAllocator;
        let start = BudgetedAllocator::allocated();
        let kib = Layout::from_size_align(1024, 8).unwrap();
        // SAFETY: each pointer is freed once, with the layout it was allocated with.
        unsafe {
            let p = a.alloc(kib);
            assert!(!p.is_null());
            BudgetedAllocator::limit(start + 4096);
            assert_eq!(BudgetedAllocator::allocated(), start + 1024);
            let big = Layout::from_size_align(8192, 8).unwrap();
            assert!(a.alloc(big).is_null(), "over the budget");
            assert!(a.alloc_zeroed(big).is_null(), "over the budget");
            assert_eq!(BudgetedAllocator::allocated(), start + 1024, "a refusal costs nothing");
            assert!(a.realloc(p, kib, 8192).is_null(), "growing past the budget");
            let p = a.realloc(p, kib, 3072);
            assert!(!p.is_null());
            assert_eq!(BudgetedAllocator::allocated(), start + 3072);
            let three = Layout::from_size_align(3072, 8).unwrap();
            let p = a.realloc(p, three, 512);
            assert_eq!(BudgetedAllocator::allocated(), start + 512);
            a.dealloc(p, Layout::from_size_align(512, 8).unwrap());
        }
        assert_eq!(BudgetedAllocator::allocated(), start);
        BudgetedAllocator::limit(usize::MAX);
    }
}

#[cfg(all(test, unix))]
mod child_tests {
    use super::*;

    /// A stand-in extractor: `sh -c SCRIPT` (the limits' arguments become `$0`, `$1`…).
    fn shell(script: &str) -> Extractor {
        Extractor {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            max_memory: 256 << 20,
            max_text: 1 << 20,
        }
    }

    #[test]
    fn an_extraction_past_its_time_is_killed_not_abandoned() {
        let started = Instant::now();
        let e = extract_with(
            b"%PDF-1.4".to_vec(),
            Duration::from_millis(500),
            Some(&shell("echo $$ >&2; exec sleep 30")),
        )
        .unwrap_err();
        assert!(matches!(e, Problem::PdfTimeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_process_stopped_by_its_limits_or_answering_nonsense_is_a_clear_problem() {
        let pdf = || b"%PDF-1.4".to_vec();
        let t = Duration::from_secs(10);
        let cpu = extract_with(pdf(), t, Some(&shell("kill -XCPU $$"))).unwrap_err();
        assert!(matches!(&cpu, Problem::PdfTooCostly(m) if m.contains("CPU time")), "{cpu}");
        let memory = extract_with(pdf(), t, Some(&shell("kill -ABRT $$"))).unwrap_err();
        assert!(
            matches!(&memory, Problem::PdfTooCostly(m) if m.contains("256 MiB of memory")),
            "{memory}"
        );
        let garbage =
            extract_with(pdf(), t, Some(&shell("cat >/dev/null; echo garbage"))).unwrap_err();
        assert!(matches!(garbage, Problem::PdfCorrupt(_)), "{garbage}");
        let pages = extract_with(
            pdf(),
            t,
            Some(&shell(r#"cat >/dev/null; echo '{"read":{"pages":["Pump P-101 ok."]}}'"#)),
        )
        .unwrap();
        assert_eq!((pages.text.trim(), pages.pages), ("Pump P-101 ok.", 1));
        let killed = extract_with(pdf(), t, Some(&shell("kill -KILL $$"))).unwrap_err();
        assert!(matches!(&killed, Problem::PdfTooCostly(m) if m.contains("killed")), "{killed}");
        // More text than a note may be: refused, not read whole.
        let flood = "cat >/dev/null; head -c 8000000 /dev/zero | tr '\\0' x";
        let flood = extract_with(pdf(), t, Some(&shell(flood))).unwrap_err();
        assert!(matches!(&flood, Problem::PdfTooCostly(m) if m.contains("of text")), "{flood}");
        // Nothing of this process's environment reaches it (HOME is always set here).
        assert!(std::env::var_os("HOME").is_some());
        let env = r#"cat >/dev/null; printf '{"read":{"pages":["home=%s"]}}' "${HOME:-none}""#;
        let env = extract_with(pdf(), t, Some(&shell(env))).unwrap();
        assert_eq!(env.text.trim(), "home=none");
    }
}
