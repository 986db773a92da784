//! The desktop shell. Each command is a thin wrapper over the same `fieldbrief_pipeline`
//! call the CLI makes; the shell adds only what a window needs: streaming over a
//! `tauri::ipc::Channel`, native file dialogs and drops, and errors as readable sentences.
//!
//! Commands run on Tauri's blocking pool (never on the main thread), so the window stays
//! responsive while the engine works. The UI can invoke only the commands listed in
//! `commands_list.rs`, granted by `capabilities/main-window.json`.

mod commands_list;
#[cfg(test)]
mod contract;
mod error;
mod events;
mod refiner;
mod shell;

pub use commands_list::COMMANDS;
pub use error::UiError;
pub use shell::{Dialogs, GrantedFile, Shell};

use fieldbrief_core::Style;
use fieldbrief_core::engine::EngineEvent;
use fieldbrief_core::ledger::Outcome;
use fieldbrief_pipeline::{
    Input, ModelEntry, SettingsForm, SettingsView, SummarizeOptions, SummaryReport,
    write_atomically,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

/// Runs `f` on the blocking pool with the app's state. A panic in `f` becomes a readable
/// error instead of a dead window.
async fn blocking<T, F>(app: AppHandle, f: F) -> Result<T, UiError>
where
    T: Send + 'static,
    F: FnOnce(&AppHandle, &Shell) -> Result<T, UiError> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(move || f(&app, app.state::<Shell>().inner()))
        .await
        .map_err(|e| {
            UiError::failure(format!(
                "Internal error ({e}); your notes are saved. Please report this."
            ))
        })?
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
struct AppInfo {
    version: &'static str,
    home: Option<PathBuf>,
    /// Why the data directory could not be opened; the UI shows it instead of its views.
    open_error: Option<String>,
    /// The engine worker beside the app; without it only extractive summaries are possible.
    worker: Option<PathBuf>,
}

#[tauri::command]
async fn app_info(app: AppHandle) -> Result<AppInfo, UiError> {
    blocking(app, |_, shell| {
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            home: shell.browse().ok().map(|fb| fb.home().root().to_path_buf()),
            open_error: shell.open_error().map(str::to_string),
            worker: shell.worker.clone(),
        })
    })
    .await
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
struct AppStatus {
    report: fieldbrief_pipeline::StatusReport,
    /// A summary is running.
    busy: bool,
    worker: bool,
}

#[tauri::command]
async fn status(app: AppHandle) -> Result<AppStatus, UiError> {
    blocking(app, |_, shell| {
        let report = shell.browse()?.status()?;
        Ok(AppStatus { report, busy: shell.is_busy(), worker: shell.worker.is_some() })
    })
    .await
}

/// The most recently edited draft, to put back in the editor after a restart or a crash.
#[tauri::command]
async fn load_draft(app: AppHandle) -> Result<Option<fieldbrief_pipeline::Draft>, UiError> {
    blocking(app, |_, shell| Ok(shell.drafts()?.drafts()?.into_iter().next())).await
}

/// Autosave: stores the editor's text (committed before returning). An empty editor removes
/// the draft. Returns the draft's id.
#[tauri::command]
async fn save_draft(app: AppHandle, id: Option<i64>, body: String) -> Result<Option<i64>, UiError> {
    blocking(app, move |_, shell| {
        let fb = shell.drafts()?;
        if body.trim().is_empty() {
            if let Some(id) = id {
                // Already gone (summarized) is fine.
                let _ = fb.delete_draft(id);
            }
            return Ok(None);
        }
        Ok(Some(fb.save_draft(id, &body)?))
    })
    .await
}

