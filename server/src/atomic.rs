//! Atomic file writes: the bytes go to a temporary file beside the target
//! and are renamed over it, so a reader never sees half a file and a failed
//! write leaves neither a partial target nor its temporary behind.
//!
//! Temporaries are named `.{name}.{pid}.tmp`; `runs` recognises that name
//! to clear what a killed run left behind, so keep it.

use std::io;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, |tmp| std::fs::write(tmp, bytes))
}

/// Copies `from` to `to` through a temporary file beside `to`.
pub fn copy(from: &Path, to: &Path) -> io::Result<()> {
    replace(to, |tmp| std::fs::copy(from, tmp).map(drop))
}

/// Fills the temporary of `path` with `fill` and renames it into place;
/// on any failure (a full disk, a read error) the temporary is removed.
fn replace(path: &Path, fill: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let tmp = temp_path(path);
    fill(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// `.{name}.{pid}.tmp` beside `path`: hidden, one per process, and ending
/// in `.tmp` for the cleaners of killed runs.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
