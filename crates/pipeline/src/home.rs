//! The data directory: `config.toml`, the database and (later) models live here.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `explicit` (from `--home` or `FIELDBRIEF_HOME`), else the OS data directory. Created if
    /// missing.
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Home> {
        let root = match explicit {
            Some(p) => p,
            None => directories::ProjectDirs::from("", "", "fieldbrief")
                .map(|d| d.data_dir().to_path_buf())
                .ok_or_else(|| {
                    Error::Home(
                        "no home directory found; pass --home DIR or set FIELDBRIEF_HOME".into(),
                    )
                })?,
        };
        create_private_dir(&root).map_err(|e| {
            Error::Home(format!("cannot create data directory {}: {e}", root.display()))
        })?;
        Ok(Home { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The local engine's saved KV state of prompts' fixed beginnings (warm starts): the
    /// instructions and examples only, never a note. Safe to delete.
    pub fn engine_state_dir(&self) -> PathBuf {
        self.root.join("engine-state")
    }

    pub fn database_path(&self) -> PathBuf {
        self.root.join("fieldbrief.sqlite3")
    }
}

/// Creates `root` (and missing parents) readable by its owner alone; an existing data
/// directory of this user that others can read (one an older version created with the default
/// umask, or one the user made and named) is made private too. Someone else's is left alone.
fn create_private_dir(root: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        if !root.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(root)?;
        }
        let meta = std::fs::metadata(root)?;
        // SAFETY: geteuid has no arguments and cannot fail.
        let ours = meta.uid() == unsafe { libc::geteuid() };
        if ours && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(root)
}
