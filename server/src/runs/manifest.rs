//! A run's record: the manifest `run.json` (what each map left, the run's
//! state and scores) and each shard's record, and their merge into one.
//! Where they live on disk is `dir`'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::scores::Agreement;

pub const MANIFEST_FILE: &str = "run.json";
/// Where each shard of a run keeps its record.
pub const SHARDS_DIR: &str = "shards";
pub(super) const MANIFEST_FORMAT: u32 = 1;
/// Rows per gallery page.
pub const PAGE_SIZE: usize = 50;

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
    /// Which of its graphs: file and digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<String>,
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
    /// Which of its graphs judges: file and the first digits of its
    /// SHA-256 (the package's own segmenter, else its photo segmenter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<String>,
    /// The scores of what is done, added up at each save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<RunScores>,
    /// The Inception graph whose features the run keeps (`--inception`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inception: Option<String>,
    /// FID and KID, once every map is through (the merge of a complete run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fidelity: Option<super::fid::Fidelity>,
    /// The arithmetic the generator ran in, fp32 or bf16 (`--compute`):
    /// every shard of a run the same, so one gallery never mixes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    /// The runtime that ran it, onnxruntime or openvino: their fp32
    /// images differ in the last bits, so a run keeps to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
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
            judge: self.judge.clone(),
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
    merged.judge = newest(records, |r| r.judge.clone());
    merged.inception = newest(records, |r| r.inception.clone());
    merged.fidelity = newest(records, |r| r.fidelity.clone());
    merged.compute = newest(records, |r| r.compute.clone());
    merged.provider = newest(records, |r| r.provider.clone());
    for record in &ordered {
        let same_judge = (&record.segmenter, &record.judge) == (&merged.segmenter, &merged.judge);
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

#[cfg(test)]
mod tests {
    use super::*;

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
            judge: None,
            scores: None,
            inception: None,
            fidelity: None,
            compute: None,
            provider: None,
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
}
