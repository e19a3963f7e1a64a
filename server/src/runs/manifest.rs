//! What a run is on disk: its folders (`results/<name>/test_<epoch>/`, the
//! reference's layout), the manifest `run.json`, and the names and writes
//! that keep them safe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use super::scores::Agreement;

pub const MANIFEST_FILE: &str = "run.json";
/// Where each shard of a run keeps its record.
pub const SHARDS_DIR: &str = "shards";
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
    Inference(#[source] crate::inference::pipeline::SynthesisError),
    #[error("{stem}: the image cannot be encoded: {source}")]
    Encode {
        stem: String,
        #[source]
        source: image::ImageError,
    },
    #[error("scoring {stem}: {source}")]
    Scoring {
        stem: String,
        #[source]
        source: super::scores::ScoreError,
    },
    #[error("the features of {stem}: {source}")]
    Features {
        stem: String,
        #[source]
        source: super::fid::FidError,
    },
    #[error("FID and KID: {0}")]
    Fidelity(#[source] super::fid::FidError),
}

pub(super) fn io(path: &Path) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Io {
        path: path.display().to_string(),
        reason: io_reason(&e),
    }
}

/// What went wrong with a file, and for a full or read-only results folder
/// what to do: the run stopped there and resumes once it can write again.
pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::StorageFull => format!(
            "the results folder's disk is full ({e}): the run stopped here; free space and run the same command again to resume it"
        ),
        std::io::ErrorKind::ReadOnlyFilesystem => format!(
            "the results folder is read-only ({e}): the run stopped here; make it writable and run the same command again to resume it"
        ),
        _ => e.to_string(),
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
    crate::atomic::write(path, bytes).map_err(io(path))
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
    /// The segmenter's reading of the synthesized image against the map
    /// (`--evaluate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    /// The same of the real photo, the ceiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_agreement: Option<Agreement>,
}

/// A run's scores (`--evaluate`): its samples' confusion matrices added up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RunScores {
    /// The package whose segmenter read the images.
    pub segmenter: String,
    /// Synthesized images scored.
    pub images: usize,
    pub generated: super::scores::Scores,
    /// Real photos scored, and their scores (the ceiling), when the run has them.
    pub real_images: usize,
    pub real: Option<super::scores::Scores>,
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
    /// The package whose segmenter scores the run (`--evaluate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmenter: Option<String>,
    /// The scores of what is done, added up at each save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<RunScores>,
    /// The Inception graph whose features the run keeps (`--inception`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inception: Option<String>,
    /// FID and KID, once every map is through (the merge of a complete run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fidelity: Option<super::fid::Fidelity>,
    /// In a shard's record: which shard, `I/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// In the merged `run.json` of a sharded run: each shard's progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardStatus>,
    /// Unix seconds.
    pub created: u64,
    pub updated: u64,
}

impl Manifest {
    /// The scores of the samples done, when the run is scored.
    pub fn score(&self, classes: usize) -> Option<RunScores> {
        let segmenter = self.segmenter.clone()?;
        let mut generated = super::scores::Confusion::new(classes);
        let mut real = super::scores::Confusion::new(classes);
        let (mut images, mut real_images) = (0, 0);
        for record in self.done.values() {
            if let Some(a) = &record.agreement {
                generated.add_cells(&a.cells);
                images += 1;
            }
            if let Some(a) = &record.real_agreement {
                real.add_cells(&a.cells);
                real_images += 1;
            }
        }
        Some(RunScores {
            segmenter,
            images,
            generated: generated.scores(),
            real_images,
            real: (real_images > 0).then(|| real.scores()),
        })
    }

    pub fn progress(&self) -> Progress {
        Progress {
            done: self.done.len(),
            failed: self.failed.len(),
            total: self.stems.len(),
            state: self.state,
        }
    }
}

/// Where one shard of a run stands, as its record says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ShardStatus {
    /// `I/N`
    pub shard: String,
    pub done: usize,
    pub failed: usize,
    pub total: usize,
    #[schema(value_type = String)]
    pub state: RunState,
    /// Unix seconds of its last record.
    pub updated: u64,
}

/// Which of two records is newer: the later `updated`, and of the same
/// second a shard's record rather than `run.json` (the merge it fed).
fn age(record: &Manifest) -> (u64, bool) {
    (record.updated, record.shard.is_some())
}

/// `field` of the newest record that has one.
pub fn newest<T>(records: &[Manifest], field: impl Fn(&Manifest) -> Option<T>) -> Option<T> {
    records
        .iter()
        .filter_map(|r| field(r).map(|v| (age(r), v)))
        .max_by_key(|(age, _)| *age)
        .map(|(_, v)| v)
}

