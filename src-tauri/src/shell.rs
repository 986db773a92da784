//! The app's state: two handles on the same data directory, the files the user granted, and
//! how dialogs are answered.
//!
//! Summarizing takes `&mut Fieldbrief` for as long as the engine works (seconds to minutes),
//! and it keeps the warm engine worker between requests. Everything else (autosave, history,
//! models, status) goes through a second handle, so it never waits behind a running summary:
//! SQLite in WAL mode lets the two connections read and write side by side.

use fieldbrief_pipeline::{Fieldbrief, WorkerCommand};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use crate::error::UiError;

/// The engine worker: the `fieldbrief` executable installed beside the app (the bundles put
/// it there; a workspace build leaves both in `target/<profile>/`).
pub fn worker_beside(exe: &Path) -> Option<WorkerCommand> {
    cli_beside(exe).map(|program| {
        WorkerCommand { program, args: vec![fieldbrief_pipeline::WORKER_ARG.to_string()] }
            .for_this_cpu()
    })
}

/// The `fieldbrief` executable beside the app's own, which also extracts PDF text in a
/// process of its own (so a hostile PDF never costs the app).
pub fn cli_beside(exe: &Path) -> Option<PathBuf> {
    let name = if cfg!(windows) { "fieldbrief.exe" } else { "fieldbrief" };
    let candidate = exe.parent()?.join(name);
    candidate.is_file().then_some(candidate)
}

pub struct Shell {
    opened: Result<Handles, String>,
    pub cancel: Arc<AtomicBool>,
    pub busy: AtomicBool,
    pub worker: Option<PathBuf>,
    granted: Mutex<Granted>,
    pub dialogs: Dialogs,
    /// Wakes the background runner of the deferred queue (see `refiner.rs`).
    refiner: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// How to open another handle (downloads run on their own, so the views stay usable).
    home: Option<PathBuf>,
    worker_command: Option<WorkerCommand>,
    /// Model downloads in flight, by model id.
    pub downloads: Mutex<HashMap<String, fieldbrief_pipeline::DownloadControl>>,
    /// Set when an automatic download paused itself (battery saver…): the update check looks
    /// again in minutes rather than hours.
    pub update_check_soon: AtomicBool,
}

struct Handles {
    work: Mutex<Fieldbrief>,
    browse: Mutex<Fieldbrief>,
    /// Autosave's own: it never waits behind a summary, nor behind what `browse` does that
    /// takes seconds (hashing models, fetching the catalog, probing the network).
    drafts: Mutex<Fieldbrief>,
}

#[derive(Default)]
struct Granted {
    next: u64,
    files: HashMap<u64, PathBuf>,
}

/// A file the user chose in a dialog or dropped on the window. The UI holds only the token:
/// it can name files it was given, never read a path of its own choosing.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GrantedFile {
    pub token: u64,
    pub name: String,
    pub bytes: u64,
    pub kind: FileKind,
}

/// What a granted file is, by its extension: the Summarize view takes notes and reports, the
/// Models view takes models.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Pdf,
    Text,
    Model,
}

impl Shell {
    pub fn open(home: Option<PathBuf>, worker: Option<WorkerCommand>, dialogs: Dialogs) -> Shell {
        let worker_path = worker.as_ref().map(|w| w.program.clone());
        let pdf = std::env::current_exe().ok().and_then(|exe| cli_beside(&exe));
        let open = || -> Result<Fieldbrief, String> {
            let mut fb = Fieldbrief::open(home.clone()).map_err(|e| e.to_string())?;
            if let Some(pdf) = pdf.clone() {
                fb = fb.with_pdf_extractor(pdf);
            }
            Ok(match worker.clone() {
                // The worker reports the devices it sees; the app does not link llama.cpp.
                Some(w) => fb.with_worker(w, "auto"),
                None => fb,
            })
        };
        let opened = open().and_then(|work| {
            Ok(Handles {
                browse: Mutex::new(open()?),
                drafts: Mutex::new(Fieldbrief::open(home.clone()).map_err(|e| e.to_string())?),
                work: Mutex::new(work),
            })
        });
        let cancel = match &opened {
            Ok(h) => h.work.lock().expect("fresh mutex").cancel_flag(),
            Err(_) => Arc::default(),
        };
        Shell {
            opened,
            cancel,
            busy: AtomicBool::new(false),
            worker: worker_path,
            granted: Mutex::default(),
            dialogs,
            refiner: Mutex::default(),
            home,
            worker_command: worker,
            downloads: Mutex::default(),
            update_check_soon: AtomicBool::new(false),
        }
    }

