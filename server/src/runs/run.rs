//! A test run: pairs the files and opens (or resumes) the run, keeps its
//! record, run.json and pages up to date, and computes FID and KID once it
//! is complete. Making the samples is `make`'s. Every file is written to a
//! temporary name and renamed, and a sample counts as done only once its
//! synthesized image exists, so a run killed at any point resumes where it
//! stopped and never leaves half-written files.

use std::collections::BTreeMap;
use std::path::Path;

use super::dir::*;
use super::error::{io, RunError};
use super::fid::Fidelity;
use super::inception::{features_dir, Inception};
use super::manifest::*;
use super::pages::Pages;
use super::scores::Judge;
use super::shard::Shard;
use crate::dataset::pairing::Sample;
use crate::inference::compute::Execution;
use crate::package::ModelCard;

/// A run being made: its folders, samples and manifest.
pub struct Run {
    pub dir: RunDir,
    /// This shard's samples (every sample of an unsharded run).
    pub samples: Vec<Sample>,
    /// The whole run's maps, in order.
    pub(super) all_stems: Vec<String>,
    pub(super) shard: Shard,
    /// This shard's record.
    pub manifest: Manifest,
    pub card: ModelCard,
    pub max_pixels: u64,
    /// Temporary files of a killed earlier attempt that were removed.
    pub cleaned: usize,
    /// When the record and run.json were last written, and every page.
    pub(super) saved: Option<std::time::Instant>,
    pub(super) pages_saved: Option<std::time::Instant>,
    /// Scores each image made (`--evaluate`).
    pub(super) judge: Option<Judge>,
    /// Keeps each image's Inception features (`--inception`).
    pub(super) inception: Option<Inception>,
}

/// What a run needs to start or resume.
pub struct RunSpec<'a> {
    pub results: &'a Path,
    pub name: &'a str,
    pub epoch: &'a str,
    pub label_dir: &'a Path,
    pub image_dir: Option<&'a Path>,
    pub instance_dir: Option<&'a Path>,
    pub how_many: Option<usize>,
    pub max_pixels: u64,
    /// The part of the run this process makes (`Shard::WHOLE`: all of it).
    pub shard: Shard,
    /// How this process's generator runs: its arithmetic and runtime.
    pub execution: &'a Execution,
}

impl Run {
    /// Pairs the files and creates the run (this shard's part of it), or
    /// resumes it: a map counts as done when some record on disk (this
    /// shard's, another's, or `run.json`) says so and its synthesized image
    /// is there.
    pub fn open(spec: &RunSpec, card: &ModelCard) -> Result<Self, RunError> {
        let dir = RunDir::new(spec.results, spec.name, spec.epoch)?;
        let mut all = crate::dataset::pairing::pair_samples(
            spec.label_dir,
            spec.image_dir,
            spec.instance_dir,
        )?;
        if let Some(n) = spec.how_many {
            all.truncate(n);
        }
        let all_stems: Vec<String> = all.iter().map(|s| s.stem.clone()).collect();
        let samples: Vec<Sample> = all
            .into_iter()
            .enumerate()
            .filter(|(k, _)| spec.shard.owns(*k))
            .map(|(_, s)| s)
            .collect();
        for kind in [INPUT_LABEL, SYNTHESIZED, REAL] {
            let d = dir.root.join("images").join(kind);
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let shards = dir.shards_dir();
        std::fs::create_dir_all(&shards).map_err(io(&shards))?;
        let stems: Vec<String> = samples.iter().map(|s| s.stem.clone()).collect();
        let cleaned = dir.clean_partial(&stems, &spec.shard.record_file());
        let records = dir.read_records()?;
        if let Some(other) = records.iter().find(|m| m.model != card.name) {
            return Err(RunError::OtherModel {
                name: spec.name.to_string(),
                was: other.model.clone(),
                now: card.name.clone(),
                dir: dir.root.display().to_string(),
            });
        }
        let (compute, provider) = (
            spec.execution.compute.to_string(),
            spec.execution.provider.to_string(),
        );
        // Records from before easel kept these say nothing, and pass.
        let other = records.iter().find_map(|m| {
            let was = (m.compute.as_ref()?, m.provider.as_ref()?);
            (was != (&compute, &provider)).then_some(was)
        });
        if let Some((was_compute, was_provider)) = other {
            return Err(RunError::OtherCompute {
                name: spec.name.to_string(),
                compute: was_compute.clone(),
                provider: was_provider.clone(),
                now: format!("{compute} on {provider}"),
                dir: dir.root.display().to_string(),
            });
        }
        let display = |p: Option<&Path>| p.map(|p| p.display().to_string());
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT,
            name: spec.name.to_string(),
            epoch: spec.epoch.to_string(),
            model: card.name.clone(),
            label_dir: spec.label_dir.display().to_string(),
            image_dir: display(spec.image_dir),
            instance_dir: display(spec.instance_dir),
            stems: stems.clone(),
            done: BTreeMap::new(),
            failed: BTreeMap::new(),
            state: RunState::Running,
            error: None,
            segmenter: newest(&records, |r| r.segmenter.clone()),
            judge: newest(&records, |r| r.judge.clone()),
            scores: None,
            inception: newest(&records, |r| r.inception.clone()),
            fidelity: None,
            compute: Some(compute),
            provider: Some(provider),
            shard: Some(spec.shard.to_string()),
            shards: Vec::new(),
            created: records.iter().map(|r| r.created).min().unwrap_or_else(now),
            updated: now(),
        };
        // Done means recorded and the synthesized image on disk; a record
        // without its image (or the reverse) is made again.
        let mine: std::collections::HashSet<&String> = stems.iter().collect();
        for record in &records {
            for (stem, r) in &record.done {
                if mine.contains(stem) && dir.image(SYNTHESIZED, stem).is_file() {
                    manifest.done.insert(stem.clone(), r.clone());
                }
            }
        }
        let mut run = Self {
            dir,
            samples,
            all_stems,
            shard: spec.shard,
            manifest,
            card: card.clone(),
            max_pixels: spec.max_pixels,
            cleaned,
            saved: None,
            pages_saved: None,
            judge: None,
            inception: None,
        };
        run.save()?;
        Ok(run)
    }

