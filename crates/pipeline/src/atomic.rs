//! Replacing a file whole: what the settings and the app's exports write never exists half
//! written under its real name, whatever happens to the disk or the process.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a synced temporary file beside it and a rename, then syncs
/// the directory so the rename itself is on disk. A symlink (a centrally managed settings file)
/// is written where it points, and a file keeps its permissions (a 0600 file stays 0600).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&temp)?;
        if let Ok(old) = std::fs::metadata(&target) {
            f.set_permissions(old.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, &target)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