    /// A fresh handle on the same data (for a download or an update check in the background).
    pub fn open_another(&self) -> Result<Fieldbrief, UiError> {
        self.handles()?;
        let fb = Fieldbrief::open(self.home.clone())?;
        Ok(match self.worker_command.clone() {
            Some(w) => fb.with_worker(w, "auto"),
            None => fb,
        })
    }

    /// Why the data directory could not be opened, if it could not.
    pub fn open_error(&self) -> Option<&str> {
        self.opened.as_ref().err().map(String::as_str)
    }

    fn handles(&self) -> Result<&Handles, UiError> {
        self.opened
            .as_ref()
            .map_err(|e| UiError::failure(format!("Fieldbrief could not open its data: {e}")))
    }

    /// The handle for everything but summarizing.
    pub fn browse(&self) -> Result<MutexGuard<'_, Fieldbrief>, UiError> {
        Ok(self.handles()?.browse.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Autosave's handle: drafts only, so typed text is saved at once whatever else runs.
    pub fn drafts(&self) -> Result<MutexGuard<'_, Fieldbrief>, UiError> {
        Ok(self.handles()?.drafts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The summarizing handle; refuses at once if a summary is already running.
    pub fn work(&self) -> Result<MutexGuard<'_, Fieldbrief>, UiError> {
        match self.handles()?.work.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                Err(UiError::bad_input("A summary is already running: wait for it or cancel it."))
            }
        }
    }

    /// Gives the UI a token for a file the user chose.
    pub fn grant(&self, path: PathBuf) -> GrantedFile {
        let mut g = self.granted.lock().unwrap_or_else(|p| p.into_inner());
        g.next += 1;
        let token = g.next;
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let kind =
            match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref()
            {
                Some("pdf") => FileKind::Pdf,
                Some("gguf") => FileKind::Model,
                _ => FileKind::Text,
            };
        g.files.insert(token, path);
        GrantedFile { token, name, bytes, kind }
    }

    /// The path behind a token the UI was given.
    pub fn granted(&self, token: u64) -> Result<PathBuf, UiError> {
        let g = self.granted.lock().unwrap_or_else(|p| p.into_inner());
        g.files
            .get(&token)
            .cloned()
            .ok_or_else(|| UiError::bad_input("That file is no longer available: open it again."))
    }

    pub fn set_refiner(&self, nudge: std::sync::mpsc::Sender<()>) {
        *self.refiner.lock().unwrap_or_else(|p| p.into_inner()) = Some(nudge);
    }

    /// Asks the refinement runner to look at the queue now (the settings changed).
    pub fn nudge_refiner(&self) {
        if let Some(nudge) = self.refiner.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = nudge.send(());
        }
    }

    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }
}

/// How file dialogs are answered: by the desktop's own dialogs, or, for automated tests and
/// demos (where nobody can click in a native dialog), from a script file named by
/// `FIELDBRIEF_SCRIPTED_DIALOGS` whose content is the path to answer with (empty: cancelled).
/// The environment belongs to whoever starts the app, so this grants nothing the user could
/// not do already.
#[derive(Debug, Clone)]
pub enum Dialogs {
    Native,
    Scripted(PathBuf),
}

impl Dialogs {
    pub fn from_env() -> Dialogs {
        match std::env::var_os("FIELDBRIEF_SCRIPTED_DIALOGS") {
            Some(p) if !p.is_empty() => Dialogs::Scripted(PathBuf::from(p)),
            _ => Dialogs::Native,
        }
    }

