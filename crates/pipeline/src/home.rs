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
        std::fs::create_dir_all(&root).map_err(|e| {
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