/// Asks the user for a note or report file. `None` when they cancel.
#[tauri::command]
async fn pick_file(app: AppHandle) -> Result<Option<GrantedFile>, UiError> {
    blocking(app, |app, shell| {
        let path = shell.dialogs.ask(|| {
            app.dialog()
                .file()
                .set_title("Open a note or report")
                .add_filter("Notes and reports", &["txt", "md", "markdown", "text", "log", "pdf"])
                .add_filter("All files", &["*"])
                .blocking_pick_file()
        });
        Ok(path.map(|p| shell.grant(p)))
    })
    .await
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Source {
    /// The editor's text, saved as a draft first so that it survives whatever happens next.
    Draft { id: Option<i64>, body: String },
    /// A file the user opened or dropped.
    File { token: u64 },
    /// A note from history, summarized again.
    Saved { id: i64 },
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
struct SummarizeRequest {
    source: Source,
    style: Style,
    max_words: Option<usize>,
    /// The note never goes to the cloud, now or later.
    #[serde(default)]
    keep_on_device: bool,
    /// Decide and show what would be sent; save, summarize and send nothing.
    #[serde(default)]
    dry_run: bool,
    /// Recognise a scanned PDF's text with OCR on the laptop (offered after a scan's refusal).
    #[serde(default)]
    ocr: bool,
}

/// Summarizes, streaming tokens and progress to `on_event` as the engine produces them.
#[tauri::command]
async fn summarize(
    app: AppHandle,
    request: SummarizeRequest,
    on_event: Channel<EngineEvent>,
) -> Result<SummaryReport, UiError> {
    blocking(app, move |_, shell| {
        let mut fb = shell.work()?;
        shell.cancel.store(false, Ordering::SeqCst);
        shell.busy.store(true, Ordering::SeqCst);
        struct Idle<'a>(&'a Shell);
        impl Drop for Idle<'_> {
            fn drop(&mut self) {
                self.0.busy.store(false, Ordering::SeqCst);
            }
        }
        let _idle = Idle(shell);
        let input = match request.source {
            Source::Draft { id, body } => Input::Draft(fb.save_draft(id, &body)?),
            Source::File { token } => Input::Path(shell.granted(token)?),
            Source::Saved { id } => Input::Saved(id),
        };
        // Settings saved in the Settings view (through the other handle) count from this
        // summary on. The note or draft is already saved, whatever this says.
        fb.reload_settings()?;
        let opts = SummarizeOptions {
            style: Some(request.style),
            max_words: request.max_words,
            keep_on_device: request.keep_on_device,
            dry_run: request.dry_run,
            ocr: request.ocr,
            ..Default::default()
        };
        // A closed channel (the window reloaded) must not stop the summary: it is saved anyway.
        let report = fb.summarize_with(input, &opts, &mut |event| {
            let _ = on_event.send(event);
        })?;
        Ok(report)
    })
    .await
}

/// Stops the running summary; the note stays saved and the ledger records the cancellation.
#[tauri::command]
fn cancel_summary(shell: tauri::State<'_, Shell>) -> bool {
    let running = shell.is_busy();
    if running {
        shell.cancel.store(true, Ordering::SeqCst);
    }
    running
}

/// Thumbs up or down (or another outcome) for a summary, recorded in the ledger.
#[tauri::command]
async fn feedback(app: AppHandle, request_id: String, outcome: Outcome) -> Result<(), UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.feedback(&request_id, outcome)?)).await
}

/// The technician's correction of a summary: it replaces the summary in history, search and
/// exports (the engine's text is kept), and the request's outcome becomes `edited`.
#[tauri::command]
async fn edit_summary(app: AppHandle, request_id: String, text: String) -> Result<(), UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.edit_summary(&request_id, &text)?)).await
}

/// Asks where to save `bytes` (the save dialog, with `title`, a suggested name and one
/// filter) and writes them there whole. `None` when the user cancels.
fn save_as(
    app: &AppHandle,
    shell: &Shell,
    title: &str,
    suggested_name: &str,
    filter: (&str, &str),
    bytes: &[u8],
) -> Result<Option<PathBuf>, UiError> {
    let target = shell.dialogs.ask(|| {
        app.dialog()
            .file()
            .set_title(title)
            .set_file_name(suggested_name)
            .add_filter(filter.0, &[filter.1])
            .blocking_save_file()
    });
    let Some(target) = target else { return Ok(None) };
    write_atomically(&target, bytes)
        .map_err(|e| UiError::failure(format!("Could not save {}: {e}", target.display())))?;
    Ok(Some(target))
}