    /// Asks the user for a file: through `native` (a dialog of the dialog plugin, built by the
    /// caller), or from the script. `None` when they cancel.
    pub fn ask(
        &self,
        native: impl FnOnce() -> Option<tauri_plugin_dialog::FilePath>,
    ) -> Option<PathBuf> {
        match self {
            Dialogs::Scripted(script) => Dialogs::scripted_answer(script),
            Dialogs::Native => native().and_then(|p| p.into_path().ok()),
        }
    }

    /// The scripted answer; `None` means cancelled.
    pub fn scripted_answer(script: &Path) -> Option<PathBuf> {
        let text = std::fs::read_to_string(script).ok()?;
        let line = text.lines().next()?.trim();
        (!line.is_empty()).then(|| PathBuf::from(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_only_granted_files() {
        let dir = tempfile::tempdir().unwrap();
        let shell = Shell::open(Some(dir.path().join("home")), None, Dialogs::Native);
        assert!(shell.open_error().is_none());
        let report = dir.path().join("Report.PDF");
        std::fs::write(&report, b"%PDF-1.4").unwrap();
        let a = shell.grant(report.clone());
        let b = shell.grant(dir.path().join("notes.md"));
        assert_ne!(a.token, b.token);
        assert_eq!((a.name.as_str(), a.kind, a.bytes), ("Report.PDF", FileKind::Pdf, 8));
        assert_eq!(b.kind, FileKind::Text);
        assert_eq!(shell.granted(a.token).unwrap(), report);
        assert!(shell.granted(b.token + 1).is_err(), "a token never handed out is refused");
    }

    #[test]
    fn a_second_summary_is_refused_while_one_runs_but_browsing_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let shell = Shell::open(Some(dir.path().join("home")), None, Dialogs::Native);
        let running = shell.work().unwrap();
        let second = shell.work().err().expect("refused while one runs");
        assert_eq!(second.kind, crate::error::ErrorKind::BadInput);
        assert!(shell.browse().unwrap().history(10).unwrap().is_empty(), "history is not blocked");
        drop(running);
        assert!(shell.work().is_ok());
    }

    #[test]
    fn autosave_never_waits_behind_a_summary_or_a_slow_command() {
        let dir = tempfile::tempdir().unwrap();
        let shell = Shell::open(Some(dir.path().join("home")), None, Dialogs::Native);
        // A summary runs, and a slow command (verifying models, a catalog refresh) holds the
        // browsing handle: the typed text is saved all the same, at once.
        let summarizing = shell.work().unwrap();
        let verifying = shell.browse().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let id = shell.drafts().unwrap().save_draft(None, "half-typed note").unwrap();
                tx.send(id).unwrap();
            });
            let id = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("autosave waited");
            assert_eq!(verifying.drafts().unwrap()[0].id, id);
        });
        drop((summarizing, verifying));
    }

    #[test]
    fn an_unopenable_data_directory_is_a_readable_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("config.toml"), "[summary]\nstyle = \"poem\"\n").unwrap();
        let shell = Shell::open(Some(home), None, Dialogs::Native);
        assert!(shell.open_error().is_some());
        let e = shell.browse().err().unwrap();
        assert!(e.message.starts_with("Fieldbrief could not open its data:"), "{}", e.message);
    }

    #[test]
    fn the_worker_is_found_beside_the_app_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("fieldbrief-app");
        assert!(worker_beside(&app).is_none());
        let name = if cfg!(windows) { "fieldbrief.exe" } else { "fieldbrief" };
        std::fs::write(dir.path().join(name), b"").unwrap();
        let w = worker_beside(&app).unwrap();
        assert_eq!(w.program, dir.path().join(name));
        assert_eq!(w.args, vec![fieldbrief_pipeline::WORKER_ARG.to_string()]);
    }

    #[test]
    fn scripted_dialogs_answer_with_the_first_line_or_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("answer");
        assert_eq!(Dialogs::scripted_answer(&script), None, "no script: cancelled");
        std::fs::write(&script, "/tmp/report.pdf\n").unwrap();
        assert_eq!(Dialogs::scripted_answer(&script), Some(PathBuf::from("/tmp/report.pdf")));
        std::fs::write(&script, "\n").unwrap();
        assert_eq!(Dialogs::scripted_answer(&script), None);
    }
}
