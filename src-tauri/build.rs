//! Generates the app's context and its command permissions. Every command the UI may call is
//! listed here: tauri-build turns each into an `allow-<command>` permission, and only those a
//! capability in src-tauri/capabilities/ grants can be invoked at all.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(fieldbrief_commands::COMMANDS)),
    )
    .expect("tauri-build failed");
}

#[path = "src/commands_list.rs"]
mod fieldbrief_commands;
