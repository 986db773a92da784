//! One contract between the shell and the UI: the TypeScript declarations of everything the
//! shell's commands take and return and its events carry are generated from the Rust types
//! (ts-rs) into `ui/src/contract.ts`, which `ui/src/types.ts` re-exports. The test fails when
//! the committed file is not what the Rust types say, so the two cannot drift apart. After
//! changing one of these types:
//!
//! ```text
//! FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --lib contract
//! npm --prefix ui run typecheck     # the UI code that no longer fits the contract
//! ```
//!
//! The roots are listed in [`contract`], the events in `events.rs`; every type they reach is
//! declared with them. The library crates derive `TS` behind their `ts` features (turned on by
//! this crate's dev-dependency), the shell's own types under `cfg(test)`: nothing of this is in
//! a release build.

use crate::error::UiError;
use crate::shell::GrantedFile;
use crate::{AppInfo, AppStatus, Finished, SavedPdf, SummarizeRequest};
use fieldbrief_core::engine::EngineEvent;
use fieldbrief_core::ledger::Outcome;
use fieldbrief_pipeline::{
    CatalogView, Dashboard, Draft, ModelEntry, NoteListItem, NoteRecord, PullProgress, SearchHit,
    SettingsView, SummaryReport, VerifyReport,
};
use std::any::TypeId;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use ts_rs::{Config, TS, TypeVisitor};

const HEADER: &str = "\
// Generated from the Rust types by src-tauri/src/contract.rs (ts-rs): do not edit.
// After changing one of them: FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --lib contract
";

/// Collects the declaration of every type reached, once, by name.
struct Collect<'a> {
    cfg: &'a Config,
    /// Which Rust type took each TypeScript name: two types of one name would be one
    /// declaration in the file, silently the wrong one for one of them.
    names: HashMap<String, &'static str>,
    seen: HashSet<TypeId>,
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Collect<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        // Primitives and containers (string, Array<…>) have no declaration of their own, but
        // what they hold may.
        if T::output_path().is_some() {
            let name = T::ident(self.cfg);
            let rust = std::any::type_name::<T>();
            if let Some(other) = self.names.insert(name.clone(), rust) {
                panic!(
                    "{other} and {rust} are both `{name}` in TypeScript: rename one with #[ts(rename)]"
                );
            }
            let mut decl = T::docs().unwrap_or_default();
            decl.push_str("export ");
            decl.push_str(&T::decl(self.cfg));
            self.decls.insert(name, decl);
        }
        T::visit_dependencies(self);
    }
}

/// The whole file, from the types the app's commands and events send and take.
fn contract() -> String {
    // The JSON numbers serde writes for u64 and i64 are JavaScript numbers, not bigints.
    let cfg = Config::new().with_large_int("number");
    let mut collect = Collect {
        cfg: &cfg,
        names: HashMap::new(),
        seen: Default::default(),
        decls: BTreeMap::new(),
    };
    // The shell: start-up, status, failures, files, the summarize request and its stream.
    collect.visit::<AppInfo>();
    collect.visit::<AppStatus>();
    collect.visit::<UiError>();
    collect.visit::<GrantedFile>();
    collect.visit::<SummarizeRequest>();
    collect.visit::<EngineEvent>();
    collect.visit::<SummaryReport>();
    // `feedback`'s argument.
    collect.visit::<Outcome>();
    // `export_pdf`, `notify_finished`.
    collect.visit::<SavedPdf>();
    collect.visit::<Finished>();
    // History and drafts.
    collect.visit::<Draft>();
    collect.visit::<NoteListItem>();
    collect.visit::<SearchHit>();
    collect.visit::<NoteRecord>();
    // The Models view: `list_models`, `model_catalog`, `verify_models`.
    collect.visit::<ModelEntry>();
    collect.visit::<CatalogView>();
    collect.visit::<PullProgress>();
    collect.visit::<VerifyReport>();
    // Settings and the Ledger view.
    collect.visit::<SettingsView>();
    collect.visit::<Dashboard>();
    let events = crate::events::declare(&mut collect, &cfg);
    let mut decls: Vec<String> = collect.decls.into_values().collect();
    let events: Vec<String> =
        events.iter().map(|(name, payload)| format!("  \"{name}\": {payload},")).collect();
    decls.push(format!(
        "/**\n * The events the shell sends its window (src-tauri/src/events.rs): name → payload.\n */\nexport type Events = {{\n{}\n}};",
        events.join("\n")
    ));
    format!("{HEADER}\n{}\n", decls.join("\n\n"))
}

