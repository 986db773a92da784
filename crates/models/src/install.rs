//! Installed models on disk, and switching between their versions.
//!
//! ```text
//! <dir>/<id>/<version>/model.gguf     the weights
//! <dir>/<id>/<version>/install.json   what was installed: hash, size, trust, source, when
//! <dir>/<id>/current.json             the active pointer: version, previous versions (newest
//!                                     first, kept for rollback), probation, last rollback
//! <dir>/.staging/…                    installs in progress (removed when found stale)
//! <dir>/.downloads/<id>@<version>.part (+ .json)   downloads in progress or paused
//! <dir>/pins.json                     hashes pinned on first use, by id@version
//! ```
//!
//! An install copies (or moves) the file into a staging directory while hashing it, checks the
//! hash, validates the GGUF, runs the smoke test on the staged file, renames the directory to
//! `<id>/<version>` and only then replaces `current.json` (temporary file, fsync, rename,
//! directory fsync). A process killed at any point leaves either the old pointer or the new
//! one, each naming a complete version. A freshly activated version is on probation until it
//! serves a request: if it crashes the engine first, the caller rolls back to the previous
//! version and the pointer records why.

use crate::{Error, Result, check_name, compare_versions, hex, now, sha256_file};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const MODEL_FILE: &str = "model.gguf";

/// Where an installed model's hash came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// The hash is published in the built-in catalog.
    Verified,
    /// The hash is published in the organisation's signed catalog.
    Signed,
    /// No hash was published; the one computed at the first download is pinned.
    FirstUse,
    /// A file imported from disk without a catalog hash.
    Imported,
}

impl Trust {
    pub fn label(self) -> &'static str {
        match self {
            Trust::Verified => "verified",
            Trust::Signed => "signed",
            Trust::FirstUse => "trust on first use",
            Trust::Imported => "imported",
        }
    }
}

/// `<id>/<version>/install.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub trust: Trust,
    /// The URL or path it came from.
    pub source: String,
    pub installed_at: String,
}

/// The last rollback of a model id (an update that failed its smoke test, or one by hand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rollback {
    pub from_version: String,
    pub to_version: String,
    pub reason: String,
    /// RFC 3339.
    pub at: String,
}

/// `<id>/current.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pointer {
    pub version: String,
    /// Newest first.
    #[serde(default)]
    pub previous: Vec<String>,
    /// Activated and not yet proven by a request.
    #[serde(default)]
    pub probation: bool,
    #[serde(default)]
    pub rollback: Option<Rollback>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Installed {
    #[serde(flatten)]
    pub record: Record,
    pub path: PathBuf,
    /// The version its id's pointer names.
    pub current: bool,
}

/// How the file gets into the models directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// An import: the source stays as it is.
    Copy,
    /// A finished download: moved in; moved back if the install fails for any reason but
    /// the file itself (so a kill or a passing failure does not cost the download).
    Move,
    /// A file already in the models directory (the older layout): hard-linked where the file
    /// system allows, else copied; the original is removed only after the install.
    Link,
}

/// What to install.
pub struct Request<'a> {
    pub id: &'a str,
    pub version: &'a str,
    pub file: &'a Path,
    pub transfer: Transfer,
    /// The hash it must have, if known.
    pub sha256: Option<&'a str>,
    pub trust: Trust,
    pub source: String,
    /// Previous versions to keep for rollback.
    pub keep_previous: usize,
}

/// One installed file checked against its recorded hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifyReport {
    pub id: String,
    pub version: String,
    pub ok: bool,
    pub expected: String,
    pub actual: Option<String>,
    pub problem: Option<String>,
}

pub struct Models {
    dir: PathBuf,
}

