//! Model management: what can be installed, getting it onto the laptop intact, and switching
//! between versions without ever leaving a half-installed model active.
//!
//! - [`catalog`]: the built-in catalog (`models/catalog.toml`, compiled in) and an
//!   organisation's catalog (a JSON manifest at a configured URL or on a USB stick, signed with
//!   an Ed25519 / minisign key whose public half is configured; refused unsigned or wrongly
//!   signed).
//! - [`sign`]: signature checks (raw Ed25519 and minisign, both its legacy and prehashed forms).
//! - [`download`]: streaming HTTP downloads that resume with `Range` after any interruption
//!   (across restarts too), detect stalls, retry with backoff, check free disk space first,
//!   hash as they go, and can be paused or cancelled.
//! - [`delta`]: a model file as parts (its GGUF header and each tensor) with their hashes,
//!   and the plan that fetches only the parts an installed version does not already hold.
//! - [`rollout`]: staged rollouts — which laptops a catalog entry is offered to, decided on
//!   the laptop from a random key that never leaves it.
//! - [`install`]: the versioned layout `<dir>/<id>/<version>/model.gguf`, staging, the smoke
//!   test hook, the atomically replaced active pointer, keeping previous versions for rollback,
//!   verification and removal.
//!
//! **Invariant:** the active pointer of a model only ever names a version whose directory was
//! complete (hashed, validated and smoke-tested) before the pointer was written.

pub mod catalog;
pub mod delta;
pub mod download;
pub mod install;
pub mod rollout;
pub mod sign;

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user or a file (a malformed catalog, an unknown id, a bad name).
    #[error("{0}")]
    BadInput(String),
    /// A file that is not a usable model (fails validation).
    #[error("{0}")]
    InvalidModel(String),
    /// The bytes are not the ones published: wrong hash or size.
    #[error("{0}")]
    Integrity(String),
    /// A catalog whose signature is missing or wrong.
    #[error("{0}")]
    Signature(String),
    /// Not enough free disk space; nothing was downloaded or written.
    #[error("{0}")]
    DiskSpace(String),
    /// The server or the network failed after every retry.
    #[error("{0}")]
    Network(String),
    /// The model loaded but failed the smoke test; it was not activated.
    #[error("{0}")]
    SmokeTest(String),
    #[error("download paused; run it again to resume from {0} bytes")]
    Paused(u64),
    #[error("download cancelled")]
    Cancelled,
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl Error {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams a file through SHA-256; returns (hex digest, bytes read).
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut file =
        std::fs::File::open(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let mut hasher = Sha256::new();
    let total = hash_into(&mut file, &mut hasher, path)?;
    Ok((hex(&hasher.finalize()), total))
}

/// Feeds everything `reader` has left into `hasher` (1 MiB at a time); returns the bytes read.
pub(crate) fn hash_into(
    reader: &mut impl std::io::Read,
    hasher: &mut sha2::Sha256,
    path: &Path,
) -> Result<u64> {
    use sha2::Digest;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(Error::io(format!("reading {}", path.display())))?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// Ids and versions become directory names: a small alphabet, no separators, no leading dot.
pub fn check_name(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadInput(format!(
            "{what} {s:?} is not valid: use letters, digits, '.', '-', '_' or '+', not starting with '.'"
        )))
    }
}

/// Orders versions by their numeric parts ("1.10" after "1.9"), then as text.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<Result<u64, String>> {
        s.split(['.', '-', '+', '_']).map(|p| p.parse::<u64>().map_err(|_| p.to_string())).collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x, y) {
            (Ok(x), Ok(y)) => x.cmp(y),
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Err(x), Err(y)) => x.cmp(y),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Human size: "1.2 GB".
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 { format!("{n} B") } else { format!("{v:.1} {}", units[i]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_order_by_their_numbers() {
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("2", "1.9.9"), Greater);
        assert_eq!(compare_versions("1.0", "1.0"), Equal);
        assert_eq!(compare_versions("1.0", "1.0.1"), Less);
        assert_eq!(compare_versions("2024.11-q4", "2024.11-q8"), Less);
    }

    #[test]
    fn names_that_could_escape_the_models_directory_are_refused() {
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "a b", "ä"] {
            assert!(check_name("id", bad).is_err(), "{bad:?}");
        }
        for good in ["qwen2.5-0.5b-instruct", "1.0.2", "v3_q4+fix"] {
            check_name("id", good).unwrap();
        }
    }
}