fn contract_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/contract.ts")
}

#[test]
fn the_ui_contract_is_what_the_rust_types_say() {
    let want = contract();
    let path = contract_path();
    if std::env::var_os("FIELDBRIEF_UPDATE_UI_TYPES").is_some() {
        fieldbrief_pipeline::write_atomically(&path, want.as_bytes()).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| have.lines().count().min(want.lines().count()) + 1, |i| i + 1);
        panic!(
            "{} is not what the Rust types say (first difference at line {line}:\n  file: {:?}\n  Rust: {:?}).\n\
             Regenerate it with FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --lib contract, \
             then fix what `npm --prefix ui run typecheck` finds.",
            path.display(),
            have.lines().nth(line - 1).unwrap_or(""),
            want.lines().nth(line - 1).unwrap_or(""),
        );
    }
}

#[test]
fn every_root_type_and_what_it_reaches_is_declared() {
    let c = contract();
    for name in [
        "ModelEntry",
        "CatalogView",
        "CatalogItem",
        "PullProgress",
        "PullState",
        "Trust",
        "Rollback",
        "ModelInfo",
        "ChatFormat",
        "VerifyReport",
        "SummaryReport",
        "Reason",
        "ReasonCode",
        "Route",
        "Verdict",
        "PowerState",
        "PowerSource",
        "StatusReport",
        "NetState",
        "LedgerReport",
        "LedgerDay",
        "Refinement",
        "RefinementState",
        "SettingsForm",
        "UiError",
        "ErrorKind",
        "GrantedFile",
        "FileKind",
        "Source",
        "SummarizeRequest",
        "EngineEvent",
    ] {
        assert!(c.contains(&format!("export type {name} =")), "{name} is not declared in:\n{c}");
    }
    // Unsigned 64-bit sizes are numbers in the UI, as serde_json writes them.
    assert!(!c.contains("bigint"), "{c}");
    // A flattened struct's fields are the item's own (the catalog entry inside CatalogItem).
    assert!(!c.contains("export type Entry ="), "{c}");
    assert!(c.contains("auto_install: boolean"), "{c}");
    // Every event, with its payload.
    for event in [
        "\"fieldbrief://refined\": Refinement,",
        "\"fieldbrief://model-download\": PullProgress,",
        "\"fieldbrief://dropped\": Array<GrantedFile>,",
        "\"fieldbrief://drag\": boolean,",
    ] {
        assert!(c.contains(event), "{event} is not in:\n{c}");
    }
}

#[test]
#[allow(dead_code)] // The types exist to be declared, never built.
fn two_types_of_one_name_are_refused() {
    mod a {
        #[derive(ts_rs::TS)]
        pub struct Twin {
            pub x: u8,
        }
    }
    mod b {
        #[derive(ts_rs::TS)]
        pub struct Twin {
            pub y: u8,
        }
    }
    #[derive(ts_rs::TS)]
    struct Both {
        a: a::Twin,
        b: b::Twin,
    }
    let cfg = Config::new();
    let mut collect = Collect {
        cfg: &cfg,
        names: HashMap::new(),
        seen: Default::default(),
        decls: BTreeMap::new(),
    };
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        collect.visit::<Both>();
    }));
    let message = refused.expect_err("two `Twin`s were accepted");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("are both `Twin`"), "{message}");
}