/// The run as every record on disk tells it: the maps of `stems` (the
/// whole run, in order), each done as the newest record that has it says
/// (records of another split stay on disk; a shard's record beats
/// `run.json` of the same second), scores only from the newest segmenter;
/// failures, state and each shard's bar from the latest split's records.
/// Complete when every map is done or failed; failed when one of those
/// records failed and not every map is through; running otherwise (a
/// killed shard's record says running until it is started again).
pub fn merge(records: &[Manifest], stems: &[String], first: &Manifest) -> Manifest {
    use super::shard::Shard;
    let wanted: std::collections::HashSet<&String> = stems.iter().collect();
    let mut ordered: Vec<&Manifest> = records.iter().collect();
    ordered.sort_by_key(|r| age(r));
    let shard_of = |r: &Manifest| r.shard.as_deref().and_then(|s| s.parse::<Shard>().ok());
    let split = ordered
        .iter()
        .rev()
        .find_map(|r| shard_of(r))
        .map(|s| s.count);
    let current: Vec<&Manifest> = ordered
        .iter()
        .filter(|r| split.is_none() || shard_of(r).is_some_and(|s| Some(s.count) == split))
        .copied()
        .collect();
    let mut merged = first.clone();
    merged.stems = stems.to_vec();
    merged.done = BTreeMap::new();
    merged.failed = BTreeMap::new();
    merged.shard = None;
    merged.shards = Vec::new();
    merged.segmenter = newest(records, |r| r.segmenter.clone());
    merged.inception = newest(records, |r| r.inception.clone());
    merged.fidelity = newest(records, |r| r.fidelity.clone());
    for record in &ordered {
        let same_judge = record.segmenter == merged.segmenter;
        for (stem, r) in &record.done {
            if wanted.contains(stem) {
                let mut r = r.clone();
                if !same_judge {
                    (r.agreement, r.real_agreement) = (None, None);
                }
                merged.done.insert(stem.clone(), r);
            }
        }
    }
    for record in &current {
        for (stem, reason) in &record.failed {
            if wanted.contains(stem) && !merged.done.contains_key(stem) {
                merged.failed.insert(stem.clone(), reason.clone());
            }
        }
        if let Some(shard) = &record.shard {
            let p = record.progress();
            merged.shards.push(ShardStatus {
                shard: shard.clone(),
                done: p.done,
                failed: p.failed,
                total: p.total,
                state: record.state,
                updated: record.updated,
            });
        }
    }
    let through = merged.done.len() + merged.failed.len() == stems.len();
    let failed = current.iter().find(|r| r.state == RunState::Failed);
    (merged.state, merged.error) = match (through, failed) {
        (true, _) => (RunState::Complete, None),
        (false, Some(f)) => (RunState::Failed, f.error.clone()),
        (false, None) => (RunState::Running, None),
    };
    merged.created = records
        .iter()
        .map(|r| r.created)
        .min()
        .unwrap_or(merged.created);
    merged.updated = records
        .iter()
        .map(|r| r.updated)
        .max()
        .unwrap_or(merged.updated);
    match split {
        Some(count) if count > 1 => {
            // Shards not started yet are listed too, with nothing done.
            for index in 0..count {
                let shard = Shard { index, count };
                if !merged.shards.iter().any(|s| s.shard == shard.to_string()) {
                    merged.shards.push(ShardStatus {
                        shard: shard.to_string(),
                        done: 0,
                        failed: 0,
                        total: (0..stems.len()).filter(|&k| shard.owns(k)).count(),
                        state: RunState::Running,
                        updated: 0,
                    });
                }
            }
            merged
                .shards
                .sort_by_key(|s| s.shard.parse::<Shard>().ok().map(|p| p.index));
        }
        _ => merged.shards.clear(),
    }
    merged
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

    fn record(
        shard: Option<&str>,
        updated: u64,
        segmenter: &str,
        done: &[(&str, f64)],
        failed: &[&str],
    ) -> Manifest {
        let sample = |miou: f64| SampleRecord {
            source: [8, 8],
            size: [8, 8],
            classes: vec![0],
            has_real: false,
            agreement: Some(Agreement {
                pixel_accuracy: miou,
                mean_iou: miou,
                cells: vec![[0, 0, 1]],
            }),
            real_agreement: None,
        };
        Manifest {
            format: MANIFEST_FORMAT,
            name: "r".into(),
            epoch: "latest".into(),
            model: "m".into(),
            label_dir: "x".into(),
            image_dir: None,
            instance_dir: None,
            stems: Vec::new(),
            done: done
                .iter()
                .map(|(s, m)| (s.to_string(), sample(*m)))
                .collect(),
            failed: failed
                .iter()
                .map(|s| (s.to_string(), "unreadable".to_string()))
                .collect(),
            state: RunState::Running,
            error: None,
            segmenter: Some(segmenter.into()),
            scores: None,
            inception: None,
            fidelity: None,
            shard: shard.map(str::to_string),
            shards: Vec::new(),
            created: 1,
            updated,
        }
    }

    #[test]
    fn the_newest_record_of_a_map_wins_and_only_the_latest_split_says_what_failed() {
        let stems: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        // First split in four, scored by s1, shard 1 failed on "b"; then in
        // two, scored by s2, which has made "a" and "c" again.
        let old0 = record(Some("0/4"), 10, "s1", &[("a", 0.1)], &[]);
        let old1 = record(Some("1/4"), 11, "s1", &[], &["b"]);
        let mut old3 = record(Some("3/4"), 12, "s1", &[("d", 0.4)], &[]);
        old3.state = RunState::Failed;
        let new0 = record(Some("0/2"), 20, "s2", &[("a", 0.7), ("c", 0.9)], &[]);
        let new1 = record(Some("1/2"), 21, "s2", &[], &[]);
        // Read in file-name order, the old split's files after the new ones.
        let merged = merge(
            &[new0.clone(), new1.clone(), old0, old1, old3],
            &stems,
            &new0,
        );
        assert_eq!(merged.segmenter.as_deref(), Some("s2"));
        assert_eq!(
            merged.done["a"].agreement.as_ref().unwrap().mean_iou,
            0.7,
            "the newer record"
        );
        assert!(
            merged.done["d"].agreement.is_none(),
            "s1's score is not s2's"
        );
        assert!(
            merged.failed.is_empty(),
            "the old split's failure is not this split's"
        );
        assert_eq!(
            merged.state,
            RunState::Running,
            "b is still to make; the old failure does not stop the run"
        );
        assert_eq!(
            merged
                .shards
                .iter()
                .map(|s| s.shard.as_str())
                .collect::<Vec<_>>(),
            ["0/2", "1/2"]
        );
        let scores = merged.score(1).unwrap();
        assert_eq!(
            (scores.segmenter.as_str(), scores.images),
            ("s2", 2),
            "only s2's agreements add up"
        );
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
