//! Where a run lives on disk: its folders (`results/<name>/test_<epoch>/`,
//! the reference's layout), the run's lock, the records it keeps there, the
//! temporaries a killed attempt leaves and the names and writes that keep
//! them safe.

use std::path::{Path, PathBuf};

use super::error::{io, RunError};
use super::manifest::{Manifest, MANIFEST_FILE, SHARDS_DIR};

/// Run names and epochs become folder names: keep them to a safe alphabet.
pub fn check_name(what: &'static str, value: &str) -> Result<(), RunError> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !value.contains("..");
    if ok {
        Ok(())
    } else {
        Err(RunError::BadName {
            what,
            value: value.to_string(),
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// (`atomic::write`, with this layer's error).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    crate::atomic::write(path, bytes).map_err(io(path))
}

/// A manifest or a shard's record.
fn read_json(path: &Path) -> Result<Manifest, RunError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| RunError::BadManifest {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The folders of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
    pub name: String,
    pub epoch: String,
}

pub const INPUT_LABEL: &str = "input_label";
pub const SYNTHESIZED: &str = "synthesized_image";
pub const REAL: &str = "real_image";

impl RunDir {
    pub fn new(results: &Path, name: &str, epoch: &str) -> Result<Self, RunError> {
        check_name("run name", name)?;
        check_name("epoch", epoch)?;
        Ok(Self {
            root: results.join(name).join(format!("test_{epoch}")),
            name: name.to_string(),
            epoch: epoch.to_string(),
        })
    }

    pub fn image(&self, kind: &str, stem: &str) -> PathBuf {
        self.root
            .join("images")
            .join(kind)
            .join(format!("{stem}.png"))
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST_FILE)
    }

    /// The folder of the shards' records.
    pub fn shards_dir(&self) -> PathBuf {
        self.root.join(SHARDS_DIR)
    }

    /// Every record of the run on disk: `run.json` (the merge, or a run
    /// from before shards) and each shard's.
    pub fn read_records(&self) -> Result<Vec<Manifest>, RunError> {
        let mut records: Vec<Manifest> = self.read_manifest()?.into_iter().collect();
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.shards_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| super::shard::Shard::of_record_file(p).is_some())
            .collect();
        files.sort();
        for path in files {
            records.push(read_json(&path)?);
        }
        Ok(records)
    }

    /// Holds the run's lock (a file lock on `run.lock`) while `f` runs: the
    /// merge of the records and the writes of `run.json` and the pages
    /// happen one shard at a time.
    pub fn locked<T>(&self, f: impl FnOnce() -> Result<T, RunError>) -> Result<T, RunError> {
        let path = self.root.join("run.lock");
        // Read and write: over NFS an exclusive flock is a POSIX lock,
        // which needs a file open for writing. On a folder remounted
        // read-only the open for writing fails; then read-only, so that the
        // run gets as far as its first write and stops with the reason.
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        };
        let file = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                std::fs::File::open(&path)
            }
            opened => opened,
        }
        .map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        let result = f();
        let _ = file.unlock();
        result
    }

    pub fn read_manifest(&self) -> Result<Option<Manifest>, RunError> {
        let path = self.manifest_path();
        match read_json(&path) {
            Ok(m) => Ok(Some(m)),
            Err(RunError::Io { .. }) if !path.exists() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes the temporary files a killed attempt left behind of the
    /// images of `stems` and of `record` (a shard's; other shards may be
    /// writing theirs now); returns how many.
    pub(super) fn clean_partial(&self, stems: &[String], record: &str) -> usize {
        let mine: std::collections::HashSet<String> = stems
            .iter()
            .flat_map(|s| [format!("{s}.png"), format!("{s}.npy")])
            .chain([record.to_string()])
            .collect();
        let images =
            [INPUT_LABEL, SYNTHESIZED, REAL].map(|kind| self.root.join("images").join(kind));
        let shards = self.shards_dir();
        // Feature folders: features/<graph>/<kind>.
        let features: Vec<PathBuf> = std::fs::read_dir(self.root.join("features"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|graph| [graph.path().join(SYNTHESIZED), graph.path().join(REAL)])
            .collect();
        let folders = images
            .iter()
            .chain(std::iter::once(&shards))
            .chain(&features);
        let target = |name: &str| -> Option<String> {
            let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
            Some(inner.rsplit_once('.')?.0.to_string())
        };
        remove_temporaries(folders, |name| {
            target(name).is_some_and(|t| mine.contains(&t))
        })
    }

    /// Removes the temporaries of `run.json` and the pages, which are
    /// written under the lock only: call it holding the lock.
    pub(super) fn clean_partial_shared(&self) -> usize {
        remove_temporaries(std::iter::once(&self.root), |_| true)
    }
}

/// Removes the files named `.*.tmp` in `folders` that `chosen` picks.
fn remove_temporaries<'a>(
    folders: impl Iterator<Item = &'a PathBuf>,
    chosen: impl Fn(&str) -> bool,
) -> usize {
    let mut removed = 0;
    for dir in folders {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                && name.ends_with(".tmp")
                && chosen(&name)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_keep_to_a_safe_alphabet() {
        for ok in ["landscapes", "coco_v2", "run-1.5", "a"] {
            assert!(check_name("run name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../etc",
            "a/b",
            "/abs",
            "..",
            "a..b",
            ".hidden",
            "-x",
            "naïve",
            "a b",
            &"x".repeat(65),
        ] {
            let e = check_name("run name", bad).unwrap_err().to_string();
            assert!(e.contains("not allowed"), "{bad}: {e}");
        }
    }
}