impl Models {
    /// Opens (creating) the models directory. The first open of a directory in a process
    /// also removes what killed processes left (staging directories, temporary pointers) and
    /// moves models from the older flat layout (`<dir>/<id>.gguf`) into versioned ones; later
    /// opens (every summary resolves its model) do no more than that first one did.
    pub fn open(dir: &Path) -> Result<Models> {
        static TIDIED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
        std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
        let m = Models { dir: dir.to_path_buf() };
        let first = TIDIED.lock().map(|mut seen| {
            let new = !seen.iter().any(|d| d == dir);
            if new {
                seen.push(dir.to_path_buf());
            }
            new
        });
        if first.unwrap_or(true) {
            m.clean_stale();
            m.migrate_flat_files();
        }
        Ok(m)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn partial_path(&self, id: &str, version: &str) -> PathBuf {
        self.dir.join(".downloads").join(format!("{id}@{version}.part"))
    }

    /// The versions of `id` with an unfinished download, newest first.
    pub fn partial_versions(&self, id: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.dir.join(".downloads")) else { return Vec::new() };
        let prefix = format!("{id}@");
        let mut versions: Vec<String> = dir
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix(&prefix)?
                    .strip_suffix(".part")
                    .map(str::to_string)
            })
            .filter(|v| check_name("version", v).is_ok())
            .collect();
        versions.sort_by(|a, b| compare_versions(b, a));
        versions
    }

    fn id_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub fn version_dir(&self, id: &str, version: &str) -> PathBuf {
        self.dir.join(id).join(version)
    }

    pub fn pointer(&self, id: &str) -> Option<Pointer> {
        let bytes = std::fs::read(self.id_dir(id).join("current.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn record(&self, id: &str, version: &str) -> Option<Record> {
        let bytes = std::fs::read(self.version_dir(id, version).join("install.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The file of `id`'s current version.
    pub fn current(&self, id: &str) -> Option<Installed> {
        let p = self.pointer(id)?;
        let record = self.record(id, &p.version)?;
        let path = self.version_dir(id, &p.version).join(MODEL_FILE);
        path.is_file().then_some(Installed { record, path, current: true })
    }

    pub fn get(&self, id: &str, version: &str) -> Option<Installed> {
        let record = self.record(id, version)?;
        let path = self.version_dir(id, version).join(MODEL_FILE);
        let current = self.pointer(id).is_some_and(|p| p.version == version);
        path.is_file().then_some(Installed { record, path, current })
    }

    /// Ids with at least one installed version.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = read_dir_names(&self.dir)
            .into_iter()
            .filter(|n| {
                !n.starts_with('.') && self.dir.join(n).is_dir() && !self.versions(n).is_empty()
            })
            .collect();
        ids.sort();
        ids
    }

    /// Installed versions of `id`, newest first.
    pub fn versions(&self, id: &str) -> Vec<String> {
        let mut v: Vec<String> = read_dir_names(&self.id_dir(id))
            .into_iter()
            .filter(|n| {
                !n.starts_with('.')
                    && self.version_dir(id, n).join("install.json").is_file()
                    && self.version_dir(id, n).join(MODEL_FILE).is_file()
            })
            .collect();
        v.sort_by(|a, b| compare_versions(b, a));
        v
    }

    /// Every installed version of every id.
    pub fn list(&self) -> Vec<Installed> {
        self.ids()
            .iter()
            .flat_map(|id| {
                self.versions(id).into_iter().filter_map(|v| self.get(id, &v)).collect::<Vec<_>>()
            })
            .collect()
    }

    /// The hash pinned on first use for `id@version`.
    pub fn pin(&self, id: &str, version: &str) -> Option<String> {
        self.pins().remove(&format!("{id}@{version}"))
    }

    fn pins(&self) -> BTreeMap<String, String> {
        std::fs::read(self.dir.join("pins.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_pin(&self, id: &str, version: &str, sha256: &str) -> Result<()> {
        let mut pins = self.pins();
        pins.insert(format!("{id}@{version}"), sha256.to_string());
        let bytes = serde_json::to_vec_pretty(&pins).map_err(|e| Error::BadInput(e.to_string()))?;
        replace_file(&self.dir.join("pins.json"), &bytes)
    }

    /// Serialises changes to pointers and pins between threads and processes (the app's
    /// handles, a CLI beside it). Released when the returned file is dropped.
    fn lock(&self) -> Result<std::fs::File> {
        let path = self.dir.join(".lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io(format!("opening {}", path.display())))?;
        f.lock().map_err(Error::io(format!("locking {}", path.display())))?;
        Ok(f)
    }

    /// Stages, hashes, validates and smoke-tests `req.file`, then makes it `req.id`'s current
    /// version. `smoke` gets the staged file and answers why it is not usable, if it is not.
    pub fn install(
        &self,
        req: &Request,
        smoke: &mut dyn FnMut(&Path) -> std::result::Result<(), String>,
    ) -> Result<Installed> {
        check_name("model id", req.id)?;
        check_name("version", req.version)?;
        let staging_root = self.dir.join(".staging");
        std::fs::create_dir_all(&staging_root)
            .map_err(Error::io(format!("creating {}", staging_root.display())))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let staging =
            staging_root.join(format!("{}@{}.{}.{nanos}", req.id, req.version, std::process::id()));
        std::fs::create_dir_all(&staging)
            .map_err(Error::io(format!("creating {}", staging.display())))?;
        let result = self.stage_and_activate(req, &staging, smoke);
        if let Err(e) = &result
            && req.transfer == Transfer::Move
            && !matches!(e, Error::Integrity(_) | Error::InvalidModel(_) | Error::SmokeTest(_))
        {
            // Not the file's fault: give the download back.
            let _ = std::fs::rename(staging.join(MODEL_FILE), req.file);
        }
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    fn stage_and_activate(
        &self,
        req: &Request,
        staging: &Path,
        smoke: &mut dyn FnMut(&Path) -> std::result::Result<(), String>,
    ) -> Result<Installed> {
        let staged = staging.join(MODEL_FILE);
        let source_name = req.file.display().to_string();
        let moved = match req.transfer {
            Transfer::Move => std::fs::rename(req.file, &staged).is_ok(),
            Transfer::Link => std::fs::hard_link(req.file, &staged).is_ok(),
            Transfer::Copy => false,
        };
        if moved {
            // Moved or linked in: on the disk before the install points at it. (Windows
            // flushes only through a handle that may write, which a read-only file refuses:
            // then it is the user's file, written before, and nothing of ours to flush.)
            match fieldbrief_fs::sync_file(&staged) {
                Err(e) if cfg!(windows) && e.kind() == std::io::ErrorKind::PermissionDenied => {}
                r => r.map_err(Error::io(format!("writing {}", staged.display())))?,
            }
        } else {
            copy_synced(req.file, &staged)?;
        }
        let (sha256, size) = sha256_file(&staged)?;
        failpoint("staged");
        if let Some(expected) = req.sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(Error::Integrity(format!(
                "{source_name} is not {}@{}: its sha256 is {sha256}, expected {expected}; nothing was installed",
                req.id, req.version
            )));
        }
        fieldbrief_gguf::inspect(&staged)
            .map_err(|e| Error::InvalidModel(format!("{source_name}: {e}")))?;
        smoke(&staged).map_err(|why| {
            Error::SmokeTest(format!(
                "{}@{} failed the smoke test and was not activated: {why}",
                req.id, req.version
            ))
        })?;
        failpoint("smoke-tested");
        let record = Record {
            id: req.id.to_string(),
            version: req.version.to_string(),
            sha256: sha256.clone(),
            size,
            trust: req.trust,
            source: req.source.clone(),
            installed_at: now(),
        };
        let json =
            serde_json::to_vec_pretty(&record).map_err(|e| Error::BadInput(e.to_string()))?;
        write_synced(&staging.join("install.json"), &json)?;
        sync_dir(staging);

        let _lock = self.lock()?;
        let id_dir = self.id_dir(req.id);
        std::fs::create_dir_all(&id_dir)
            .map_err(Error::io(format!("creating {}", id_dir.display())))?;
        let target = self.version_dir(req.id, req.version);
        if let Some(existing) = self.get(req.id, req.version) {
            if existing.record.sha256 != sha256 {
                return Err(Error::Integrity(format!(
                    "{}@{} is already installed with other content (sha256 {}); remove it first to replace it",
                    req.id, req.version, existing.record.sha256
                )));
            }
        } else {
            if target.exists() {
                // A leftover without its record: not a version anyone can be using.
                self.trash(&target);
            }
            std::fs::rename(staging, &target)
                .map_err(Error::io(format!("installing into {}", target.display())))?;
            sync_dir(&id_dir);
            failpoint("renamed");
        }
        if req.trust == Trust::FirstUse {
            self.save_pin(req.id, req.version, &sha256)?;
        }
        self.activate_locked(req.id, req.version, req.keep_previous)?;
        self.get(req.id, req.version).ok_or_else(|| {
            Error::BadInput(format!("{}@{} vanished after install", req.id, req.version))
        })
    }

    /// Makes an installed version current; the old current one becomes the first previous.
    pub fn activate(&self, id: &str, version: &str, keep_previous: usize) -> Result<()> {
        check_name("model id", id)?;
        check_name("version", version)?;
        let _lock = self.lock()?;
        self.activate_locked(id, version, keep_previous)
    }

    fn activate_locked(&self, id: &str, version: &str, keep_previous: usize) -> Result<()> {
        // At least one previous version, or a new version on probation has nothing to roll
        // back to.
        let keep_previous = keep_previous.max(1);
        if self.get(id, version).is_none() {
            return Err(Error::BadInput(format!(
                "{id}@{version} is not installed (see `fieldbrief models list`)"
            )));
        }
        let old = self.pointer(id);
        if old.as_ref().is_some_and(|p| p.version == version) {
            return Ok(());
        }
        let mut previous: Vec<String> = Vec::new();
        if let Some(old) = &old {
            previous.push(old.version.clone());
            previous.extend(old.previous.iter().cloned());
        }
        previous.retain(|v| v != version && self.get(id, v).is_some());
        previous.dedup();
        let dropped: Vec<String> = previous.split_off(keep_previous.min(previous.len()));
        let pointer = Pointer {
            version: version.to_string(),
            previous,
            probation: true,
            rollback: old.and_then(|p| p.rollback),
        };
        self.write_pointer(id, &pointer)?;
        for v in dropped {
            self.trash(&self.version_dir(id, &v));
        }
        Ok(())
    }

    fn write_pointer(&self, id: &str, p: &Pointer) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(p).map_err(|e| Error::BadInput(e.to_string()))?;
        replace_file(&self.id_dir(id).join("current.json"), &bytes)
    }

    /// Back to the previous version. `reason` is recorded (an automatic rollback says why).
    pub fn rollback(&self, id: &str, reason: &str) -> Result<Rollback> {
        check_name("model id", id)?;
        let _lock = self.lock()?;
        self.rollback_locked(id, reason)
    }

    /// [`Models::rollback`] only while `version` is still `id`'s current version (checked under
    /// the lock): `None` when another process has moved on since it was judged.
    pub fn rollback_if_current(
        &self,
        id: &str,
        version: &str,
        reason: &str,
    ) -> Result<Option<Rollback>> {
        check_name("model id", id)?;
        let _lock = self.lock()?;
        if self.pointer(id).is_none_or(|p| p.version != version) {
            return Ok(None);
        }
        self.rollback_locked(id, reason).map(Some)
    }

    fn rollback_locked(&self, id: &str, reason: &str) -> Result<Rollback> {
        let p = self.pointer(id).ok_or_else(|| {
            Error::BadInput(format!("no installed model {id:?} (see `fieldbrief models list`)"))
        })?;
        let Some(to) = p.previous.iter().find(|v| self.get(id, v).is_some()).cloned() else {
            return Err(Error::BadInput(format!(
                "{id} has no previous version to roll back to (only {} is installed)",
                p.version
            )));
        };
        let rest: Vec<String> =
            p.previous.iter().skip_while(|v| **v != to).skip(1).cloned().collect();
        let record = Rollback {
            from_version: p.version.clone(),
            to_version: to.clone(),
            reason: reason.to_string(),
            at: now(),
        };
        // The version rolled away from stays installed (to inspect or choose again) but leaves
        // the rollback chain.
        self.write_pointer(
            id,
            &Pointer {
                version: to,
                previous: rest,
                probation: false,
                rollback: Some(record.clone()),
            },
        )?;
        Ok(record)
    }

    /// A request succeeded on `id@version`: it is no longer on probation.
    pub fn confirm(&self, id: &str, version: &str) -> Result<()> {
        if !self.pointer(id).is_some_and(|p| p.version == version && p.probation) {
            return Ok(());
        }
        let _lock = self.lock()?;
        match self.pointer(id) {
            Some(mut p) if p.version == version && p.probation => {
                p.probation = false;
                self.write_pointer(id, &p)
            }
            _ => Ok(()),
        }
    }

    /// `id@version` crashed the engine. If it was activated and has not yet served a request,
    /// and a previous version is kept, rolls back and returns what happened.
    pub fn crashed(&self, id: &str, version: &str, why: &str) -> Result<Option<Rollback>> {
        let _lock = self.lock()?;
        match self.pointer(id) {
            Some(p) if p.version == version && p.probation && p.previous.iter().any(|v| self.get(id, v).is_some()) => Ok(Some(
                self.rollback_locked(id, &format!("{id}@{version} crashed the engine on its first request after activation ({why})"))?,
            )),
            _ => Ok(None),
        }
    }

    /// Re-hashes installed files and compares them with what was installed.
    pub fn verify(&self, id: Option<&str>) -> Result<Vec<VerifyReport>> {
        let ids = match id {
            Some(id) => {
                if self.versions(id).is_empty() {
                    return Err(Error::BadInput(format!(
                        "no installed model {id:?} (see `fieldbrief models list`)"
                    )));
                }
                vec![id.to_string()]
            }
            None => self.ids(),
        };
        let mut out = Vec::new();
        for id in ids {
            for v in self.versions(&id) {
                let Some(inst) = self.get(&id, &v) else { continue };
                let expected = inst.record.sha256.clone();
                let report = match sha256_file(&inst.path) {
                    Ok((actual, size)) => {
                        let ok = actual == expected && size == inst.record.size;
                        let problem = (!ok).then(|| {
                            format!("{} is corrupt: {} bytes with sha256 {actual}, installed as {} bytes with sha256 {expected}", inst.path.display(), size, inst.record.size)
                        });
                        VerifyReport {
                            id: id.clone(),
                            version: v.clone(),
                            ok,
                            expected,
                            actual: Some(actual),
                            problem,
                        }
                    }
                    Err(e) => VerifyReport {
                        id: id.clone(),
                        version: v.clone(),
                        ok: false,
                        expected,
                        actual: None,
                        problem: Some(e.to_string()),
                    },
                };
                out.push(report);
            }
        }
        Ok(out)
    }

    /// Removes `version` of `id`, or every version. Removing the current version makes the
    /// previous one current; removing the last one leaves the id uninstalled.
    pub fn remove(&self, id: &str, version: Option<&str>) -> Result<Vec<String>> {
        check_name("model id", id)?;
        if let Some(v) = version {
            check_name("version", v)?;
        }
        let _lock = self.lock()?;
        let versions = self.versions(id);
        let targets: Vec<String> = match version {
            Some(v) if versions.iter().any(|x| x == v) => vec![v.to_string()],
            Some(v) => {
                return Err(Error::BadInput(format!(
                    "{id}@{v} is not installed (see `fieldbrief models list`)"
                )));
            }
            None if versions.is_empty() => {
                return Err(Error::BadInput(format!(
                    "no installed model {id:?} (see `fieldbrief models list`)"
                )));
            }
            None => versions.clone(),
        };
        if let Some(mut p) = self.pointer(id) {
            p.previous.retain(|v| !targets.contains(v));
            if targets.contains(&p.version) {
                // The previous version, else the newest one still installed.
                let next = p
                    .previous
                    .first()
                    .cloned()
                    .or_else(|| versions.iter().find(|v| !targets.contains(v)).cloned());
                match next {
                    Some(next) => {
                        p.previous.retain(|v| *v != next);
                        p.version = next;
                        p.probation = false;
                        self.write_pointer(id, &p)?;
                    }
                    None => {
                        let _ = std::fs::remove_file(self.id_dir(id).join("current.json"));
                    }
                }
            } else {
                self.write_pointer(id, &p)?;
            }
        }
        for v in &targets {
            self.trash(&self.version_dir(id, v));
        }
        if self.versions(id).is_empty() {
            let _ = std::fs::remove_dir_all(self.id_dir(id));
        }
        Ok(targets)
    }

    /// Renames away, then deletes (a rename is atomic; a half-deleted version is never seen).
    fn trash(&self, path: &Path) {
        let trash = self.dir.join(".trash");
        let _ = std::fs::create_dir_all(&trash);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let to = trash.join(format!("{}.{nanos}", std::process::id()));
        if std::fs::rename(path, &to).is_ok() {
            if let Err(e) = std::fs::remove_dir_all(&to) {
                tracing::warn!(error = %e, path = %to.display(), "could not delete an old model version yet");
            }
        } else {
            let _ = std::fs::remove_dir_all(path);
        }
    }

    fn clean_stale(&self) {
        let hour = std::time::Duration::from_secs(3600);
        for name in read_dir_names(&self.dir.join(".staging")) {
            let path = self.dir.join(".staging").join(&name);
            let pid_alive = name
                .split('.')
                .rev()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(process_alive);
            let old = path
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > hour);
            if !pid_alive || old {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
        let _ = std::fs::remove_dir_all(self.dir.join(".trash"));
        // Temporary pointers of a write that was killed (".current.json.<pid>.<n>.tmp").
        for id in read_dir_names(&self.dir).into_iter().filter(|n| !n.starts_with('.')) {
            for name in read_dir_names(&self.dir.join(&id)) {
                let pid = name
                    .strip_suffix(".tmp")
                    .and_then(|n| n.split('.').rev().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if name.starts_with('.') && pid.is_some_and(|p| !process_alive(p)) {
                    let _ = std::fs::remove_file(self.dir.join(&id).join(&name));
                }
            }
        }
    }

    /// Moves models of the older flat layout (`<dir>/<id>.gguf`) into versions, once (a
    /// marker remembers it). A file that is not a valid model is left where it is.
    fn migrate_flat_files(&self) {
        let marker = self.dir.join(".layout-v1");
        if marker.exists() {
            return;
        }
        for name in read_dir_names(&self.dir) {
            let path = self.dir.join(&name);
            if name.starts_with('.') && name.ends_with(".gguf.partial") {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let Some(stem) = name.strip_suffix(".gguf") else { continue };
            if !path.is_file() {
                continue;
            }
            let id = sanitize_id(stem);
            let moved = (|| -> Result<()> {
                fieldbrief_gguf::inspect(&path).map_err(|e| Error::InvalidModel(e.to_string()))?;
                let (sha256, _) = sha256_file(&path)?;
                let version = sha256[..12].to_string();
                let req = Request {
                    id: &id,
                    version: &version,
                    file: &path,
                    transfer: Transfer::Link,
                    sha256: Some(&sha256),
                    trust: Trust::Imported,
                    source: path.display().to_string(),
                    keep_previous: 1,
                };
                // It was in use before versions existed: no new smoke test.
                self.install(&req, &mut |_| Ok(()))?;
                std::fs::remove_file(&path)
                    .map_err(Error::io(format!("removing {}", path.display())))?;
                Ok(())
            })();
            if let Err(e) = moved {
                tracing::warn!(error = %e, file = %path.display(), "left a file of the older layout where it is");
            }
        }
        let _ = std::fs::write(&marker, b"models/<id>/<version>/model.gguf\n");
    }
}

/// A model id from a file name: characters outside the id alphabet become '-'.
pub fn sanitize_id(stem: &str) -> String {
    let id: String =
        stem.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
    let id = id.trim_start_matches('.').to_string();
    if id.is_empty() { "model".into() } else { id }
}

/// For the crash tests: `FIELDBRIEF_FAILPOINT=<name>` aborts the process there, as a kill or
/// a power cut would. The names: staged, smoke-tested, renamed, pointer-written.
fn failpoint(name: &str) {
    if std::env::var("FIELDBRIEF_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

fn read_dir_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() || !Path::new("/proc/self").exists()
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    // Without a cheap check, only age removes a staging directory.
    true
}

fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    let mut src =
        std::fs::File::open(from).map_err(Error::io(format!("reading {}", from.display())))?;
    let mut dst =
        std::fs::File::create(to).map_err(Error::io(format!("writing {}", to.display())))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf).map_err(Error::io(format!("reading {}", from.display())))?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n]).map_err(|e| {
            if e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull {
                Error::DiskSpace(format!(
                    "the disk is full: {} could not be copied into {}",
                    from.display(),
                    to.display()
                ))
            } else {
                Error::io(format!("writing {}", to.display()))(e)
            }
        })?;
    }
    dst.sync_all().map_err(Error::io(format!("writing {}", to.display())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        std::fs::File::create(path).map_err(Error::io(format!("writing {}", path.display())))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(Error::io(format!("writing {}", path.display())))
}

/// Replaces `path` whole ([`fieldbrief_fs::write_atomically`]), with the failpoint between the
/// synced temporary file and the rename.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fieldbrief_fs::write_atomically_with(path, bytes, || failpoint("pointer-written"))
        .map_err(Error::io(format!("writing {}", path.display())))
}

fn sync_dir(dir: &Path) {
    let _ = fieldbrief_fs::sync_dir(dir);
}

/// SHA-256 hex of some bytes (tests and callers that hold the bytes).
pub fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbrief_gguf::write::LlamaSpec;

    fn model(dir: &Path, seed: u64) -> (PathBuf, String) {
        let path = dir.join(format!("m{seed}.gguf"));
        LlamaSpec { seed, ..LlamaSpec::tiny() }.write(&path).unwrap();
        let sha = sha256_file(&path).unwrap().0;
        (path, sha)
    }

    fn req<'a>(id: &'a str, version: &'a str, file: &'a Path) -> Request<'a> {
        Request {
            id,
            version,
            file,
            transfer: Transfer::Copy,
            sha256: None,
            trust: Trust::Imported,
            source: "test".into(),
            keep_previous: 1,
        }
    }

    #[test]
    fn versions_install_switch_roll_back_and_prune() {
        let t = tempfile::tempdir().unwrap();
        let m = Models::open(&t.path().join("models")).unwrap();
        let (a, sha_a) = model(t.path(), 1);
        let (b, _) = model(t.path(), 2);
        let (c, _) = model(t.path(), 3);
        m.install(&req("tiny", "1.0", &a), &mut |_| Ok(())).unwrap();
        assert_eq!(m.pointer("tiny").unwrap().version, "1.0");
        assert_eq!(m.current("tiny").unwrap().record.sha256, sha_a);
        m.install(&req("tiny", "1.1", &b), &mut |_| Ok(())).unwrap();
        let p = m.pointer("tiny").unwrap();
        assert_eq!(
            (p.version.as_str(), p.previous.clone(), p.probation),
            ("1.1", vec!["1.0".to_string()], true)
        );
        // A crash after a request succeeded is not the new version's first: no rollback.
        m.confirm("tiny", "1.1").unwrap();
        assert_eq!(m.crashed("tiny", "1.1", "signal 9").unwrap(), None);
        let r = m.rollback("tiny", "by hand").unwrap();
        assert_eq!((r.from_version.as_str(), r.to_version.as_str()), ("1.1", "1.0"));
        assert_eq!(m.current("tiny").unwrap().record.version, "1.0");
        assert!(
            m.rollback("tiny", "again").unwrap_err().to_string().contains("no previous version")
        );
        // Keep one previous: installing 1.2 over 1.0 (previous: none left) then 1.3 prunes.
        m.activate("tiny", "1.1", 1).unwrap();
        m.install(&req("tiny", "1.2", &c), &mut |_| Ok(())).unwrap();
        assert_eq!(m.pointer("tiny").unwrap().previous, vec!["1.1".to_string()]);
        assert!(m.get("tiny", "1.0").is_none(), "pruned beyond keep_previous");
        assert_eq!(m.versions("tiny"), vec!["1.2".to_string(), "1.1".to_string()]);
    }

    #[test]
    fn a_first_crash_on_probation_rolls_back_and_says_why() {
        let t = tempfile::tempdir().unwrap();
        let m = Models::open(&t.path().join("models")).unwrap();
        let (a, _) = model(t.path(), 1);
        let (b, _) = model(t.path(), 2);
        m.install(&req("tiny", "1", &a), &mut |_| Ok(())).unwrap();
        assert_eq!(m.crashed("tiny", "1", "x").unwrap(), None, "nothing to roll back to");
        m.install(&req("tiny", "2", &b), &mut |_| Ok(())).unwrap();
        let r = m.crashed("tiny", "2", "killed by signal 9").unwrap().unwrap();
        assert_eq!(r.to_version, "1");
        assert!(r.reason.contains("killed by signal 9"), "{}", r.reason);
        let p = m.pointer("tiny").unwrap();
        assert_eq!(p.version, "1");
        assert_eq!(p.rollback.unwrap().from_version, "2");
        assert!(m.get("tiny", "2").is_some(), "the bad version stays on disk to inspect");
    }

    #[test]
    fn a_wrong_hash_or_a_failed_smoke_test_leaves_the_active_model_untouched() {
        let t = tempfile::tempdir().unwrap();
        let m = Models::open(&t.path().join("models")).unwrap();
        let (a, _) = model(t.path(), 1);
        let (b, _) = model(t.path(), 2);
        m.install(&req("tiny", "1", &a), &mut |_| Ok(())).unwrap();
        let before = std::fs::read(m.dir().join("tiny/current.json")).unwrap();
        let wrong = Request { sha256: Some(&"0".repeat(64)), ..req("tiny", "2", &b) };
        assert!(matches!(m.install(&wrong, &mut |_| Ok(())), Err(Error::Integrity(_))));
        let smoke =
            m.install(&req("tiny", "2", &b), &mut |_| Err("logits are NaN".into())).unwrap_err();
        assert!(
            matches!(&smoke, Error::SmokeTest(s) if s.contains("logits are NaN") && s.contains("not activated")),
            "{smoke}"
        );
        assert_eq!(std::fs::read(m.dir().join("tiny/current.json")).unwrap(), before);
        assert_eq!(m.versions("tiny"), vec!["1".to_string()]);
        assert!(read_dir_names(&m.dir().join(".staging")).is_empty(), "staging cleaned");
        // Not a model at all.
        let junk = t.path().join("junk.gguf");
        std::fs::write(&junk, b"GGUF but not really").unwrap();
        assert!(matches!(
            m.install(&req("tiny", "3", &junk), &mut |_| Ok(())),
            Err(Error::InvalidModel(_))
        ));
    }

    #[test]
    fn verify_finds_a_corrupted_file_and_remove_falls_back_to_the_previous_version() {
        let t = tempfile::tempdir().unwrap();
        let m = Models::open(&t.path().join("models")).unwrap();
        let (a, _) = model(t.path(), 1);
        let (b, _) = model(t.path(), 2);
        m.install(&req("tiny", "1", &a), &mut |_| Ok(())).unwrap();
        m.install(&req("tiny", "2", &b), &mut |_| Ok(())).unwrap();
        assert!(m.verify(None).unwrap().iter().all(|r| r.ok));
        let path = m.get("tiny", "2").unwrap().path;
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let reports = m.verify(Some("tiny")).unwrap();
        let bad: Vec<_> = reports.iter().filter(|r| !r.ok).collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].version, "2");
        assert!(bad[0].problem.as_ref().unwrap().contains("corrupt"));
        m.remove("tiny", Some("2")).unwrap();
        assert_eq!(m.pointer("tiny").unwrap().version, "1");
        m.remove("tiny", None).unwrap();
        assert!(m.pointer("tiny").is_none() && m.ids().is_empty());
        assert!(m.remove("tiny", None).is_err());
    }

    #[test]
    fn flat_files_from_before_versions_move_into_the_layout() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("models");
        std::fs::create_dir_all(&dir).unwrap();
        LlamaSpec::tiny().write(&dir.join("old.gguf")).unwrap();
        let sha = sha256_file(&dir.join("old.gguf")).unwrap().0;
        std::fs::write(dir.join("notes.gguf"), b"not a model").unwrap();
        LlamaSpec { seed: 9, ..LlamaSpec::tiny() }.write(&dir.join("Field Model.gguf")).unwrap();
        let m = Models::open(&dir).unwrap();
        let cur = m.current("old").unwrap();
        assert_eq!(cur.record.version, &sha[..12]);
        assert!(!dir.join("old.gguf").exists());
        assert!(m.current("Field-Model").is_some(), "a name outside the id alphabet is cleaned");
        assert_eq!(
            std::fs::read(dir.join("notes.gguf")).unwrap(),
            b"not a model",
            "an invalid file is left alone"
        );
        // Once: a file dropped in later is not installed behind the user's back.
        LlamaSpec { seed: 10, ..LlamaSpec::tiny() }.write(&dir.join("later.gguf")).unwrap();
        let m = Models::open(&dir).unwrap();
        assert!(m.current("later").is_none() && dir.join("later.gguf").exists());
    }
}