/// Saves `markdown` where the user chooses. Returns the path, or `None` when they cancel.
#[tauri::command]
async fn export_markdown(
    app: AppHandle,
    markdown: String,
    suggested_name: String,
) -> Result<Option<PathBuf>, UiError> {
    blocking(app, move |app, shell| {
        let filter = ("Markdown", "md");
        save_as(
            app,
            shell,
            "Export summary as Markdown",
            &suggested_name,
            filter,
            markdown.as_bytes(),
        )
    })
    .await
}

/// Renders note `note_id`'s summary `request_id` as a PDF (the same page as `fieldbrief
/// export --pdf`) and saves it where the user chooses. `None` when they cancel.
#[tauri::command]
async fn export_pdf(
    app: AppHandle,
    note_id: i64,
    request_id: String,
) -> Result<Option<SavedPdf>, UiError> {
    blocking(app, move |app, shell| {
        let pdf = shell.browse()?.export_pdf(note_id, Some(&request_id))?;
        let saved = save_as(
            app,
            shell,
            "Save summary as PDF",
            &pdf.suggested_name,
            ("PDF", "pdf"),
            &pdf.bytes,
        )?;
        Ok(saved.map(|path| SavedPdf { path, pages: pdf.pages, missing: pdf.missing }))
    })
    .await
}

/// Where a PDF went, and what it could not draw.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SavedPdf {
    #[cfg_attr(test, ts(type = "string"))]
    pub path: PathBuf,
    pub pages: usize,
    /// Characters the font could not draw (printed as boxes).
    pub missing: Vec<String>,
}

#[tauri::command]
async fn history(
    app: AppHandle,
    limit: Option<usize>,
) -> Result<Vec<fieldbrief_pipeline::NoteListItem>, UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.history(limit.unwrap_or(200))?)).await
}

#[tauri::command]
async fn search_history(
    app: AppHandle,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<fieldbrief_pipeline::SearchHit>, UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.search(&query, limit.unwrap_or(100))?)).await
}

#[tauri::command]
async fn open_note(app: AppHandle, id: i64) -> Result<fieldbrief_pipeline::NoteRecord, UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.note(id)?)).await
}

#[tauri::command]
async fn delete_note(app: AppHandle, id: i64) -> Result<(), UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.delete_note(id)?)).await
}

#[tauri::command]
async fn list_models(app: AppHandle) -> Result<Vec<ModelEntry>, UiError> {
    blocking(app, |_, shell| Ok(shell.browse()?.models()?)).await
}

/// Asks for a GGUF file (e.g. on a USB stick), then hashes, validates and smoke-tests it
/// before it becomes current. `None` when the user cancels.
#[tauri::command]
async fn import_model(app: AppHandle) -> Result<Option<ModelEntry>, UiError> {
    blocking(app, |app, shell| {
        let path = shell.dialogs.ask(|| {
            app.dialog()
                .file()
                .set_title("Import a GGUF model")
                .add_filter("GGUF models", &["gguf"])
                .blocking_pick_file()
        });
        let Some(path) = path else { return Ok(None) };
        // On a handle of its own: copying and smoke-testing take a while, and the other views
        // must stay usable meanwhile.
        Ok(shell.open_another()?.import_model(&path)?.into_iter().next())
    })
    .await
}

/// Asks for a folder (a USB stick, say): a signed `catalog.json` in it installs its models
/// under the catalog's ids, versions and hashes (the organisation's key must be configured);
/// other `.gguf` files are imported by hash. Every one goes through the smoke test. Empty
/// when the user cancels.
#[tauri::command]
async fn import_model_folder(app: AppHandle) -> Result<Vec<ModelEntry>, UiError> {
    blocking(app, |app, shell| {
        let path = shell.dialogs.ask(|| {
            app.dialog().file().set_title("Import models from a folder").blocking_pick_folder()
        });
        let Some(path) = path else { return Ok(Vec::new()) };
        if !path.is_dir() {
            return Err(UiError::bad_input(format!("{} is not a folder.", path.display())));
        }
        Ok(shell.open_another()?.import_model(&path)?)
    })
    .await
}

