//! Text for scanned PDFs, recognised on the laptop: each page rendered by poppler's
//! `pdftoppm` and read by Tesseract, both from the system's packages (`tesseract-ocr` and
//! `poppler-utils` on Debian and Ubuntu), each in a process of its own with a time limit, one
//! page at a time so progress can be shown. Nothing leaves the laptop.
//!
//! OCR is asked for, never done behind the user's back: it takes seconds per page and its text
//! can be wrong (a 1 read as l, a decimal point lost), so the document says it was recognised
//! and by what, and the ledger records it.

use crate::Problem;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// OCR settings of one request.
#[derive(Debug, Clone)]
pub struct OcrOptions {
    /// Tesseract's languages, e.g. `eng` or `deu+eng`.
    pub languages: String,
    /// The most one page may take, rendering and recognition each.
    pub page_timeout: Duration,
    /// Where to look for the programs (a `PATH`-style list); `None`: `PATH`.
    pub search_path: Option<std::ffi::OsString>,
    /// Set to stop: the running page's program is killed and nothing is kept
    /// ([`Problem::OcrCancelled`]).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for OcrOptions {
    fn default() -> Self {
        OcrOptions {
            languages: "eng".into(),
            page_timeout: Duration::from_secs(120),
            search_path: None,
            cancel: None,
        }
    }
}

/// The programs that do the work, found on `PATH`.
#[derive(Debug, Clone)]
pub struct Engine {
    pub pdftoppm: PathBuf,
    pub tesseract: PathBuf,
}

impl Engine {
    /// Both programs on `PATH`, or the words for what is missing and how to install it.
    pub fn find() -> Result<Engine, String> {
        Engine::find_in(std::env::var_os("PATH"))
    }

    /// [`Engine::find`] in a `PATH`-style list of directories.
    pub fn find_in(path: Option<std::ffi::OsString>) -> Result<Engine, String> {
        let tesseract = which("tesseract", path.as_deref());
        let pdftoppm = which("pdftoppm", path.as_deref());
        match (tesseract, pdftoppm) {
            (Some(tesseract), Some(pdftoppm)) => Ok(Engine { pdftoppm, tesseract }),
            (t, p) => {
                let missing: Vec<&str> = [
                    t.is_none().then_some("Tesseract (tesseract)"),
                    p.is_none().then_some("poppler's pdftoppm"),
                ]
                .into_iter()
                .flatten()
                .collect();
                let verb = if missing.len() == 1 { "is" } else { "are" };
                Err(format!("{} {verb} not installed ({})", missing.join(" and "), install_hint()))
            }
        }
    }

    /// Tesseract's name and version, e.g. "tesseract 5.3.0".
    pub fn version(&self) -> String {
        Command::new(&self.tesseract)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout).lines().next().map(|l| l.trim().to_string())
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "tesseract".into())
    }
}

/// Whether OCR can run here (for the advice a scan's refusal gives).
pub fn available() -> bool {
    Engine::find().is_ok()
}

/// How to get the programs on this platform.
pub fn install_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "brew install tesseract poppler"
    } else if cfg!(windows) {
        "install Tesseract (the UB Mannheim build) and poppler for Windows, and add both to PATH"
    } else {
        "Debian/Ubuntu: sudo apt install tesseract-ocr poppler-utils"
    }
}

fn which(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.exe"), program.to_string()]
    } else {
        vec![program.to_string()]
    };
    std::env::split_paths(path?)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The pages' text as Tesseract read it, and what read it.
#[derive(Debug)]
pub struct Recognised {
    pub pages: Vec<String>,
    pub engine: String,
    pub seconds: f64,
}

/// Renders and recognises each of the PDF's `pages`, calling `progress(done, total)` before
/// each page and after the last.
pub fn recognise(
    pdf: &[u8],
    pages: usize,
    options: &OcrOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Recognised, Problem> {
    let search = options.search_path.clone().or_else(|| std::env::var_os("PATH"));
    let engine = Engine::find_in(search).map_err(Problem::OcrUnavailable)?;
    let started = Instant::now();
    let dir = Scratch::new().map_err(Problem::Io)?;
    let input = dir.0.join("scan.pdf");
    std::fs::write(&input, pdf).map_err(Problem::Io)?;
    let mut out = Vec::with_capacity(pages);
    let cancelled =
        || options.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst));
    for page in 1..=pages.max(1) {
        if cancelled() {
            return Err(Problem::OcrCancelled);
        }
        progress(page - 1, pages);
        let image_base = dir.0.join(format!("page-{page}"));
        let n = page.to_string();
        run(
            Command::new(&engine.pdftoppm)
                .args(["-r", "300", "-gray", "-png", "-singlefile", "-f", &n, "-l", &n])
                .arg(&input)
                .arg(&image_base),
            options.page_timeout,
            "pdftoppm",
            &cancelled,
        )?;
        let image = image_base.with_extension("png");
        let text = run(
            Command::new(&engine.tesseract)
                .arg(&image)
                .arg("stdout")
                .args(["-l", &options.languages])
                // One thread: the laptop stays responsive, and battery is the budget here.
                .env("OMP_THREAD_LIMIT", "1"),
            options.page_timeout,
            "tesseract",
            &cancelled,
        )?;
        let _ = std::fs::remove_file(&image);
        out.push(text);
    }
    progress(pages, pages);
    Ok(Recognised {
        pages: out,
        engine: engine.version(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs `command` to its end within `timeout` unless `cancelled`; its standard output, or why
/// it failed.
fn run(
    command: &mut Command,
    timeout: Duration,
    name: &str,
    cancelled: &dyn Fn() -> bool,
) -> Result<String, Problem> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Problem::OcrFailed(format!("{name} could not be started: {e}")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Problem::OcrFailed(format!("{name} could not be started")));
    };
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(64 << 20).read_to_end(&mut out);
        out
    });
    let errors = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stderr.take(64 << 10).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if cancelled() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Problem::OcrCancelled);
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Problem::OcrFailed(format!(
                    "{name} took more than {} s on one page and was stopped",
                    timeout.as_secs()
                )));
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    let err = errors.join().unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        return Err(Problem::OcrFailed(format!("{name} failed ({status}): {last}")));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("fieldbrief-ocr-{}-{nanos}", std::process::id()));
        // The technician's scan and its pages: readable by this user only.
        // (On Windows the user's %TEMP% is the user's own already.)
        #[cfg(unix)]
        let builder = {
            let mut builder = std::fs::DirBuilder::new();
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
        };
        #[cfg(not(unix))]
        let builder = std::fs::DirBuilder::new();
        builder.create(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
