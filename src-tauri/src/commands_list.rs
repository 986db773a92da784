//! Every command the UI may invoke. `build.rs` includes this file to generate an
//! `allow-<command>` permission for each; `capabilities/main-window.json` grants them to the
//! main window; `lib.rs` registers the handlers. A test keeps the three in step.

pub const COMMANDS: &[&str] = &[
    "app_info",
    "status",
    "load_draft",
    "save_draft",
    "pick_file",
    "summarize",
    "cancel_summary",
    "feedback",
    "export_markdown",
    "history",
    "search_history",
    "open_note",
    "delete_note",
    "list_models",
    "import_model",
    "use_model",
    "remove_model",
    "model_catalog",
    "pull_model",
    "pause_download",
    "cancel_download",
    "rollback_model",
    "verify_models",
    "get_settings",
    "save_settings",
    "set_api_key",
    "clear_api_key",
    "dashboard",
];
