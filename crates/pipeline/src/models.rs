//! Local models as the pipeline sees them: which file a name means and its version, the
//! catalogs, pulling and importing (always through the smoke test), switching versions, and
//! the crash bookkeeping (a model that kills the worker three times in a row is quarantined;
//! a freshly activated version that kills it before its first success is rolled back).
//!
//! Installed models live in the versioned layout of `fieldbrief-models`; their version is the
//! catalog's (or, for a file imported without one, the first 12 hex digits of its SHA-256).
//! A GGUF file named by path outside the models directory is versioned by its hash prefix,
//! computed once per (path, size, mtime) and remembered in the store.

use crate::{Error, Fieldbrief, Result};
use fieldbrief_core::config::SettingsWatch;
use fieldbrief_core::ledger;
use fieldbrief_core::power::Mode;
use fieldbrief_engine::local::{LocalEngine, LocalModel, LocalSettings};
use fieldbrief_models::catalog::{Catalog, Entry, Source};
use fieldbrief_models::download::{self, Control, Job, Options, Phase};
use fieldbrief_models::install::{self as inst, Models, Rollback, Transfer, Trust, VerifyReport};
use fieldbrief_models::sign::PublicKey;
use fieldbrief_store::Store;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;

/// Crashes in a row after which a model is not used again until it is replaced.
pub const QUARANTINE_AFTER: u32 = 3;

/// Setting: the `generated` date of the newest organisation catalog accepted (RFC 3339).
const ACCEPTED_CATALOG_DATE: &str = "models.accepted_catalog_generated";

/// Tokens the smoke test generates.
pub const SMOKE_TOKENS: u32 = 8;

impl From<fieldbrief_models::Error> for Error {
    fn from(e: fieldbrief_models::Error) -> Error {
        use fieldbrief_models::Error as M;
        match e {
            M::BadInput(m) | M::Signature(m) | M::Integrity(m) => Error::BadArgument(m),
            M::InvalidModel(m) | M::SmokeTest(m) => Error::InvalidModel(m),
            M::Cancelled => Error::Cancelled,
            other => Error::Models(other.to_string()),
        }
    }
}

pub fn id_of(path: &Path) -> String {
    inst::sanitize_id(
        &path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    )
}

/// The SHA-256 prefix version of a file outside the models directory.
pub fn version(store: &Store, path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::BadArgument(format!("reading {}: {e}", path.display())))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("model_version:{}:{}:{mtime}", path.display(), meta.len());
    if let Some(v) = store.setting(&key)? {
        return Ok(v);
    }
    let (sha, _) =
        fieldbrief_models::sha256_file(path).map_err(|e| Error::BadArgument(e.to_string()))?;
    let v = sha[..12].to_string();
    store.set_setting(&key, &v)?;
    Ok(v)
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

/// An installed version of a model, as `models list` and the app show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelEntry {
    pub id: String,
    pub version: String,
    pub path: PathBuf,
    pub size_bytes: u64,
    /// Summaries use it: its id is the active model and this is the id's current version.
    pub active: bool,
    /// The version its id points at; the others are kept for rollback.
    pub current: bool,
    pub quarantined: bool,
    pub sha256: String,
    pub trust: Trust,
    /// RFC 3339.
    pub installed_at: String,
    /// The URL or the imported path.
    pub source: String,
    /// The last automatic (or manual) rollback of this id.
    pub rollback: Option<Rollback>,
    /// What the file says about itself; `None` when it is not a valid model (see `problem`).
    pub info: Option<fieldbrief_gguf::ModelInfo>,
    pub problem: Option<String>,
}

/// The catalog as the app and `models catalog` show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CatalogView {
    /// e.g. "built-in catalog" or "organisation catalog https://…".
    pub source: String,
    /// The publisher of a verified signed catalog.
    pub signed_by: Option<String>,
    /// Why the organisation's catalog could not be used; the built-in entries are listed.
    pub error: Option<String>,
    /// The user said the connection is metered: nothing downloads without being asked.
    pub metered: bool,
    pub entries: Vec<CatalogItem>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CatalogItem {
    #[serde(flatten)]
    pub entry: Entry,
    pub size_bytes: u64,
    /// The catalog publishes no hash: a "trust on first use" badge.
    pub trust_on_first_use: bool,
    /// The versions of this id on disk.
    pub installed: Vec<String>,
    /// The id's current version.
    pub current: Option<String>,
    pub update_available: bool,
    /// The laptop has the memory the catalog asks for.
    pub fits_ram: bool,
    /// Why this version will not run here (app version, engine, disk, memory, context);
    /// empty when it will. The Models view greys it out with these.
    pub incompatible: Vec<String>,
    /// Offered to this laptop: not staged away from it, not for other cohorts, not halted,
    /// not held after a rollback.
    pub offered: bool,
    /// Where this laptop stands in the entry's rollout, in words ("staged: 5 %, this laptop is
    /// not in it yet").
    pub rollout: String,
    /// A download running or paused (its partial file kept).
    pub download: Option<PullProgress>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PullState {
    Starting,
    Downloading,
    Retrying,
    Paused,
    Verifying,
    Testing,
    Installed,
    Failed,
    Cancelled,
}

/// Progress of `pull`, for the CLI's bar and the app's event (`fieldbrief://model-download`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PullProgress {
    pub id: String,
    pub version: String,
    pub state: PullState,
    pub downloaded: u64,
    pub total: Option<u64>,
    pub rate_bps: f64,
    pub eta_s: Option<f64>,
    pub message: Option<String>,
}

/// A newer version in a catalog than the one installed.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateOffer {
    pub id: String,
    pub installed: Option<String>,
    pub available: String,
    pub size_bytes: u64,
    /// Installed now without asking (the organisation's catalog said so, and the laptop was
    /// not on battery saver or a metered connection).
    pub installed_automatically: bool,
    /// Why an automatic install did not happen.
    pub held_back: Option<String>,
    /// The organisation asks for it and nothing holds it back, but the caller chose to start
    /// the download itself (the app, so it can be paused and cancelled like any other).
    pub auto_install_due: bool,
    /// Held back by something that may change soon (battery saver, a metered connection,
    /// working offline): worth looking again in minutes, not hours.
    pub retry_soon: bool,
    /// Offered to this laptop (its rollout, cohort, compatibility and holds allow it); when
    /// not, `held_back` says why.
    pub offered: bool,
}

/// Setting: the laptop's rollout key, random, made once, never sent anywhere.
const ROLLOUT_KEY: &str = "models.rollout_key";

/// Setting, per `id@version`: rolled back (regressed or halted); not offered again. Its value
/// is the reason.
fn held_key(id: &str, version: &str) -> String {
    format!("models.held.{id}@{version}")
}

/// Setting, per `id@version`: its probation — pending from its install over an earlier
/// version until decided ("passed" or "regressed").
const PROBATION_PENDING: &str = "pending";

