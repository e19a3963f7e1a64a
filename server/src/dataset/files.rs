//! File handling shared by the preparation tools: atomic writes and file
//! names without a suffix. Grayscale PNGs of class and instance ids are
//! written by `package::maps` (the server answers maps with the same code).

use std::io;
use std::path::{Path, PathBuf};

pub use crate::package::maps::{encode_gray_png, Depth};

/// Writes `bytes` to `path` through a temporary file in the same folder, so
/// that an interrupted run never leaves a half-written map behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    // A write cut short (a full disk) leaves no partial temporary behind.
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Copies `from` to `to` through a temporary file beside `to`.
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<()> {
    let tmp = temp_path(to);
    std::fs::copy(from, &tmp)?;
    std::fs::rename(&tmp, to).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// `stem` without `suffix` (CamVid's `_L`), when it ends with it and has
/// something before it.
pub fn strip_suffix<'a>(stem: &'a str, suffix: &str) -> &'a str {
    match stem.strip_suffix(suffix) {
        Some(rest) if !suffix.is_empty() && !rest.is_empty() => rest,
        _ => stem,
    }
}

/// The file name of `path`, for messages.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Up to `limit` names and how many more.
pub fn some_names(names: &[String], limit: usize) -> String {
    let shown = names[..names.len().min(limit)].join(", ");
    match names.len() {
        n if n > limit => format!("{shown} and {} more", n - limit),
        _ => shown,
    }
}

/// Whether `inner` is `outer` or lies under it (both existing, compared
/// after resolving links); false when either cannot be resolved.
pub fn is_within(inner: &Path, outer: &Path) -> bool {
    match (inner.canonicalize(), outer.canonicalize()) {
        (Ok(i), Ok(o)) => i.starts_with(o),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_a_real_suffix() {
        assert_eq!(strip_suffix("0001TP_006690_L", "_L"), "0001TP_006690");
        assert_eq!(strip_suffix("0001TP_006690", "_L"), "0001TP_006690");
        assert_eq!(strip_suffix("_L", "_L"), "_L");
        assert_eq!(strip_suffix("a", ""), "a");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