#[tauri::command]
async fn use_model(app: AppHandle, id: String, version: Option<String>) -> Result<(), UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.use_model(&id, version.as_deref())?)).await
}

#[tauri::command]
async fn remove_model(app: AppHandle, id: String, version: Option<String>) -> Result<(), UiError> {
    blocking(app, move |_, shell| {
        if shell.is_busy() {
            return Err(UiError::bad_input(
                "Wait for the running summary to finish before removing a model.",
            ));
        }
        shell.browse()?.remove_model(&id, version.as_deref())?;
        Ok(())
    })
    .await
}

#[tauri::command]
async fn model_catalog(
    app: AppHandle,
    refresh: bool,
) -> Result<fieldbrief_pipeline::CatalogView, UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.model_catalog(refresh)?)).await
}

/// Starts (or resumes) a download on its own handle and thread; progress arrives as
/// `fieldbrief://model-download` events, the last one `installed`, `failed`, `paused` or
/// `cancelled`.
#[tauri::command]
async fn pull_model(app: AppHandle, id: String, version: Option<String>) -> Result<(), UiError> {
    blocking(app, move |app, shell| start_download(app, shell, id, version, false)).await
}

/// Starts (or resumes) a download on its own handle and thread, registered so the window can
/// pause or cancel it; progress arrives as `fieldbrief://model-download` events, the last one
/// `installed`, `failed`, `paused` or `cancelled`. An `automatic` one (an update the
/// organisation marked so) pauses itself when the laptop goes to battery saver, the connection
/// is marked metered or the app works offline.
fn start_download(
    app: &AppHandle,
    shell: &Shell,
    id: String,
    version: Option<String>,
    automatic: bool,
) -> Result<(), UiError> {
    let control = fieldbrief_pipeline::DownloadControl::default();
    // Resume right after Pause: the paused download lets go of its file within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut downloads = shell.downloads.lock().unwrap_or_else(|p| p.into_inner());
        match downloads.get(&id) {
            None => {
                downloads.insert(id.clone(), control.clone());
                break;
            }
            Some(c) if c.is_stopping() && std::time::Instant::now() < deadline => {
                drop(downloads);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Some(_) => return Err(UiError::bad_input(format!("{id} is already downloading."))),
        }
    }
    let mut fb = match shell.open_another() {
        Ok(fb) => fb,
        Err(e) => {
            shell.downloads.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            return Err(e);
        }
    };
    let app = app.clone();
    std::thread::spawn(move || {
        let emit = |p: &fieldbrief_pipeline::PullProgress| {
            events::emit::<events::ModelDownload, _>(&app, p);
        };
        let result = if automatic {
            match fb.pull_model_automatically(&id, version.as_deref(), &control, &mut |p| emit(p)) {
                Ok(
                    fieldbrief_pipeline::AutoPull::NotStarted(why)
                    | fieldbrief_pipeline::AutoPull::Paused(why),
                ) => {
                    tracing::info!(model = %id, why, "automatic download held back");
                    app.state::<Shell>()
                        .update_check_soon
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                }
                Ok(fieldbrief_pipeline::AutoPull::Installed(_)) => Ok(()),
                Err(e) => Err(e),
            }
        } else {
            fb.pull_model(&id, version.as_deref(), &control, &mut |p| emit(p)).map(|_| ())
        };
        if let Err(e) = &result {
            tracing::warn!(model = %id, error = %e, "model download stopped");
        }
        app.state::<Shell>().downloads.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    });
    Ok(())
}

#[tauri::command]
async fn pause_download(app: AppHandle, id: String) -> Result<(), UiError> {
    blocking(app, move |_, shell| {
        match shell.downloads.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            Some(c) => c.pause(),
            None => return Err(UiError::bad_input(format!("{id} is not downloading."))),
        }
        Ok(())
    })
    .await
}