fn probation_key(id: &str, version: &str) -> String {
    format!("models.probation.{id}@{version}")
}

/// How an automatic install ended.
#[derive(Debug)]
pub enum AutoPull {
    Installed(Box<ModelEntry>),
    /// Not started: the reason. It starts when that changes.
    NotStarted(&'static str),
    /// Paused with its bytes kept: the reason. It resumes when that changes.
    Paused(&'static str),
}

/// Setting, per `id@version`: the user paused or cancelled its automatic download, so updates
/// leave it alone until they pull it themselves.
fn stopped_by_user_key(id: &str, version: &str) -> String {
    format!("models.stopped_by_user.{id}@{version}")
}

impl Fieldbrief {
    pub fn models_dir(&self) -> PathBuf {
        self.settings.models.dir.clone().unwrap_or_else(|| self.home.root().join("models"))
    }

    pub(crate) fn installed(&self) -> Result<Models> {
        Ok(Models::open(&self.models_dir())?)
    }

    pub(crate) fn active_model_id(&self) -> Option<String> {
        self.settings
            .models
            .active
            .clone()
            .or_else(|| self.store.setting("active_model").ok().flatten())
    }

    /// `name` is a path to a GGUF file, `ID`, or `ID@VERSION` of an installed model.
    pub(crate) fn resolve_model(&self, name: &str) -> Result<LocalModel> {
        let as_path = PathBuf::from(name);
        let models = self.installed()?;
        let (id, version) = match name.split_once('@') {
            Some((i, v)) => (i, Some(v)),
            None => (name, None),
        };
        // An id chosen before ids were sanitized ("Field Model") names its migrated model.
        let clean = inst::sanitize_id(id);
        let found = match version {
            Some(v) => models.get(&clean, v),
            None => models.current(&clean),
        };
        if let Some(i) = found {
            return Ok(LocalModel { id: i.record.id, version: i.record.version, path: i.path });
        }
        if as_path.is_file() {
            let version = self::version(&self.store, &as_path)?;
            return Ok(LocalModel { id: id_of(&as_path), version, path: as_path });
        }
        Err(Error::BadArgument(format!(
            "no model {name:?}: it is not a file, and {} has no such installed model (see `fieldbrief models list`)",
            self.models_dir().display()
        )))
    }

    /// Loads `file` in a fresh worker and generates a few tokens; `Err(why)` if the output is
    /// not well-formed or the worker died.
    fn smoke_test(&self, file: &Path) -> std::result::Result<(), String> {
        let Some(worker) = self.local.worker().cloned() else {
            return Err("this build has no engine worker to test the model with".into());
        };
        let model =
            LocalModel { id: "smoke-test".into(), version: "0".into(), path: file.to_path_buf() };
        let e = &self.settings.engine;
        let settings = LocalSettings {
            gpu_layers: e.gpu_layers,
            context: 512,
            threads: e.threads,
            ..Default::default()
        };
        let engine = LocalEngine::new(worker, model, settings);
        match engine.smoke(SMOKE_TOKENS) {
            Ok(Ok(report)) => {
                tracing::info!(tokens = report.tokens, ms = report.ms, "smoke test passed");
                Ok(())
            }
            Ok(Err(why)) => Err(why),
            Err(e) => Err(e.to_string()),
        }
    }

    fn keep_previous(&self) -> usize {
        self.settings.models.keep_previous
    }

    /// Imports a GGUF file, or every model in a folder (a USB stick). A folder with a signed
    /// `catalog.json` installs its models under the catalog's ids, versions and hashes, oldest
    /// first, skipping any version not newer than the one installed. Each model is hashed,
    /// validated and smoke-tested before it becomes current; the first model installed becomes
    /// the active one.
    pub fn import_model(&mut self, source: &Path) -> Result<Vec<ModelEntry>> {
        let models = self.installed()?;
        let mut done = Vec::new();
        if source.is_dir() {
            let manifest = source.join("catalog.json");
            let mut listed: Vec<PathBuf> = Vec::new();
            let mut not_newer = Vec::new();
            if manifest.is_file() {
                let (catalog, _) =
                    self.read_signed_catalog(&manifest.display().to_string(), false)?;
                // Oldest first, and never one older than what is installed: an old stick must
                // not roll a laptop back to a version the organisation has since replaced.
                let mut entries: Vec<&Entry> = catalog.entries.iter().collect();
                entries.sort_by(|a, b| {
                    a.id.cmp(&b.id)
                        .then(fieldbrief_models::compare_versions(&a.version, &b.version))
                });
                for e in entries {
                    let file = PathBuf::from(&e.url);
                    if !file.is_file() {
                        continue;
                    }
                    listed.push(file.clone());
                    if let Some(current) = models.pointer(&e.id).map(|p| p.version)
                        && fieldbrief_models::compare_versions(&e.version, &current).is_le()
                    {
                        tracing::info!(id = %e.id, version = %e.version, %current, "not imported: not newer than the installed version");
                        not_newer.push(format!("{}@{} (installed: {current})", e.id, e.version));
                        continue;
                    }
                    let ram_gb = self.local.ram_bytes().map_or(0.0, |b| b as f64 / 1e9);
                    let incompatible = self.incompatible(e, ram_gb);
                    if e.halted || !incompatible.is_empty() {
                        let why = if e.halted {
                            "halted by the organisation".to_string()
                        } else {
                            incompatible.join("; ")
                        };
                        tracing::info!(id = %e.id, version = %e.version, %why, "not imported");
                        not_newer.push(format!("{}@{} (not imported: {why})", e.id, e.version));
                        continue;
                    }
                    // A signed entry without a hash is trusted on first use (and pinned).
                    let trust = if e.sha256.is_some() { Trust::Signed } else { Trust::FirstUse };
                    let pinned = e.sha256.clone().or_else(|| models.pin(&e.id, &e.version));
                    done.push(self.install_file(
                        &models,
                        &e.id,
                        &e.version,
                        &file,
                        Transfer::Copy,
                        pinned.as_deref(),
                        trust,
                        file.display().to_string(),
                    )?);
                }
            }
            let mut files: Vec<PathBuf> = std::fs::read_dir(source)
                .map_err(|e| Error::BadArgument(format!("reading {}: {e}", source.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
                        && p.is_file()
                        && !listed.contains(p)
                })
                .collect();
            files.sort();
            if files.is_empty() && done.is_empty() {
                if !not_newer.is_empty() {
                    return Err(Error::BadArgument(format!(
                        "{}: nothing imported — nothing newer than what is installed, or nothing that runs here ({}); `fieldbrief models use ID@VERSION` goes back to a version on purpose",
                        source.display(),
                        not_newer.join(", ")
                    )));
                }
                return Err(Error::BadArgument(format!(
                    "{}: no .gguf files in this folder",
                    source.display()
                )));
            }
            for f in files {
                done.push(self.import_file(&models, &f)?);
            }
        } else {
            done.push(self.import_file(&models, source)?);
        }
        Ok(done)
    }

    fn import_file(&mut self, models: &Models, source: &Path) -> Result<ModelEntry> {
        // A bad file is refused before anything is copied.
        fieldbrief_gguf::inspect(source)
            .map_err(|e| Error::InvalidModel(format!("{}: {e}", source.display())))?;
        let (sha, _) = fieldbrief_models::sha256_file(source)
            .map_err(|e| Error::BadArgument(e.to_string()))?;
        let id = id_of(source);
        let version = sha[..12].to_string();
        self.install_file(
            models,
            &id,
            &version,
            source,
            Transfer::Copy,
            Some(&sha),
            Trust::Imported,
            source.display().to_string(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn install_file(
        &mut self,
        models: &Models,
        id: &str,
        version: &str,
        file: &Path,
        transfer: Transfer,
        sha256: Option<&str>,
        trust: Trust,
        source: String,
    ) -> Result<ModelEntry> {
        let req = inst::Request {
            id,
            version,
            file,
            transfer,
            sha256,
            trust,
            source,
            keep_previous: self.keep_previous(),
        };
        let installed = models.install(&req, &mut |staged| self.smoke_test(staged))?;
        if self.active_model_id().is_none() {
            self.store.set_setting("active_model", id)?;
        }
        // A new version over an earlier one is on probation (judged by `probation_verdict`);
        // one chosen again by `models use` or a rollback is not.
        if models.pointer(id).is_some_and(|p| p.version == version && !p.previous.is_empty()) {
            self.store.set_setting(&probation_key(id, version), PROBATION_PENDING)?;
        }
        // A running worker may hold the old version.
        self.local.forget();
        tracing::info!(id, version, trust = trust.label(), "model installed and active for its id");
        self.model_entry(models, &installed.record.id, &installed.record.version)
    }

    pub fn models(&self) -> Result<Vec<ModelEntry>> {
        let models = self.installed()?;
        let mut out = Vec::new();
        for id in models.ids() {
            for v in models.versions(&id) {
                out.push(self.model_entry(&models, &id, &v)?);
            }
        }
        Ok(out)
    }

    fn model_entry(&self, models: &Models, id: &str, version: &str) -> Result<ModelEntry> {
        let i = models
            .get(id, version)
            .ok_or_else(|| Error::BadArgument(format!("{id}@{version} is not installed")))?;
        let info = fieldbrief_gguf::inspect(&i.path);
        let local =
            LocalModel { id: id.to_string(), version: version.to_string(), path: i.path.clone() };
        Ok(ModelEntry {
            active: i.current && self.active_model_id().as_deref() == Some(id),
            current: i.current,
            quarantined: crashes(&self.store, &local)? >= QUARANTINE_AFTER,
            id: id.to_string(),
            version: version.to_string(),
            size_bytes: i.record.size,
            sha256: i.record.sha256,
            trust: i.record.trust,
            installed_at: i.record.installed_at,
            source: i.record.source,
            rollback: models.pointer(id).and_then(|p| p.rollback),
            problem: info.as_ref().err().map(|e| e.to_string()),
            info: info.ok(),
            path: i.path,
        })
    }

    /// Makes `id` (at `version`, else its current version) the model `summarize` uses.
    pub fn use_model(&mut self, id: &str, version: Option<&str>) -> Result<()> {
        let (id, version) = match (id.split_once('@'), version) {
            (Some((i, v)), None) => (i, Some(v)),
            (_, v) => (id, v),
        };
        let models = self.installed()?;
        if let Some(v) = version {
            models.activate(id, v, self.keep_previous())?;
        } else if models.current(id).is_none() {
            return Err(Error::BadArgument(format!(
                "no installed model {id:?} (see `fieldbrief models list`)"
            )));
        }
        self.store.set_setting("active_model", id)?;
        self.local.forget();
        Ok(())
    }

    /// Back to the version before the current one of `id`.
    pub fn rollback_model(&mut self, id: &str) -> Result<ModelEntry> {
        let models = self.installed()?;
        let r = models.rollback(id, "rolled back by the user")?;
        self.local.forget();
        self.model_entry(&models, id, &r.to_version)
    }

    pub fn verify_models(&self, id: Option<&str>) -> Result<Vec<VerifyReport>> {
        Ok(self.installed()?.verify(id)?)
    }

    /// Deletes `version` of `id` (or every version). The ledger keeps its history.
    pub fn remove_model(&mut self, id: &str, version: Option<&str>) -> Result<Vec<String>> {
        let (id, version) = match (id.split_once('@'), version) {
            (Some((i, v)), None) => (i, Some(v)),
            (_, v) => (id, v),
        };
        let models = self.installed()?;
        let removed = models.remove(id, version)?;
        self.local.forget();
        if models.current(id).is_none() && self.active_model_id().as_deref() == Some(id) {
            self.store.delete_setting("active_model")?;
        }
        Ok(removed)
    }

    /// An organisation catalog at `location` (a URL or a path), signature checked. For a URL,
    /// `fetch` asks the server (a missing answer falls back to the copy verified at the last
    /// fetch); otherwise that copy is read. Relative model URLs resolve against `location`.
    /// A fetched catalog older than the kept one is refused as a replay: the kept one is used
    /// and the refusal is returned beside it.
    fn read_signed_catalog(
        &self,
        location: &str,
        fetch: bool,
    ) -> Result<(Catalog, Option<String>)> {
        let key_text = self.settings.models.catalog_public_key.as_deref().ok_or_else(|| {
            Error::BadArgument(format!(
                "{location} is an organisation catalog, but no public key is configured ([models] catalog_public_key); it is refused"
            ))
        })?;
        let key =
            PublicKey::parse(key_text)?.allow_legacy(self.settings.models.allow_legacy_signatures);
        if !location.contains("://") {
            let bytes = std::fs::read(location)
                .map_err(|e| Error::BadArgument(format!("reading {location}: {e}")))?;
            let sig = std::fs::read_to_string(format!("{location}.sig")).ok();
            return Ok((
                Catalog::from_signed_manifest(&bytes, sig.as_deref(), &key, location)?,
                None,
            ));
        }
        let cached = self.models_dir().join("org-catalog.json");
        let cached_sig = self.models_dir().join("org-catalog.json.sig");
        // The copy kept from the last accepted fetch, if it still verifies under this key.
        let kept = || -> Option<Catalog> {
            let b = std::fs::read(&cached).ok()?;
            let sig = std::fs::read_to_string(&cached_sig).ok();
            Catalog::from_signed_manifest(&b, sig.as_deref(), &key, location).ok()
        };
        let fetched = if fetch {
            match (fetch_small(location), fetch_small(&format!("{location}.sig"))) {
                (Ok(b), Ok(sig)) => Some((b, String::from_utf8(sig).ok())),
                // Answered, but unsigned: refused, not replaced by an older copy.
                (Ok(b), Err(e)) if e.contains("404") => Some((b, None)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::info!(error = %e, "organisation catalog not fetched; using the copy kept from the last fetch");
                    None
                }
            }
        } else {
            None
        };
        if let Some((b, sig)) = fetched {
            let catalog = Catalog::from_signed_manifest(&b, sig.as_deref(), &key, location)?;
            // The newest date accepted is also in the database, so a lost or torn copy on disk
            // does not switch the replay check off.
            let kept = kept();
            let remembered = self
                .store
                .setting(ACCEPTED_CATALOG_DATE)?
                .and_then(|d| time::OffsetDateTime::parse(&d, &Rfc3339).ok());
            let seen = kept.as_ref().and_then(|k| k.generated).max(remembered);
            if let Err(replay) = catalog.check_not_before(seen) {
                tracing::warn!(error = %replay, "organisation catalog refused as a replay; the kept copy is used");
                return match kept {
                    Some(k) => Ok((k, Some(replay.to_string()))),
                    None => Err(replay.into()),
                };
            }
            if let Some(date) = catalog.generated.and_then(|g| g.format(&Rfc3339).ok()) {
                self.store.set_setting(ACCEPTED_CATALOG_DATE, &date)?;
            }
            // Verified before it is kept; kept so the catalog is there offline.
            let keep = std::fs::create_dir_all(self.models_dir())
                .map_err(|e| e.to_string())
                .and_then(|_| inst::replace_file(&cached, &b).map_err(|e| e.to_string()))
                .and_then(|_| {
                    sig.as_ref().map_or(Ok(()), |s| {
                        inst::replace_file(&cached_sig, s.as_bytes()).map_err(|e| e.to_string())
                    })
                });
            if let Err(e) = keep {
                tracing::warn!(error = %e, "the organisation catalog could not be kept for offline use");
            }
            return Ok((catalog, None));
        }
        let b = std::fs::read(&cached).map_err(|_| {
            Error::Models(format!("the organisation catalog {location} could not be fetched, and no copy is kept from an earlier fetch"))
        })?;
        let sig = std::fs::read_to_string(&cached_sig).ok();
        Ok((Catalog::from_signed_manifest(&b, sig.as_deref(), &key, location)?, None))
    }

    /// The organisation's catalog (fetched when `refresh`, or when no copy is kept, unless
    /// working offline), else the built-in one.
    fn catalogs(&self, refresh: bool) -> (Vec<Catalog>, Option<String>) {
        let mut out = Vec::new();
        let mut error = None;
        if let Some(url) = &self.settings.models.catalog_url {
            let offline = self.settings.cloud.work_offline;
            let cached_exists = self.models_dir().join("org-catalog.json").is_file();
            let fetch = !offline && (refresh || !cached_exists);
            match self.read_signed_catalog(url, fetch) {
                Ok((c, warning)) => {
                    out.push(c);
                    error = warning;
                }
                Err(e) => error = Some(e.to_string()),
            }
        }
        match Catalog::built_in() {
            Ok(c) => out.push(c),
            Err(e) => error = error.or(Some(e.to_string())),
        }
        (out, error)
    }

    /// This installation's rollout key: random, made on first use, kept in the database and
    /// never sent anywhere (see `fieldbrief_models::rollout`).
    pub(crate) fn rollout_key(&self) -> Result<String> {
        if let Some(key) = self.store.setting(ROLLOUT_KEY)? {
            return Ok(key);
        }
        let key = uuid::Uuid::new_v4().simple().to_string();
        self.store.set_setting(ROLLOUT_KEY, &key)?;
        Ok(key)
    }

    /// Why `e` will not run on this laptop with this app (`ram_gb`: the laptop's memory, 0
    /// when unknown); empty when it will.
    pub(crate) fn incompatible(&self, e: &Entry, ram_gb: f64) -> Vec<String> {
        let mut why = Vec::new();
        let r = &e.requires;
        let app = env!("CARGO_PKG_VERSION");
        if let Some(min) = &r.app_version
            && fieldbrief_models::compare_versions(app, min).is_lt()
        {
            why.push(format!("needs Fieldbrief {min} or newer (this is {app})"));
        }
        if let Some(arch) = &r.architecture
            && !fieldbrief_engine::architectures::knows(arch)
        {
            why.push(format!("its architecture {arch:?} is not one this app's engine can load"));
        }
        if ram_gb > 0.0 && e.min_ram_gb > ram_gb {
            why.push(format!(
                "needs {} GB of memory; this laptop has {ram_gb:.1} GB",
                e.min_ram_gb
            ));
        }
        if let Some(context) = r.context {
            if context > e.context_length {
                why.push(format!(
                    "asks for a {context}-token context, more than the model's {}",
                    e.context_length
                ));
            }
            let engine = self.settings.engine.context;
            if engine > 0 && context > engine {
                why.push(format!(
                    "needs a {context}-token context; the engine is set to {engine} ([engine] context)"
                ));
            }
        }
        if let Some(extra) = r.free_disk_gb {
            let dir = self.models_dir();
            let probe =
                std::iter::successors(Some(dir.as_path()), |d| d.parent()).find(|d| d.exists());
            if let Some(free) = probe.and_then(|d| download::free_space(d).ok()) {
                let needed = e.size as f64 + extra * 1e9;
                if (free as f64) < needed {
                    why.push(format!(
                        "needs {:.1} GB of free disk (the file and {extra} GB more); {:.1} GB is free",
                        needed / 1e9,
                        free as f64 / 1e9
                    ));
                }
            }
        }
        why
    }

    fn find_entry(&self, id: &str, version: Option<&str>) -> Result<(Entry, Trust)> {
        // A pull is going online anyway: read the organisation's catalog as it is now.
        let (catalogs, error) = self.catalogs(true);
        for c in &catalogs {
            if let Some(e) = c.find(id, version) {
                let trust = match (&c.source, &e.sha256) {
                    (_, None) => Trust::FirstUse,
                    (Source::Organisation { .. }, Some(_)) => Trust::Signed,
                    (Source::BuiltIn, Some(_)) => Trust::Verified,
                };
                return Ok((e.clone(), trust));
            }
        }
        let wanted = version.map_or_else(|| id.to_string(), |v| format!("{id}@{v}"));
        Err(Error::BadArgument(format!(
            "{wanted} is not in the catalog (see `fieldbrief models catalog`){}",
            error
                .map(|e| format!("; the organisation catalog was not used: {e}"))
                .unwrap_or_default()
        )))
    }

    /// The catalog entries with what is installed, updates and paused downloads.
    pub fn model_catalog(&self, refresh: bool) -> Result<CatalogView> {
        let (catalogs, error) = self.catalogs(refresh);
        let models = self.installed()?;
        let ram_gb = self.local.ram_bytes().map_or(0.0, |b| b as f64 / 1e9);
        let key = self.rollout_key()?;
        let mut entries = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for c in &catalogs {
            for e in c.newest() {
                if !seen.insert(e.id.clone()) {
                    continue;
                }
                let current = models.pointer(&e.id).map(|p| p.version);
                // The newest version's paused download, else an older one's (the catalog may
                // have added a version since it was paused), so it can be resumed or discarded.
                let paused = std::iter::once(e.version.clone())
                    .chain(models.partial_versions(&e.id))
                    // Only one that can be resumed: its version still in a catalog.
                    .filter(|v| {
                        *v == e.version || catalogs.iter().any(|c| c.find(&e.id, Some(v)).is_some())
                    })
                    .find_map(|v| {
                        download::partial_state(&models.partial_path(&e.id, &v))
                            .map(|state| (v, state))
                    });
                let held = self.store.setting(&held_key(&e.id, &e.version))?;
                let offer = fieldbrief_models::rollout::offer(
                    e,
                    &key,
                    self.settings.models.cohort.as_deref(),
                );
                let incompatible = self.incompatible(e, ram_gb);
                let rollout = match &held {
                    Some(why) => format!("held: {why}"),
                    None => offer.describe(),
                };
                entries.push(CatalogItem {
                    offered: offer.offered() && held.is_none() && incompatible.is_empty(),
                    incompatible,
                    rollout,
                    size_bytes: e.size,
                    trust_on_first_use: e.trust_on_first_use(),
                    installed: models.versions(&e.id),
                    update_available: current.as_ref().is_some_and(|c| {
                        fieldbrief_models::compare_versions(&e.version, c).is_gt()
                    }),
                    current,
                    fits_ram: ram_gb <= 0.0 || e.min_ram_gb <= ram_gb,
                    download: paused.map(|(version, (have, total))| PullProgress {
                        id: e.id.clone(),
                        version,
                        state: PullState::Paused,
                        downloaded: have,
                        total,
                        rate_bps: 0.0,
                        eta_s: None,
                        message: None,
                    }),
                    entry: e.clone(),
                });
            }
        }
        let (source, signed_by) = match catalogs.first().map(|c| &c.source) {
            Some(Source::Organisation { location, publisher }) => {
                (format!("organisation catalog {location}"), Some(publisher.clone()))
            }
            _ => ("built-in catalog".to_string(), None),
        };
        Ok(CatalogView { source, signed_by, error, metered: self.settings.models.metered, entries })
    }

    /// Downloads `id` (at `version`, else the newest in the catalog), resuming any partial
    /// download, then installs it like an import: hash, validation, smoke test, activation.
    pub fn pull_model(
        &mut self,
        id: &str,
        version: Option<&str>,
        control: &Control,
        progress: &mut dyn FnMut(&PullProgress),
    ) -> Result<ModelEntry> {
        let (id, version) = match (id.split_once('@'), version) {
            (Some((i, v)), None) => (i, Some(v)),
            (_, v) => (id, v),
        };
        let (entry, trust) = self.find_entry(id, version)?;
        if entry.halted {
            return Err(Error::BadArgument(format!(
                "{}@{} was halted by the organisation's catalog and is not installed",
                entry.id, entry.version
            )));
        }
        let ram_gb = self.local.ram_bytes().map_or(0.0, |b| b as f64 / 1e9);
        let incompatible = self.incompatible(&entry, ram_gb);
        if !incompatible.is_empty() {
            return Err(Error::BadArgument(format!(
                "{}@{} will not run on this laptop: {}",
                entry.id,
                entry.version,
                incompatible.join("; ")
            )));
        }
        // Pulled on purpose: automatic updates may take this version up again.
        self.store.delete_setting(&stopped_by_user_key(&entry.id, &entry.version))?;
        let models = self.installed()?;
        if let Some(existing) = models.get(&entry.id, &entry.version) {
            // Already here: make it current (a repeated pull is not a new download).
            models.activate(&entry.id, &entry.version, self.keep_previous())?;
            if self.active_model_id().is_none() {
                self.store.set_setting("active_model", &entry.id)?;
            }
            self.local.forget();
            return self.model_entry(&models, &existing.record.id, &existing.record.version);
        }
        let pinned = models.pin(&entry.id, &entry.version);
        let job = Job {
            url: entry.url.clone(),
            partial: models.partial_path(&entry.id, &entry.version),
            sha256: entry.sha256.clone().or(pinned),
            // A size without a hash is only the publisher's estimate (the server's length rules).
            size: Some(entry.size).filter(|_| entry.sha256.is_some()),
            size_hint: Some(entry.size),
            // Without a hash the size is an estimate, but still a bound: an endless or
            // oversized body is refused rather than filling the disk.
            max_size: entry.sha256.is_none().then(|| Job::ceiling_for(entry.size)),
        };
        let at = Reporter { id: entry.id.clone(), version: entry.version.clone() };
        // Only the parts the installed versions lack, when the catalog describes them; the
        // whole file otherwise, or from a server that does not answer byte ranges.
        let got = match self.delta_download(&models, &entry, &job, control, &at, progress)? {
            Some(got) => got,
            None => self.download_reporting(&job, control, &at, progress)?,
        };
        progress(&at.report(PullState::Testing, got.size, Some(got.size), None));
        let installed = self.install_file(
            &models,
            &entry.id,
            &entry.version,
            &got.path,
            Transfer::Move,
            Some(&got.sha256),
            trust,
            entry.url.clone(),
        );
        // An assembled delta left behind by a failed install is not resumed: it goes.
        let _ = std::fs::remove_file(job.partial.with_extension("delta"));
        match &installed {
            Ok(_) => {
                // The download's sidecar was kept until the install succeeded.
                download::discard(&job.partial);
                progress(&at.report(PullState::Installed, got.size, Some(got.size), None));
            }
            Err(e) => progress(&at.report(
                PullState::Failed,
                got.size,
                Some(got.size),
                Some(e.to_string()),
            )),
        }
        installed
    }

    /// The new version assembled from the parts of the versions already installed and the
    /// parts fetched with `Range` (`fieldbrief_models::delta`), its whole SHA-256 checked:
    /// `None` when the entry has no parts or no published hash, nothing installed shares a
    /// part with it, or the server does not answer ranges.
    fn delta_download(
        &self,
        models: &Models,
        entry: &Entry,
        job: &Job,
        control: &Control,
        at: &Reporter,
        progress: &mut dyn FnMut(&PullProgress),
    ) -> Result<Option<download::Downloaded>> {
        use fieldbrief_models::delta;
        let Some(sha256) = entry.sha256.as_deref() else { return Ok(None) };
        if entry.parts.is_empty() {
            return Ok(None);
        }
        let mut have = Vec::new();
        for version in models.versions(&entry.id) {
            let Some(installed) = models.get(&entry.id, &version) else { continue };
            // The parts of an installed file are computed once and kept beside it.
            let cache = models.version_dir(&entry.id, &version).join("parts.json");
            let parts = match std::fs::read(&cache)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(parts) => parts,
                None => match delta::gguf_parts(&installed.path) {
                    Ok(parts) => {
                        if let Ok(json) = serde_json::to_vec(&parts) {
                            let _ = inst::replace_file(&cache, &json);
                        }
                        parts
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "an installed file could not be cut into parts");
                        continue;
                    }
                },
            };
            have.push((installed.path.clone(), parts));
        }
        let plan = delta::plan(&entry.parts, &have);
        if plan.remote_bytes() == plan.total_bytes() {
            return Ok(None);
        }
        let opts = self.download_options();
        // A delta is never resumed: whatever a killed process left is replaced.
        let out = job.partial.with_extension("delta");
        tracing::info!(model = %entry.id, version = %entry.version, fetch = plan.remote_bytes(), of = plan.total_bytes(), "delta download");
        let assembled = delta::assemble(&job.url, &plan, &out, sha256, &opts, control, &mut |p| {
            progress(&at.transfer(p))
        });
        match assembled {
            Ok(Some(a)) => Ok(Some(download::Downloaded {
                path: a.path,
                sha256: a.sha256,
                size: a.size,
                resumed_from: 0,
                attempts: 1,
            })),
            Ok(None) => {
                tracing::info!(url = %job.url, "the server does not answer byte ranges: the whole file is downloaded");
                Ok(None)
            }
            Err(fieldbrief_models::Error::Paused(_)) => {
                progress(&at.report(PullState::Paused, 0, Some(plan.remote_bytes()), None));
                Err(Error::Models(format!(
                    "the update of {}@{} is paused; pull it again to fetch its parts",
                    at.id, at.version
                )))
            }
            Err(fieldbrief_models::Error::Cancelled) => {
                progress(&at.report(PullState::Cancelled, 0, None, None));
                Err(Error::Cancelled)
            }
            Err(e) => {
                progress(&at.report(PullState::Failed, 0, None, Some(e.to_string())));
                Err(e.into())
            }
        }
    }

    fn download_options(&self) -> Options {
        let m = &self.settings.models;
        Options {
            stall: Duration::from_secs(m.download_stall_secs.max(1)),
            retry_base: Duration::from_millis(m.download_retry_ms.max(1)),
            max_retries: m.download_max_retries,
            min_free: m.min_free_mib.saturating_mul(1 << 20),
            ..Options::default()
        }
    }

    /// Downloads `job` with the configured patience, reporting progress; a pause, a cancel
    /// and a failure are reported too, and returned as errors.
    fn download_reporting(
        &self,
        job: &Job,
        control: &Control,
        at: &Reporter,
        progress: &mut dyn FnMut(&PullProgress),
    ) -> Result<download::Downloaded> {
        let opts = self.download_options();
        let got = download::download(job, &opts, control, &mut |p| progress(&at.transfer(p)));
        match got {
            Ok(g) => Ok(g),
            Err(fieldbrief_models::Error::Paused(have)) => {
                let total = download::partial_state(&job.partial).and_then(|s| s.1);
                progress(&at.report(PullState::Paused, have, total, None));
                Err(Error::Models(format!(
                    "the download of {}@{} is paused at {}; pull it again to resume",
                    at.id,
                    at.version,
                    fieldbrief_models::human_bytes(have)
                )))
            }
            Err(fieldbrief_models::Error::Cancelled) => {
                progress(&at.report(PullState::Cancelled, 0, None, None));
                Err(Error::Cancelled)
            }
            Err(e) => {
                progress(&at.report(PullState::Failed, 0, None, Some(e.to_string())));
                Err(e.into())
            }
        }
    }

    /// Deletes a paused download's bytes.
    pub fn discard_download(&self, id: &str, version: &str) -> Result<()> {
        fieldbrief_models::check_name("model id", id)?;
        fieldbrief_models::check_name("version", version)?;
        download::discard(&self.installed()?.partial_path(id, version));
        Ok(())
    }

    /// Compares the catalogs with what is installed. New versions are offered; a version the
    /// organisation's catalog marks `auto_install` is installed at once unless on battery
    /// saver, a metered connection, or "work offline" (then it is offered and says why).
    /// With `install` false, automatic installs are only marked `auto_install_due`.
    pub fn check_updates(
        &mut self,
        refresh: bool,
        install: bool,
        control: &Control,
        progress: &mut dyn FnMut(&PullProgress),
    ) -> Result<Vec<UpdateOffer>> {
        let mut view = self.model_catalog(refresh && self.settings.models.check_updates)?;
        // What a halt rolled back is current no more: the view is read again only then.
        if self.roll_back_halted(&view)? {
            view = self.model_catalog(false)?;
        }
        let mut offers = Vec::new();
        for item in view.entries.iter().filter(|i| i.update_available) {
            let mut offer = UpdateOffer {
                id: item.entry.id.clone(),
                installed: item.current.clone(),
                available: item.entry.version.clone(),
                size_bytes: item.entry.size,
                installed_automatically: false,
                held_back: None,
                auto_install_due: false,
                retry_soon: false,
                offered: item.offered,
            };
            if !item.offered {
                offer.held_back = Some(if item.incompatible.is_empty() {
                    format!("not offered: {}", item.rollout)
                } else {
                    format!("will not run on this laptop: {}", item.incompatible.join("; "))
                });
                offers.push(offer);
                continue;
            }
            let stopped_by_user = self
                .store
                .setting(&stopped_by_user_key(&item.entry.id, &item.entry.version))?
                .is_some();
            if item.entry.auto_install && stopped_by_user {
                offer.held_back = Some("you paused or cancelled its automatic download; download it yourself when you want it".into());
            } else if item.entry.auto_install {
                // With `install`, the install itself (which checks the same before it starts);
                // without, only whether it may start now (`None`: it may).
                let outcome = if install {
                    Some(self.pull_model_automatically(
                        &item.entry.id,
                        Some(&item.entry.version),
                        control,
                        progress,
                    ))
                } else {
                    self.automatic_install_hold().map(|why| Ok(AutoPull::NotStarted(why)))
                };
                match outcome {
                    None => offer.auto_install_due = true,
                    Some(Ok(AutoPull::Installed(_))) => offer.installed_automatically = true,
                    Some(Ok(AutoPull::NotStarted(why))) => {
                        offer.held_back = Some(format!("not installed automatically: {why}"));
                        offer.retry_soon = true;
                    }
                    Some(Ok(AutoPull::Paused(why))) => {
                        offer.held_back = Some(format!(
                            "the automatic download is paused because {why}; its bytes are kept and it resumes when that changes"
                        ));
                        offer.retry_soon = true;
                    }
                    Some(Err(e)) => {
                        offer.held_back = Some(format!("automatic install stopped: {e}"))
                    }
                }
            }
            offers.push(offer);
        }
        Ok(offers)
    }

    /// A version the organisation's catalog marks halted is rolled back on every laptop that
    /// runs it, at the next check, and held until a newer version. True if one was.
    fn roll_back_halted(&mut self, view: &CatalogView) -> Result<bool> {
        let mut rolled = false;
        let (catalogs, _) = self.catalogs(false);
        let models = self.installed()?;
        for item in &view.entries {
            let Some(current) = &item.current else { continue };
            let halted = catalogs
                .iter()
                .filter_map(|c| c.find(&item.entry.id, Some(current)))
                .any(|e| e.halted);
            if !halted {
                continue;
            }
            let why = "halted by the organisation's catalog".to_string();
            match models.rollback_if_current(
                &item.entry.id,
                current,
                &format!("{current} was {why}"),
            ) {
                Ok(None) => {}
                Ok(Some(r)) => {
                    tracing::warn!(model = %item.entry.id, from = %r.from_version, to = %r.to_version, "halted version rolled back");
                    self.store.set_setting(&held_key(&item.entry.id, current), &why)?;
                    self.local.forget();
                    rolled = true;
                }
                Err(e) => {
                    tracing::warn!(model = %item.entry.id, error = %e, "a halted version could not be rolled back")
                }
            }
        }
        Ok(rolled)
    }

    /// A new version's probation: once it has served `[models] probation_summaries` local
    /// requests, its summaries are compared with the previous version's last as many; clearly
    /// worse (`fieldbrief_core::ledger::regression`), it is rolled back and held until a newer
    /// version, and the reason is returned for the request that found it.
    pub(crate) fn probation_verdict(
        &mut self,
        model: &LocalModel,
    ) -> Result<Option<fieldbrief_core::route::Reason>> {
        let n = self.settings.models.probation_summaries;
        let pending = self.store.setting(&probation_key(&model.id, &model.version))?.as_deref()
            == Some(PROBATION_PENDING);
        if n == 0 || !pending {
            return Ok(None);
        }
        let models = self.installed()?;
        let Some(pointer) = models.pointer(&model.id).filter(|p| p.version == model.version) else {
            return Ok(None);
        };
        let Some(previous) =
            pointer.previous.iter().find(|v| models.get(&model.id, v).is_some()).cloned()
        else {
            return Ok(None);
        };
        let entries = self.store.ledger(None)?;
        let new = ledger::health(&entries, &model.id, &model.version, n, false);
        if new.requests < n {
            return Ok(None);
        }
        let old = ledger::health(&entries, &model.id, &previous, n, true);
        let Some(why) = ledger::regression(&old, &new) else {
            self.store.set_setting(&probation_key(&model.id, &model.version), "passed")?;
            return Ok(None);
        };
        let reason = format!("{}@{} regressed: {why}", model.id, model.version);
        // Only if it is still the current version (another process may have moved on).
        let Some(rolled) = models.rollback_if_current(
            &model.id,
            &model.version,
            &format!("model_regressed: {why}"),
        )?
        else {
            return Ok(None);
        };
        self.store.set_setting(&probation_key(&model.id, &model.version), "regressed")?;
        self.store.set_setting(
            &held_key(&model.id, &model.version),
            &format!("model_regressed: {why}"),
        )?;
        self.local.forget();
        tracing::warn!(model = %model.id, from = %rolled.from_version, to = %rolled.to_version, %why, "model regressed and was rolled back");
        Ok(Some(fieldbrief_core::route::Reason::new(
            fieldbrief_core::route::ReasonCode::ModelRegressed,
            format!(
                "{reason}; {} is active again and {} is held until a newer version",
                rolled.to_version, model.version
            ),
        )))
    }

    /// The installed models and where each stands in its rollout, for the fleet aggregate.
    pub(crate) fn fleet_models(&self) -> Result<Vec<ledger::FleetModel>> {
        let models = self.installed()?;
        let n = self.settings.models.probation_summaries;
        let entries = self.store.ledger(None)?;
        let (catalogs, _) = self.catalogs(false);
        let key = self.rollout_key()?;
        let mut out = Vec::new();
        for id in models.ids() {
            let Some(pointer) = models.pointer(&id) else { continue };
            let version = pointer.version.clone();
            let pending = self.store.setting(&probation_key(&id, &version))?.as_deref()
                == Some(PROBATION_PENDING);
            let rollout =
                if let Some(r) = pointer.rollback.as_ref().filter(|r| r.to_version == version) {
                    format!("rolled back from {}: {}", r.from_version, r.reason)
                } else if n > 0 && pending {
                    let served = ledger::health(&entries, &id, &version, n, false).requests;
                    format!("probation: {served} of {n} summaries")
                } else {
                    // The installed version's own entry, not the newest one's.
                    catalogs
                        .iter()
                        .find_map(|c| c.find(&id, Some(&version)))
                        .map(|e| {
                            fieldbrief_models::rollout::offer(
                                e,
                                &key,
                                self.settings.models.cohort.as_deref(),
                            )
                            .describe()
                        })
                        .unwrap_or_else(|| "not in a catalog".into())
                };
            out.push(ledger::FleetModel { id, version, rollout });
        }
        Ok(out)
    }

    /// Why an automatic install must wait now, if it must: the settings as saved now (the
    /// app's settings window may have marked the connection metered) and the power state.
    pub fn automatic_install_hold(&mut self) -> Option<&'static str> {
        if let Err(e) = self.reload_settings() {
            tracing::warn!(error = %e, "could not re-read the settings");
        }
        let mode = self.power_state().map(|p| p.mode).unwrap_or_default();
        hold_reason(&self.settings, mode)
    }

    /// [`Fieldbrief::pull_model`] for an install nobody asked for: checked before it starts,
    /// and paused (its bytes kept, to resume later) as soon as the laptop goes to battery
    /// saver, the connection is marked metered or "work offline" is switched on. The paused
    /// progress report carries the reason.
    /// A pause or cancel by the user (not by those conditions) is remembered for that version,
    /// and [`Fieldbrief::check_updates`] leaves it alone until the user pulls it.
    pub fn pull_model_automatically(
        &mut self,
        id: &str,
        version: Option<&str>,
        control: &Control,
        progress: &mut dyn FnMut(&PullProgress),
    ) -> Result<AutoPull> {
        if let Some(why) = self.automatic_install_hold() {
            return Ok(AutoPull::NotStarted(why));
        }
        let mut settings = self.settings.clone();
        let mut watch = SettingsWatch::new(self.home.config_path(), Duration::from_secs(1));
        // The monitor keeps its own poll interval; it is handed back afterwards.
        let mut power = std::mem::take(&mut self.power);
        let mut held: Option<&'static str> = None;
        // How it stopped, if it did (paused or cancelled), and which version it was.
        let mut stopped: Option<(PullState, String)> = None;
        let result = {
            let mut watch = |p: &PullProgress| {
                if matches!(p.state, PullState::Paused | PullState::Cancelled) {
                    stopped = Some((p.state, p.version.clone()));
                }
                if held.is_none()
                    && matches!(
                        p.state,
                        PullState::Starting | PullState::Downloading | PullState::Retrying
                    )
                {
                    if let Some(s) = watch.poll() {
                        settings = s;
                    }
                    let mode = power.mode_now().unwrap_or_default();
                    if let Some(why) = hold_reason(&settings, mode) {
                        tracing::info!(model = %p.id, why, "automatic download paused");
                        held = Some(why);
                        control.pause();
                    }
                }
                match (p.state, held) {
                    (PullState::Paused, Some(why)) => progress(&PullProgress {
                        message: Some(format!("paused automatically: {why}")),
                        ..p.clone()
                    }),
                    _ => progress(p),
                }
            };
            self.pull_model(id, version, control, &mut watch)
        };
        if !self.power.is_started() {
            self.power = power;
        }
        match (result, held, stopped) {
            (Ok(entry), _, _) => Ok(AutoPull::Installed(Box::new(entry))),
            (Err(_), Some(why), Some((PullState::Paused, _))) => Ok(AutoPull::Paused(why)),
            (Err(e), None, Some((_, version))) => {
                self.store.set_setting(&stopped_by_user_key(id, &version), "1")?;
                Err(e)
            }
            (Err(e), _, _) => Err(e),
        }
    }

    /// The local engine crashed on `model`: counts it, and rolls a version on probation back.
    /// Returns the reason to show when it rolled back.
    pub(crate) fn model_crashed(
        &self,
        model: &LocalModel,
        why: &str,
    ) -> Result<Option<fieldbrief_core::route::Reason>> {
        let n = record_crash(&self.store, model)?;
        if n >= QUARANTINE_AFTER {
            tracing::warn!(model = %model.id, crashes = n, "model quarantined");
        }
        let models = self.installed()?;
        if models.get(&model.id, &model.version).is_none_or(|i| i.path != model.path) {
            return Ok(None);
        }
        let rolled = match models.crashed(&model.id, &model.version, why) {
            Ok(r) => r,
            Err(e) => {
                // The summary goes on (extractive); only the rollback could not be recorded.
                tracing::warn!(error = %e, model = %model.id, "could not roll the model back");
                None
            }
        };
        Ok(rolled.map(|r| {
            tracing::warn!(model = %model.id, from = %r.from_version, to = %r.to_version, "model rolled back");
            fieldbrief_core::route::Reason {
                code: fieldbrief_core::route::ReasonCode::ModelRolledBack,
                detail: format!("{}; {} is active again", r.reason, r.to_version),
            }
        }))
    }

    /// A request succeeded on `model`: the crash count restarts and probation ends.
    pub(crate) fn model_succeeded(&self, model: &LocalModel) -> Result<()> {
        if crashes(&self.store, model)? > 0 {
            self.store.set_setting(&crash_key(model), "0")?;
        }
        let models = self.installed()?;
        if models.get(&model.id, &model.version).is_some_and(|i| i.path == model.path)
            && let Err(e) = models.confirm(&model.id, &model.version)
        {
            tracing::warn!(error = %e, model = %model.id, "could not end the model's probation");
        }
        Ok(())
    }
}

/// Why an automatic install must wait, if it must.
fn hold_reason(settings: &fieldbrief_core::config::Settings, mode: Mode) -> Option<&'static str> {
    if settings.models.metered {
        Some("the connection is marked metered")
    } else if mode == Mode::Saver {
        Some("the laptop is in battery saver mode")
    } else if settings.cloud.work_offline {
        Some("working offline")
    } else {
        None
    }
}

/// The most a catalog or its signature may be.
const SMALL_FILE_LIMIT: u64 = 4 << 20;

/// A small file over HTTP(S) (a catalog or its signature), at most 4 MiB, 20 s.
fn fetch_small(url: &str) -> std::result::Result<Vec<u8>, String> {
    download::check_url(url).map_err(|e| e.to_string())?;
    let runtime = tokio_runtime()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| e.to_string())?;
        let mut r = client.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("{url}: the server answered {}", r.status()));
        }
        let too_large = || format!("{url}: larger than 4 MiB; not a catalog");
        if r.content_length().is_some_and(|n| n > SMALL_FILE_LIMIT) {
            return Err(too_large());
        }
        // Read as it comes, and stopped at the limit: a chunked body says no length up front.
        let mut body = Vec::new();
        while let Some(chunk) = r.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if (body.len() + chunk.len()) as u64 > SMALL_FILE_LIMIT {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
}

