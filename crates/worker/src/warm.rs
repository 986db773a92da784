//! Saved KV states of prompts' fixed beginnings, for warm starts across worker restarts.
//!
//! A state is llama.cpp's sequence state after decoding the instructions and examples that
//! start every prompt of one kind (never the note: see `Session::fixed_prefix`). Each file is
//! named by a hash of the model file's identity (path, size, modification time) and the
//! beginning's tokens, so a changed model or prompt version simply finds no file; the oldest
//! files beyond [`KEEP`] are removed whenever one is saved. A state is written to a temporary
//! name and renamed, with its SHA-256 beside it: a file cut short by a crash or a full disk is
//! never handed to llama.cpp, it is discarded.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// States kept per data directory: a few prompt kinds (each style's, the line rewrite's) for
/// the current model, with room for one change of model.
const KEEP: usize = 12;

pub(crate) struct Store {
    dir: PathBuf,
    model: String,
}

impl Store {
    pub(crate) fn new(dir: &Path, model: &Path) -> Store {
        let meta = std::fs::metadata(model).ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        let modified = meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Store { dir: dir.to_path_buf(), model: format!("{}\0{size}\0{modified}", model.display()) }
    }

    /// The name of the state of `tokens` for this model.
    pub(crate) fn key(&self, tokens: impl IntoIterator<Item = i32>) -> String {
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        h.update([0]);
        for t in tokens {
            h.update(t.to_le_bytes());
        }
        hex(&h.finalize()[..16])
    }

    fn paths(&self, key: &str) -> (PathBuf, PathBuf) {
        (self.dir.join(format!("{key}.kv")), self.dir.join(format!("{key}.kv.sha256")))
    }

    /// The state file for `key` when it is there whole (its SHA-256 matches); a damaged one is
    /// removed.
    pub(crate) fn verified(&self, key: &str) -> Option<PathBuf> {
        let (file, sum) = self.paths(key);
        let expected = std::fs::read_to_string(&sum).ok()?;
        match sha256_file(&file) {
            Ok(actual) if actual == expected.trim() => Some(file),
            _ => {
                tracing::warn!(file = %file.display(), "saved prompt state damaged; discarded");
                self.discard(key);
                None
            }
        }
    }

    pub(crate) fn discard(&self, key: &str) {
        let (file, sum) = self.paths(key);
        let _ = std::fs::remove_file(sum);
        let _ = std::fs::remove_file(file);
    }

    /// Saves through `write` (which writes the state to the path it is given), then makes it
    /// visible under `key` with its checksum, and removes the oldest states beyond [`KEEP`].
    pub(crate) fn save(
        &self,
        key: &str,
        write: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let (file, sum) = self.paths(key);
        let tmp = self.dir.join(format!("{key}.kv.tmp{}", std::process::id()));
        let result = write(&tmp).and_then(|()| {
            let digest = sha256_file(&tmp).map_err(|e| e.to_string())?;
            fieldbrief_fs::sync_file(&tmp).map_err(|e| e.to_string())?;
            fieldbrief_fs::rename_over(&tmp, &file).map_err(|e| e.to_string())?;
            fieldbrief_fs::write_atomically(&sum, digest.as_bytes()).map_err(|e| e.to_string())
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
            self.discard(key);
        }
        self.prune();
        result
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let mut states: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let key = name.strip_suffix(".kv")?.to_string();
                Some((e.metadata().ok()?.modified().ok()?, key))
            })
            .collect();
        states.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (_, key) in states.into_iter().skip(KEEP) {
            self.discard(&key);
        }
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_keyed_by_model_and_beginning_and_damage_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.gguf");
        std::fs::write(&model, b"weights").unwrap();
        let store = Store::new(&dir.path().join("state"), &model);
        let key = store.key([1, 2, 3]);
        assert_ne!(key, store.key([1, 2, 4]), "another beginning, another state");
        assert!(store.verified(&key).is_none());
        store.save(&key, |p| std::fs::write(p, b"kv bytes").map_err(|e| e.to_string())).unwrap();
        let file = store.verified(&key).expect("saved whole");
        assert_eq!(std::fs::read(&file).unwrap(), b"kv bytes");
        // A changed model file is another model: its states are not these.
        std::fs::write(&model, b"other weights").unwrap();
        assert_ne!(Store::new(&dir.path().join("state"), &model).key([1, 2, 3]), key);
        // A state cut short is never used, and is removed.
        std::fs::write(&file, b"kv by").unwrap();
        assert!(store.verified(&key).is_none());
        assert!(!file.exists());
        // A failed write leaves nothing behind.
        assert!(
            store
                .save(&key, |p| std::fs::write(p, b"half")
                    .map_err(|e| e.to_string())
                    .and(Err("disk full".into())))
                .is_err()
        );
        assert_eq!(std::fs::read_dir(dir.path().join("state")).unwrap().count(), 0);
    }

    #[test]
    fn only_the_newest_states_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), &dir.path().join("m.gguf"));
        for i in 0..(KEEP as i32 + 3) {
            let key = store.key([i]);
            store
                .save(&key, |p| std::fs::write(p, i.to_le_bytes()).map_err(|e| e.to_string()))
                .unwrap();
        }
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "kv"))
            .count();
        assert_eq!(kept, KEEP);
    }
}