/// Stops a download and deletes its bytes; also deletes a download paused earlier.
#[tauri::command]
async fn cancel_download(app: AppHandle, id: String) -> Result<(), UiError> {
    blocking(app, move |app, shell| {
        if let Some(c) = shell.downloads.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            c.cancel();
            return Ok(());
        }
        let fb = shell.browse()?;
        let catalog = fb.model_catalog(false)?;
        for item in catalog.entries.iter().filter(|i| i.entry.id == id) {
            if let Some(d) = &item.download {
                fb.discard_download(&d.id, &d.version)?;
                let cancelled = fieldbrief_pipeline::PullProgress {
                    state: fieldbrief_pipeline::PullState::Cancelled,
                    ..d.clone()
                };
                events::emit::<events::ModelDownload, _>(app, &cancelled);
            }
        }
        Ok(())
    })
    .await
}

#[tauri::command]
async fn rollback_model(app: AppHandle, id: String) -> Result<ModelEntry, UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.rollback_model(&id)?)).await
}

#[tauri::command]
async fn verify_models(
    app: AppHandle,
    id: Option<String>,
) -> Result<Vec<fieldbrief_pipeline::VerifyReport>, UiError> {
    blocking(app, move |_, shell| Ok(shell.browse()?.verify_models(id.as_deref())?)).await
}

/// The Ledger view: the report, the ledger day by day, the cache. `since` is a date or time.
#[tauri::command]
async fn dashboard(
    app: AppHandle,
    since: Option<String>,
) -> Result<fieldbrief_pipeline::Dashboard, UiError> {
    blocking(app, move |_, shell| {
        let since = since.as_deref().map(fieldbrief_pipeline::parse_since).transpose()?;
        Ok(shell.browse()?.dashboard(since.as_ref())?)
    })
    .await
}

/// The Settings view's form, read again from `config.toml`.
#[tauri::command]
async fn get_settings(app: AppHandle) -> Result<SettingsView, UiError> {
    blocking(app, |_, shell| {
        let mut fb = shell.browse()?;
        fb.reload_settings()?;
        Ok(fb.settings_view())
    })
    .await
}

/// Validates and saves the form to `config.toml`; the next summary and the refinement runner
/// use it. Nothing is written when anything is wrong.
#[tauri::command]
async fn save_settings(app: AppHandle, form: SettingsForm) -> Result<SettingsView, UiError> {
    blocking(app, move |_, shell| {
        let mut fb = shell.browse()?;
        fb.save_settings(&form)?;
        shell.nudge_refiner();
        Ok(fb.settings_view())
    })
    .await
}

/// Stores the cloud's API key in the OS keychain (never in the settings file or the database).
#[tauri::command]
async fn set_api_key(app: AppHandle, key: String) -> Result<SettingsView, UiError> {
    blocking(app, move |_, shell| {
        let mut fb = shell.browse()?;
        fb.store_api_key(&key)?;
        shell.nudge_refiner();
        Ok(fb.settings_view())
    })
    .await
}

#[tauri::command]
async fn clear_api_key(app: AppHandle) -> Result<SettingsView, UiError> {
    blocking(app, |_, shell| {
        let mut fb = shell.browse()?;
        fb.clear_api_key()?;
        Ok(fb.settings_view())
    })
    .await
}

/// Fieldbrief was started again (`args`, in `cwd`): the running window comes to the front and
/// opens the notes the second launch named (paths, or `file://` URIs as desktop launchers pass
/// them), as if they were dropped on it. The second process exits having opened nothing.
fn reopened(app: &AppHandle, args: Vec<String>, cwd: String) {
    tracing::info!(?args, "started again: the running window is brought to the front");
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    // The first instance may still be starting (its setup opens the data directory): the
    // window comes forward, and files wait for a launch after it has started.
    let Some(shell) = app.try_state::<Shell>() else {
        events::emit::<events::Reopened, _>(app, &Vec::new());
        return;
    };
    let files: Vec<GrantedFile> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| match url::Url::parse(a) {
            Ok(u) if u.scheme() == "file" => u.to_file_path().ok(),
            _ => Some(std::path::Path::new(&cwd).join(a)),
        })
        .filter(|p| p.is_file())
        .map(|p| shell.grant(p))
        .collect();
    events::emit::<events::Reopened, _>(app, &files);
}

