//! What a run is on disk: its folders (`results/<name>/test_<epoch>/`, the
//! reference's layout), the manifest `run.json`, and the names and writes
//! that keep them safe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const MANIFEST_FILE: &str = "run.json";
pub(super) const MANIFEST_FORMAT: u32 = 1;
/// Rows per gallery page.
pub const PAGE_SIZE: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{what} `{value}` is not allowed: use 1 to 64 letters, digits, `.`, `-` or `_`, starting with a letter or digit (no `/`, no `..`)")]
    BadName { what: &'static str, value: String },
    #[error(
        "run {name} was made with model {was}, not {now}; pick another --name or remove {dir}"
    )]
    OtherModel {
        name: String,
        was: String,
        now: String,
        dir: String,
    },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("the manifest {path} is unreadable ({reason}); remove it to start the run again")]
    BadManifest { path: String, reason: String },
    #[error(transparent)]
    Pairing(#[from] crate::dataset::pairing::PairingError),
    #[error("{0}")]
    Inference(crate::inference::queue::QueueError),
}

pub(super) fn io(path: &Path) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

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
/// (the dataset tools' atomic write, with this module's error).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    crate::dataset::files::write_atomic(path, bytes).map_err(io(path))
}

/// What the gallery shows of a finished sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleRecord {
    /// The label map's size as given.
    pub source: [usize; 2],
    /// The size it was generated at.
    pub size: [usize; 2],
    /// Classes present in the map, by index.
    pub classes: Vec<usize>,
    pub has_real: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Complete,
    Failed,
}

/// `run.json`: what the run is, and what is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub name: String,
    pub epoch: String,
    pub model: String,
    pub label_dir: String,
    pub image_dir: Option<String>,
    pub instance_dir: Option<String>,
    /// Every sample of the run, in order.
    pub stems: Vec<String>,
    pub done: BTreeMap<String, SampleRecord>,
    /// Samples that could not be made, with the reason.
    pub failed: BTreeMap<String, String>,
    pub state: RunState,
    pub error: Option<String>,
    /// Unix seconds.
    pub created: u64,
    pub updated: u64,
}

impl Manifest {
    pub fn progress(&self) -> Progress {
        Progress {
            done: self.done.len(),
            failed: self.failed.len(),
            total: self.stems.len(),
            state: self.state,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Progress {
    pub done: usize,
    pub failed: usize,
    pub total: usize,
    #[schema(value_type = String)]
    pub state: RunState,
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

    pub fn read_manifest(&self) -> Result<Option<Manifest>, RunError> {
        let path = self.manifest_path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| RunError::BadManifest {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Removes temporary files a killed run left behind; returns how many.
    pub(super) fn clean_partial(&self) -> usize {
        let mut removed = 0;
        let images =
            [INPUT_LABEL, SYNTHESIZED, REAL].map(|kind| self.root.join("images").join(kind));
        // The run folder itself holds the manifest's and the pages' temporaries.
        for dir in images.iter().chain(std::iter::once(&self.root)) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.')
                    && name.ends_with(".tmp")
                    && std::fs::remove_file(entry.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }
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

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a.png");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