    /// Writes `run.json` and the gallery pages again from the records on
    /// disk (`easel test --pages-only`, or a shard that finished): the
    /// merge of every shard's record. Returns the merged manifest.
    pub fn rebuild(dir: &RunDir, card: &ModelCard) -> Result<Manifest, RunError> {
        dir.locked(|| {
            let records = dir.read_records()?;
            let Some(first) = records.first() else {
                return Err(RunError::Io {
                    path: dir.root.display().to_string(),
                    reason: "no run here (no run.json, no shard records); start it with easel test"
                        .into(),
                });
            };
            // The whole run's maps: the longest list any record holds, else
            // every stem the shards name, in order.
            let stems = records
                .iter()
                .filter(|r| r.shard.is_none() || r.shard.as_deref() == Some("0/1"))
                .map(|r| r.stems.clone())
                .max_by_key(Vec::len)
                .unwrap_or_else(|| {
                    let mut all: Vec<String> =
                        records.iter().flat_map(|r| r.stems.clone()).collect();
                    all.sort();
                    all.dedup();
                    all
                });
            let merged = write_merged(dir, &records, &stems, first, card, None, Pages::All)?;
            Ok(merged)
        })
    }
    /// Scores every image from now on with `judge`; samples already done
    /// are scored from their files when the run executes. Scores by another
    /// segmenter than the run's earlier one are dropped.
    pub fn evaluate_with(&mut self, judge: Judge) {
        let (package, graph) = (Some(judge.package.clone()), Some(judge.graph.clone()));
        if (&self.manifest.segmenter, &self.manifest.judge) != (&package, &graph) {
            for record in self.manifest.done.values_mut() {
                record.agreement = None;
                record.real_agreement = None;
            }
        }
        self.manifest.segmenter = package;
        self.manifest.judge = graph;
        self.judge = Some(judge);
    }

