//! Local models as the pipeline sees them: which file a name means, its version, whether it
//! is quarantined. (Catalogs, downloads and rollback come with full model management.)
//!
//! A model's id is its file name without `.gguf`; its version is the first 12 hex digits of
//! its SHA-256, computed once per (path, size, mtime) and remembered in the store, so the
//! ledger can tell two files of the same name apart.

use crate::{Error, Result};
use fieldbrief_engine::local::LocalModel;
use fieldbrief_store::Store;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Crashes in a row after which a model is not used again until it is replaced.
pub const QUARANTINE_AFTER: u32 = 3;

pub fn id_of(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
}

/// `name` is a path to a GGUF file, or the id of a model in `dir`.
pub fn resolve(name: &str, dir: &Path) -> Result<PathBuf> {
    let as_path = PathBuf::from(name);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let in_dir = dir.join(format!("{name}.gguf"));
    if in_dir.is_file() {
        return Ok(in_dir);
    }
    Err(Error::BadArgument(format!(
        "no model {name:?}: it is not a file, and {} has no {name}.gguf (see `fieldbrief models list`)",
        dir.display()
    )))
}

pub fn version(store: &Store, path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::BadArgument(format!("reading {}: {e}", path.display())))?;
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let key = format!("model_version:{}:{}:{mtime}", path.display(), meta.len());
    if let Some(v) = store.setting(&key)? {
        return Ok(v);
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::BadArgument(format!("reading {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::BadArgument(format!("reading {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hex: String = hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    store.set_setting(&key, &hex)?;
    Ok(hex)
}

pub fn local_model(store: &Store, path: PathBuf) -> Result<LocalModel> {
    let version = version(store, &path)?;
    Ok(LocalModel { id: id_of(&path), version, path })
}

fn crash_key(m: &LocalModel) -> String {
    format!("model_crashes:{}@{}", m.id, m.version)
}

pub fn crashes(store: &Store, m: &LocalModel) -> Result<u32> {
    Ok(store.setting(&crash_key(m))?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub fn record_crash(store: &Store, m: &LocalModel) -> Result<u32> {
    let n = crashes(store, m)? + 1;
    store.set_setting(&crash_key(m), &n.to_string())?;
    Ok(n)
}

pub fn record_success(store: &Store, m: &LocalModel) -> Result<()> {
    if crashes(store, m)? > 0 {
        store.set_setting(&crash_key(m), "0")?;
    }
    Ok(())
}

/// Copies a validated GGUF file into `dir` atomically (temporary file, fsync, rename).
pub fn import(source: &Path, dir: &Path) -> Result<PathBuf> {
    let bad = |e: std::io::Error| Error::BadArgument(format!("importing {}: {e}", source.display()));
    fieldbrief_gguf::inspect(source).map_err(|e| Error::InvalidModel(format!("{}: {e}", source.display())))?;
    std::fs::create_dir_all(dir).map_err(bad)?;
    let target = dir.join(format!("{}.gguf", id_of(source)));
    let temp = dir.join(format!(".{}.gguf.partial", id_of(source)));
    std::fs::copy(source, &temp).map_err(bad)?;
    std::fs::File::open(&temp).and_then(|f| f.sync_all()).map_err(bad)?;
    std::fs::rename(&temp, &target).map_err(bad)?;
    Ok(target)
}

/// Models in `dir`, by id.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "gguf") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