/// What finished, for a desktop notification.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Finished {
    Summary,
    Refinement,
}

/// Announces finished work on the desktop: the window calls this when a summary or a cloud
/// refinement finishes while it is not in front. Nothing is sent when the user turned
/// notifications off (`[ui] notifications`). Returns whether one was handed to the desktop
/// (the plugin delivers it in the background; a desktop without a notification service
/// drops it, and the window's own notice stands).
#[tauri::command]
async fn notify_finished(app: AppHandle, what: Finished, title: String) -> Result<bool, UiError> {
    use tauri_plugin_notification::NotificationExt;
    blocking(app, move |app, shell| {
        let on = {
            let mut fb = shell.browse()?;
            fb.reload_settings()?;
            fb.settings().ui.notifications
        };
        if !on {
            return Ok(false);
        }
        let (heading, body) = match what {
            Finished::Summary => ("Summary ready", format!("“{title}” is summarized.")),
            Finished::Refinement => {
                ("A better summary is ready", format!("“{title}” was refined in the cloud."))
            }
        };
        match app.notification().builder().title(heading).body(body).show() {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::info!(error = %e, "the desktop notification could not be shown");
                Ok(false)
            }
        }
    })
    .await
}

/// Files dropped on the window are granted and handed to the UI as tokens.
fn on_window_event(window: &tauri::Window, event: &tauri::WindowEvent) {
    let tauri::WindowEvent::DragDrop(drag) = event else { return };
    match drag {
        tauri::DragDropEvent::Enter { .. } => {
            events::emit_to_window::<events::Drag, _>(window, &true);
        }
        tauri::DragDropEvent::Leave => {
            events::emit_to_window::<events::Drag, _>(window, &false);
        }
        tauri::DragDropEvent::Drop { paths, .. } => {
            let shell = window.state::<Shell>();
            let files: Vec<GrantedFile> = paths.iter().map(|p| shell.grant(p.clone())).collect();
            events::emit_to_window::<events::Drag, _>(window, &false);
            events::emit_to_window::<events::Dropped, _>(window, &files);
        }
        _ => {}
    }
}

