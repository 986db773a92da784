//! What only Windows has, against the `.exe` (run under Wine on Linux by `scripts/windows`):
//! drive letters and backslashes, folder and user names with spaces and accents, notes with
//! CRLF line ends, and the data directory under `%APPDATA%`. The rest of the CLI's black-box
//! tests run on Windows as they are (see `scripts/windows` for the list).
#![cfg(windows)]

mod common;
use common::*;
use std::path::{Component, Path, PathBuf, Prefix};

/// A folder as a technician's laptop has them: `C:\Users\Zoë Ångström\Field notes\Nordstrand
/// Pumpwerk`, under the test's temporary directory.
fn technicians_folder(home: &Home) -> PathBuf {
    let dir = home
        .dir
        .path()
        .join("Users")
        .join("Zoë Ångström")
        .join("Field notes")
        .join("Nordstrand Pumpwerk");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn has_drive_letter(path: &Path) -> bool {
    matches!(
        path.components().next(),
        Some(Component::Prefix(p)) if matches!(p.kind(), Prefix::Disk(_) | Prefix::VerbatimDisk(_))
    )
}

const NOTE_CRLF: &str = "Pump P-101 at Nordstrand: mechanical seal replaced on 2026-11-30.\r\n\
    Discharge pressure 4.2 bar after the repair, 3.1 bar before.\r\n\
    Vibration 2.1 mm/s at the drive end, within the 4.5 mm/s limit.\r\n\
    Open: order a spare seal kit (part SK-220) before the next visit.\r\n";

#[test]
fn a_crlf_note_in_a_folder_with_spaces_and_accents_is_summarized_and_kept() {
    let home = Home::new();
    let folder = technicians_folder(&home);
    let note = folder.join("Pumpe Prüfung 30.11.txt");
    std::fs::write(&note, NOTE_CRLF).unwrap();
    let shown = s(&note);
    assert!(has_drive_letter(&note) && shown.contains('\\'), "a Windows path: {shown}");

    // The data directory in the same kind of folder.
    let data = folder.join("Fieldbrief Daten");
    // Words enough for every line of the note: each must come out whole, without its CR.
    let args = ["summarize", "--json", "--max-words", "80", shown];
    let out = home.command(&args).env("FIELDBRIEF_HOME", &data).output();
    let out = out.expect("run fieldbrief.exe");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    assert_eq!(v["document"]["name"], "Pumpe Prüfung 30.11.txt", "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(!summary.contains('\r'), "CRLF does not leak into the summary: {summary:?}");
    for figure in ["P-101", "2026-11-30", "4.2 bar", "2.1 mm/s", "SK-220"] {
        assert!(summary.contains(figure), "{figure} kept: {summary}");
    }
    assert_eq!(v["quality"]["passed"], true, "{}", v["quality"]);

    // The note and its summary are in the database under the accented path, and history
    // finds them.
    assert!(data.join("fieldbrief.sqlite3").is_file(), "{}", data.display());
    let listed = home
        .command(&["history", "list", "--json"])
        .env("FIELDBRIEF_HOME", &data)
        .output()
        .expect("run history");
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("Pumpe Prüfung 30.11.txt"), "{text}");
}

#[test]
fn forward_slashes_and_stdin_with_crlf_work_too() {
    let home = Home::new();
    let folder = technicians_folder(&home);
    let note = folder.join("note.md");
    std::fs::write(&note, NOTE_CRLF).unwrap();
    // `C:/Users/…/note.md`, as scripts and other tools write paths.
    let forward = s(&note).replace('\\', "/");
    let v = home.json(&["summarize", "--json", "--max-words", "80", &forward]);
    assert!(v["summary"].as_str().unwrap().contains("4.2 bar"), "{v}");

    let args = ["summarize", "--json", "--max-words", "80", "-"];
    let out = home.run_with_stdin(&args, NOTE_CRLF.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.contains("4.2 bar") && !summary.contains('\r'), "{summary:?}");
}

#[test]
fn the_generated_model_loads_from_a_folder_with_accents_through_the_worker() {
    let home = Home::new();
    let folder = technicians_folder(&home);
    let model = folder.join("Modelle (lokal)").join("tiny ünï.gguf");
    std::fs::create_dir_all(model.parent().unwrap()).unwrap();
    std::fs::copy(tiny_model(&home), &model).unwrap();
    let note = folder.join("note.txt");
    std::fs::write(&note, NOTE_CRLF).unwrap();

    let v = home.json(&["summarize", "--json", "--model", s(&model), s(&note)]);
    // llama.cpp opened the file (a UTF-8 path turned into Windows' UTF-16) and generated:
    // random weights fail the quality gate, so the extractive summary stands in, after the
    // local route was tried.
    assert!(v["model"].is_object(), "{v}");
    let codes: Vec<&str> =
        v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"fits_local_context"), "{codes:?}");
    assert!(!codes.contains(&"local_engine_failed"), "{v}");
    assert!(v["timings_ms"]["first_token"].as_f64().unwrap() > 0.0, "the model generated: {v}");
}

#[test]
fn a_missing_file_is_refused_naming_the_path_as_typed() {
    let home = Home::new();
    let folder = technicians_folder(&home);
    let missing = folder.join("does not exist.txt");
    let out = home.run(&["summarize", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("does not exist.txt"), "{stderr}");
    assert!(lines[0].contains("Zoë Ångström"), "the accented folder survives: {stderr}");
}

/// (This one uses the user's own data directory, as the product does without
/// `FIELDBRIEF_HOME`: `status` creates it if missing and reads it; it writes no note.)
#[test]
fn the_data_directory_defaults_to_roaming_appdata() {
    let appdata = PathBuf::from(std::env::var_os("APPDATA").expect("%APPDATA% is set"));
    let home = Home::new();
    let out = home.command(&["status", "--json"]).env_remove("FIELDBRIEF_HOME").output();
    let out = out.expect("run status");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    let data = PathBuf::from(v["home"].as_str().unwrap());
    assert!(has_drive_letter(&data), "{}", data.display());
    assert!(
        data.starts_with(&appdata),
        "{} is under %APPDATA% ({})",
        data.display(),
        appdata.display()
    );
    assert_eq!(
        PathBuf::from(v["database"].as_str().unwrap()),
        data.join("fieldbrief.sqlite3"),
        "{v}"
    );
}
