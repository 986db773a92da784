//! One contract between the shell and the UI: the TypeScript declarations of what the app
//! sends its UI are generated from the Rust types (ts-rs) into `ui/src/contract.ts`, which
//! `ui/src/types.ts` re-exports. This test fails when the committed file is not what the Rust
//! types say, so the two cannot drift apart. After changing one of these types:
//!
//! ```text
//! FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --test ui_types
//! npm --prefix ui run typecheck     # the UI code that no longer fits the contract
//! ```
//!
//! The roots are listed in [`contract`]; every type they reach is declared with them.

use fieldbrief_pipeline::{CatalogView, ModelEntry, PullProgress, VerifyReport};
use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use ts_rs::{Config, TS, TypeVisitor};

const HEADER: &str = "\
// Generated from the Rust types by src-tauri/tests/ui_types.rs (ts-rs): do not edit.
// After changing one of them: FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --test ui_types
";

/// Collects the declaration of every type reached, once, by name.
struct Collect<'a> {
    cfg: &'a Config,
    seen: HashSet<TypeId>,
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Collect<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and containers (string, Array<…>) have no declaration of their own.
        if T::output_path().is_none() || !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let mut decl = T::docs().unwrap_or_default();
        decl.push_str("export ");
        decl.push_str(&T::decl(self.cfg));
        self.decls.insert(T::ident(self.cfg), decl);
        T::visit_dependencies(self);
    }
}

/// The whole file, from the types the app's commands and events send.
fn contract() -> String {
    // The JSON numbers serde writes for u64 and i64 are JavaScript numbers, not bigints.
    let cfg = Config::new().with_large_int("number");
    let mut collect = Collect { cfg: &cfg, seen: HashSet::new(), decls: BTreeMap::new() };
    // The Models view: `models`, `model_catalog`, `verify_models` and the download events.
    collect.visit::<ModelEntry>();
    collect.visit::<CatalogView>();
    collect.visit::<PullProgress>();
    collect.visit::<VerifyReport>();
    let decls: Vec<String> = collect.decls.into_values().collect();
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
             Regenerate it with FIELDBRIEF_UPDATE_UI_TYPES=1 cargo test -p fieldbrief-app --test ui_types, \
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
    ] {
        assert!(c.contains(&format!("export type {name} =")), "{name} is not declared in:\n{c}");
    }
    // Unsigned 64-bit sizes are numbers in the UI, as serde_json writes them.
    assert!(!c.contains("bigint"), "{c}");
    // A flattened struct's fields are the item's own (the catalog entry inside CatalogItem).
    assert!(!c.contains("export type Entry ="), "{c}");
    assert!(c.contains("auto_install: boolean"), "{c}");
}