/// Looks for model updates a minute after start and every six hours, when an organisation
/// catalog is configured: new versions are offered in the Models view; one the organisation
/// marks automatic is installed (never on battery saver, a metered connection or offline),
/// with its progress sent like any download's. While an automatic install waits for one of
/// those to change, or paused itself because of one, it is looked at again every ten minutes.
/// A download the user paused or cancelled is left alone (the pipeline remembers it).
fn spawn_update_checks(app: AppHandle) {
    use std::time::{Duration, Instant};
    const SOON: Duration = Duration::from_secs(600);
    std::thread::spawn(move || {
        let mut next = Instant::now() + Duration::from_secs(60);
        loop {
            std::thread::sleep(Duration::from_secs(20));
            let shell = app.state::<Shell>();
            if shell.update_check_soon.swap(false, std::sync::atomic::Ordering::SeqCst) {
                next = next.min(Instant::now() + SOON);
            }
            if Instant::now() < next {
                continue;
            }
            next = Instant::now() + Duration::from_secs(6 * 3600);
            let Ok(mut fb) = shell.open_another() else { continue };
            if fb.settings().models.catalog_url.is_none() || !fb.settings().models.check_updates {
                continue;
            }
            let control = fieldbrief_pipeline::DownloadControl::default();
            match fb.check_updates(true, false, &control, &mut |_| {}) {
                Ok(offers) => {
                    tracing::info!(offers = offers.len(), "model update check");
                    for o in &offers {
                        if o.retry_soon {
                            next = next.min(Instant::now() + SOON);
                        }
                        // Automatic installs run like any download: shown, pausable, cancellable.
                        if o.auto_install_due
                            && let Err(e) = start_download(
                                &app,
                                &shell,
                                o.id.clone(),
                                Some(o.available.clone()),
                                true,
                            )
                        {
                            tracing::warn!(model = %o.id, error = %e.message, "automatic model update not started");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "model update check failed"),
            }
        }
    });
}

/// Starts the app. `FIELDBRIEF_HOME` chooses the data directory as for the CLI.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FIELDBRIEF_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let worker = std::env::current_exe().ok().and_then(|exe| shell::worker_beside(&exe));
    if worker.is_none() {
        tracing::warn!("no engine worker beside the app: only extractive summaries are possible");
    }
    let home = std::env::var_os("FIELDBRIEF_HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let result = tauri::Builder::default()
        // First: a second launch stops here and hands over, before it has opened the data
        // directory (a newer version would otherwise migrate the database under the running
        // one), started a worker or shown a window.
        .plugin(tauri_plugin_single_instance::init(reopened))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            // The state every command and window event uses. The window exists already, but
            // its commands and events run on the main thread, which is here until setup ends.
            app.manage(Shell::open(home.clone(), worker, Dialogs::from_env()));
            // Refinements queued while offline run in the background; the window hears of each
            // one that is ready.
            let handle = app.handle().clone();
            let nudge = refiner::spawn(
                home,
                std::time::Duration::from_secs(5),
                refiner::INTERVAL,
                move |r| {
                    events::emit::<events::Refined, _>(&handle, r);
                },
            );
            app.state::<Shell>().set_refiner(nudge);
            spawn_update_checks(app.handle().clone());
            Ok(())
        })
        .on_window_event(on_window_event)
        .invoke_handler(tauri::generate_handler![
            app_info,
            status,
            load_draft,
            save_draft,
            pick_file,
            summarize,
            cancel_summary,
            feedback,
            edit_summary,
            export_markdown,
            export_pdf,
            notify_finished,
            history,
            search_history,
            open_note,
            delete_note,
            list_models,
            import_model,
            import_model_folder,
            use_model,
            remove_model,
            model_catalog,
            pull_model,
            pause_download,
            cancel_download,
            rollback_model,
            verify_models,
            get_settings,
            save_settings,
            set_api_key,
            clear_api_key,
            dashboard,
        ])
        .run(tauri::generate_context!("tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("error: Fieldbrief could not start its window: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capability_grants_exactly_the_registered_commands_and_no_shell() {
        let text = include_str!("../capabilities/main-window.json");
        let cap: serde_json::Value = serde_json::from_str(text).unwrap();
        let granted: Vec<&str> =
            cap["permissions"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
        for command in COMMANDS {
            let permission = format!("allow-{}", command.replace('_', "-"));
            assert!(granted.contains(&permission.as_str()), "{permission} is not granted");
        }
        let own: Vec<&&str> = granted.iter().filter(|p| !p.contains(':')).collect();
        assert_eq!(own.len(), COMMANDS.len(), "a granted app permission has no command: {own:?}");
        assert!(
            granted.iter().all(|p| !p.starts_with("shell:") && !p.starts_with("fs:")),
            "{granted:?}"
        );
        // The UI opens no dialog itself (the shell does, and grants the file), so the dialog
        // plugin's commands are not granted either.
        assert!(granted.iter().all(|p| !p.starts_with("dialog:")), "{granted:?}");
        // The handlers registered in run() match the list (generate_handler! cannot be
        // inspected, so compare against this file's own text).
        let src = include_str!("lib.rs");
        let handlers = &src[src.find("generate_handler![").unwrap()..];
        let handlers = &handlers[..handlers.find(']').unwrap()];
        for command in COMMANDS {
            assert!(handlers.contains(&format!("{command},")), "{command} has no handler");
        }
    }

    #[test]
    fn the_csp_allows_nothing_remote_and_no_eval() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
        let csp = &conf["app"]["security"]["csp"];
        for (directive, value) in csp.as_object().unwrap() {
            let value = value.as_str().unwrap();
            assert!(
                !value.contains("unsafe-eval") && !value.contains("unsafe-inline"),
                "{directive}: {value}"
            );
            assert!(
                !value.contains("http://") || value == "ipc: http://ipc.localhost",
                "{directive}: {value}"
            );
            assert!(!value.contains("https:") && !value.contains('*'), "{directive}: {value}");
        }
        assert_eq!(csp["default-src"], "'self'");
        assert_eq!(csp["script-src"], "'self'");
        assert_eq!(csp["connect-src"], "ipc: http://ipc.localhost");
        assert_eq!(conf["app"]["withGlobalTauri"], false);
    }

    /// The GPU features and every platform's bundle, as configured: what the macOS and
    /// Windows builds (GitHub Actions, `.github/workflows/bundles.yml`) rely on, read from the
    /// files themselves.
    #[test]
    fn the_gpu_features_and_every_platforms_bundle_are_configured() {
        let manifest = |text: &str| text.parse::<toml::Table>().unwrap();
        let cli = manifest(include_str!("../../crates/cli/Cargo.toml"));
        let worker = manifest(include_str!("../../crates/worker/Cargo.toml"));
        // `--features metal` (cuda, vulkan) on the CLI turns on llama.cpp's backend in the
        // worker, the process that runs the model.
        for gpu in ["metal", "cuda", "vulkan"] {
            assert_eq!(
                cli["features"][gpu].as_array().unwrap(),
                &[toml::Value::from(format!("fieldbrief-worker/{gpu}"))],
                "{gpu}"
            );
            assert_eq!(
                worker["features"][gpu].as_array().unwrap(),
                &[toml::Value::from(format!("llama-cpp-2/{gpu}"))],
                "{gpu}"
            );
        }
        // OpenMP on Linux only: Apple's clang has none, and Windows would need vcomp140.dll.
        let everywhere = &worker["dependencies"]["llama-cpp-2"];
        assert!(everywhere.get("features").is_none(), "{everywhere}");
        let linux = &worker["target"]["cfg(target_os = \"linux\")"]["dependencies"]["llama-cpp-2"];
        assert_eq!(linux["features"].as_array().unwrap(), &[toml::Value::from("openmp")]);

        // Each platform's job builds its own bundles, with the GPU backend its machines have.
        let workflow = include_str!("../../.github/workflows/bundles.yml");
        let job = |target: &str| -> String {
            let start = workflow.find(&format!("target: {target}\n")).expect(target);
            let rest = &workflow[start..];
            rest[..rest.find("- os:").unwrap_or(rest.len())].to_string()
        };
        for (target, bundles, features) in [
            ("aarch64-apple-darwin", "app,dmg", "metal"),
            ("x86_64-apple-darwin", "app,dmg", "\"\""),
            ("x86_64-pc-windows-msvc", "msi,nsis", "vulkan"),
            ("x86_64-unknown-linux-gnu", "deb,rpm,appimage", "vulkan"),
        ] {
            let job = job(target);
            assert!(job.contains(&format!("bundles: {bundles}\n")), "{target}: {job}");
            assert!(job.contains(&format!("worker_features: {features}\n")), "{target}: {job}");
        }
        assert!(workflow.contains("run: scripts/stage-workers"), "the worker goes in every bundle");

        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
        let bundle = &conf["bundle"];
        // Metal's llama.cpp backend needs macOS 11 or later.
        assert_eq!(bundle["macOS"]["minimumSystemVersion"], "11.0");
        // A per-user install (no administrator on a managed laptop) that carries WebView2's
        // offline installer: a laptop without WebView2 may well be offline when installing.
        assert_eq!(bundle["windows"]["nsis"]["installMode"], "currentUser");
        assert_eq!(bundle["windows"]["webviewInstallMode"]["type"], "offlineInstaller");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let icons: Vec<&str> =
            bundle["icon"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
        for ext in [".icns", ".ico", ".png"] {
            let icon = icons.iter().find(|i| i.ends_with(ext)).expect(ext);
            assert!(root.join(icon).is_file(), "{icon}");
        }
    }

    #[test]
    fn exports_replace_the_target_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("summary.md");
        std::fs::write(&target, "old").unwrap();
        write_atomically(&target, b"# New\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "# New\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        let e = write_atomically(&dir.path().join("missing/summary.md"), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