fn tokio_runtime() -> std::result::Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Progress reports of one model version's download.
struct Reporter {
    id: String,
    version: String,
}

impl Reporter {
    /// A report without a rate or time left (those come only while bytes arrive).
    fn report(
        &self,
        state: PullState,
        downloaded: u64,
        total: Option<u64>,
        message: Option<String>,
    ) -> PullProgress {
        PullProgress {
            id: self.id.clone(),
            version: self.version.clone(),
            state,
            downloaded,
            total,
            rate_bps: 0.0,
            eta_s: None,
            message,
        }
    }

    /// A download's (or a delta's) progress as the pull's.
    fn transfer(&self, p: &download::Progress) -> PullProgress {
        let state = match p.phase {
            Phase::Starting => PullState::Starting,
            Phase::Downloading => PullState::Downloading,
            Phase::Retrying => PullState::Retrying,
        };
        PullProgress {
            rate_bps: p.rate_bps,
            eta_s: p.eta_s,
            ..self.report(state, p.downloaded, p.total, p.message.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// A loopback server that answers once with a chunked body of `chunks` × 64 KiB, and
    /// counts what it managed to send before the client hung up.
    fn chunked_server(chunks: usize) -> (String, std::thread::JoinHandle<usize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/catalog.json", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if conn.write_all(head.as_bytes()).is_err() {
                return 0;
            }
            let piece = vec![b' '; 64 * 1024];
            let mut sent = 0;
            for _ in 0..chunks {
                let chunk = [format!("{:x}\r\n", piece.len()).as_bytes(), &piece, b"\r\n"].concat();
                if conn.write_all(&chunk).is_err() {
                    break;
                }
                sent += piece.len();
            }
            let _ = conn.write_all(b"0\r\n\r\n");
            sent
        });
        (url, thread)
    }

    #[test]
    fn a_catalog_without_a_length_is_read_only_up_to_its_limit() {
        // 64 MiB offered in chunks, no Content-Length: refused once past 4 MiB, not read whole.
        let (url, server) = chunked_server(1024);
        let e = fetch_small(&url).unwrap_err();
        assert!(e.contains("larger than 4 MiB"), "{e}");
        let sent = server.join().unwrap();
        assert!(sent < 32 << 20, "the client read {sent} bytes");
        // A small one is read whole.
        let (url, server) = chunked_server(2);
        assert_eq!(fetch_small(&url).unwrap().len(), 128 * 1024);
        server.join().unwrap();
    }
}