    /// Keeps the Inception features of every image from now on (those of
    /// samples already done are computed from their files when the run
    /// executes), under `features/<graph>/`.
    pub fn features_with(&mut self, inception: Inception) -> Result<(), RunError> {
        for kind in [SYNTHESIZED, REAL] {
            let dir = features_dir(&self.dir.root, &inception.name, kind);
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        self.manifest.inception = Some(inception.name.clone());
        self.inception = Some(inception);
        Ok(())
    }

    /// Samples not yet done, in order.
    pub fn pending(&self) -> Vec<Sample> {
        self.samples
            .iter()
            .filter(|s| !self.manifest.done.contains_key(&s.stem))
            .cloned()
            .collect()
    }

    /// Writes this shard's record, then run.json and the gallery pages, at
    /// most once a second while the run goes on (once every 5,000 maps'
    /// worth of seconds on bigger runs: 6 s for 30,000), always at its
    /// start and end. Every page is rewritten at most once a minute while a
    /// run of more than 1,000 maps goes on (the first page of each order,
    /// with the header's progress, at each save). A sample's record can lag
    /// its image by that interval: a run killed in between makes that
    /// image again on resume, since done means recorded and on disk.
    pub fn save(&mut self) -> Result<(), RunError> {
        let interval = (self.all_stems.len() as f64 / 5000.0).max(1.0);
        let due = self
            .saved
            .is_none_or(|t| t.elapsed().as_secs_f64() >= interval);
        let running = self.manifest.state == RunState::Running;
        if !due && running {
            return Ok(());
        }
        let all_pages = !running
            || self.all_stems.len() <= 1000
            || self.pages_saved.is_none_or(|t| t.elapsed().as_secs() >= 60);
        let scope = if all_pages { Pages::All } else { Pages::First };
        let mut record = self.manifest.clone();
        record.updated = now();
        let path = self.dir.shards_dir().join(self.shard.record_file());
        write_atomic(&path, &to_json(&record, &path)?)?;
        let (dir, stems, card) = (&self.dir, &self.all_stems, &self.card);
        dir.locked(|| {
            dir.clean_partial_shared();
            let records = dir.read_records()?;
            write_merged(dir, &records, stems, &record, card, None, scope)
        })?;
        self.saved = Some(std::time::Instant::now());
        if all_pages {
            self.pages_saved = self.saved;
        }
        Ok(())
    }

    /// FID and KID of a complete run (every shard's maps through), from the
    /// features on disk: computed outside the lock (they take a while) and
    /// written into run.json and the pages; kept when run.json has them for
    /// as many images as there are features now. The run's figures, if any.
    pub fn finish_figures(dir: &RunDir, card: &ModelCard) -> Result<Option<Fidelity>, RunError> {
        let Some(merged) = dir.read_manifest()? else {
            return Ok(None);
        };
        let Some(graph) = merged.inception.clone() else {
            return Ok(None);
        };
        if merged.state != RunState::Complete {
            return Ok(merged.fidelity);
        }
        let count = |kind: &str| {
            merged
                .stems
                .iter()
                .filter(|s| {
                    features_dir(&dir.root, &graph, kind)
                        .join(format!("{s}.npy"))
                        .is_file()
                })
                .count()
        };
        let (real, synthesized) = (count(REAL), count(SYNTHESIZED));
        if let Some(f) = &merged.fidelity {
            if f.inception == graph && f.real_images == real && f.synthesized_images == synthesized
            {
                return Ok(merged.fidelity);
            }
        }
        let fidelity =
            super::fid::fidelity(&dir.root, &merged.stems, &graph).map_err(RunError::Fidelity)?;
        dir.locked(|| {
            let records = dir.read_records()?;
            write_merged(
                dir,
                &records,
                &merged.stems,
                &merged,
                card,
                fidelity.clone(),
                Pages::All,
            )
        })?;
        Ok(fidelity)
    }

    /// This shard: which part of the run it makes.
    pub fn shard(&self) -> Shard {
        self.shard
    }
}

/// Merges `records` into `run.json` and writes the gallery pages; call it
/// holding the run's lock.
fn write_merged(
    dir: &RunDir,
    records: &[Manifest],
    stems: &[String],
    first: &Manifest,
    card: &ModelCard,
    fidelity: Option<Fidelity>,
    pages: Pages,
) -> Result<Manifest, RunError> {
    let mut merged = merge(records, stems, first);
    merged.scores = merged.score(card.classes.len());
    if fidelity.is_some() {
        merged.fidelity = fidelity;
    }
    let path = dir.manifest_path();
    write_atomic(&path, &to_json(&merged, &path)?)?;
    super::pages::write_gallery(dir, &merged, card, pages)?;
    Ok(merged)
}

fn to_json(manifest: &Manifest, path: &Path) -> Result<Vec<u8>, RunError> {
    serde_json::to_vec_pretty(manifest).map_err(|e| RunError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}
