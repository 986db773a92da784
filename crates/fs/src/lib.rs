//! Replacing a file whole. What the settings, the model store's pointers and records, a
//! download's resume record and the app's exports write never exists half written under its
//! real name, whatever happens to the disk or the process: the bytes go to a temporary file
//! beside the target, are synced, and are renamed over it; then the directory is synced so the
//! rename itself is on disk.
//!
//! This is the one implementation in the workspace; a new writer of a file that must survive a
//! crash uses it rather than `std::fs::write`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` through a synced temporary file and a rename (see the module
/// comment). A symlink (a centrally managed settings file) is written where it points, and a
/// file keeps its permissions (a 0600 file stays 0600). On an error the target is untouched
/// and the temporary file is gone.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, bytes, || {})
}

/// [`write_atomically`], calling `before_rename` once the temporary file is complete and synced
/// and before it replaces the target: where a caller's failpoint goes to prove that a process
/// killed between the two leaves the old file whole.
pub fn write_atomically_with(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(),
) -> std::io::Result<()> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let dir = parent(&target);
    let temp = temporary_beside(&target);
    let result = (|| {
        let mut f = std::fs::File::create(&temp)?;
        if let Ok(old) = std::fs::metadata(&target) {
            f.set_permissions(old.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        before_rename();
        rename_over(&temp, &target)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Renames `from` over `to`. Windows refuses to replace a file while another thread or
/// process is replacing or deleting the same one ("Access denied") or has it open without
/// sharing it (a sharing or lock violation: an antivirus scan, the search indexer), which lasts
/// a moment: there it is tried again for up to a second.
pub fn rename_over(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            match std::fs::rename(from, to) {
                // ERROR_SHARING_VIOLATION (32) and ERROR_LOCK_VIOLATION (33) have no kind.
                Err(e)
                    if (e.kind() == std::io::ErrorKind::PermissionDenied
                        || matches!(e.raw_os_error(), Some(32 | 33)))
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                other => return other,
            }
        }
    }
    #[cfg(not(windows))]
    std::fs::rename(from, to)
}

/// Flushes a written and closed file to the disk (before it is renamed into place, say).
/// Windows flushes only through a handle that may write (a read-only one is refused: "Access
/// denied"); Unix through any, so there the file is opened for reading only.
pub fn sync_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(windows)]
    options.write(true);
    options.open(path)?.sync_all()
}

/// Syncs a directory, so that a rename or a new file in it survives a power cut. Nothing to do
/// (and nothing possible) on Windows, where a directory cannot be opened as a file.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// A name no other writer uses at the same moment: this process, and a counter for its threads.
fn temporary_beside(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    parent(target).join(format!(".{name}.{}.{n}.partial", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// (Windows refuses to flush through a read-only handle: run under Wine by scripts/windows.)
    #[test]
    fn a_written_file_is_synced_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.gguf");
        std::fs::write(&path, b"GGUF").unwrap();
        sync_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"GGUF", "syncing changes nothing");
        let missing = sync_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(entries(dir.path()), ["config.toml"]);
    }

    #[test]
    fn the_old_file_is_whole_until_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("current");
        write_atomically(&path, b"1.0.0").unwrap();
        let mut seen = None;
        write_atomically_with(&path, b"2.0.0", || {
            seen = Some((std::fs::read(&path).unwrap(), entries(dir.path()).len()));
        })
        .unwrap();
        // At the failpoint the target still holds the old bytes and the new ones wait beside it.
        assert_eq!(seen, Some((b"1.0.0".to_vec(), 2)));
        assert_eq!(std::fs::read(&path).unwrap(), b"2.0.0");
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails after the temporary file was written.
        let path = dir.path().join("busy");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"x").unwrap();
        assert!(write_atomically(&path, b"data").is_err());
        assert_eq!(entries(dir.path()), ["busy"]);
        assert_eq!(entries(&path), ["inside"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_where_it_points_and_permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("managed.toml");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn writers_on_many_threads_never_mix_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomically(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|b| *b == bytes[0]));
        assert_eq!(entries(dir.path()), ["shared"]);
    }
}
