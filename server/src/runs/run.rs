//! A test run being made: pairs the files, turns each sample into a
//! synthesis request, has the model's `Synthesizer` make it (through the
//! model's queue, which batches it) and writes the results. Every file is written to a
//! temporary name and renamed, and a sample counts as done only once its
//! synthesized image exists, so a run killed at any point resumes where it
//! stopped and never leaves half-written files.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use bytes::Bytes;

use super::fid::{features_dir, Fidelity, Inception};
use super::kept::{has_all, keep_features};
use super::manifest::*;
use super::pages::Pages;
use super::scores::{Judge, Scored};
use super::shard::Shard;
use crate::dataset::pairing::Sample;
use crate::inference::pipeline::{Limits, SizeMode, StyleSpec, SynthesisError, SynthesisRequest};
use crate::inference::queue::ModelWorker;
use crate::inference::synthesizer::{Patience, Synthesized, Synthesizer};
use crate::package::maps::{LabelEncoding, LabelMap};
use crate::package::ModelCard;

/// A run being made: its folders, samples and manifest.
pub struct Run {
    pub dir: RunDir,
    /// This shard's samples (every sample of an unsharded run).
    pub samples: Vec<Sample>,
    /// The whole run's maps, in order.
    all_stems: Vec<String>,
    shard: Shard,
    /// This shard's record.
    pub manifest: Manifest,
    pub card: ModelCard,
    pub max_pixels: u64,
    /// Temporary files of a killed earlier attempt that were removed.
    pub cleaned: usize,
    /// When the record and run.json were last written, and every page.
    saved: Option<std::time::Instant>,
    pages_saved: Option<std::time::Instant>,
    /// Scores each image made (`--evaluate`).
    judge: Option<Judge>,
    /// Keeps each image's Inception features (`--inception`).
    inception: Option<Inception>,
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
            scores: None,
            inception: newest(&records, |r| r.inception.clone()),
            fidelity: None,
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
        if self.manifest.segmenter.as_deref() != Some(judge.package.as_str()) {
            for record in self.manifest.done.values_mut() {
                record.agreement = None;
                record.real_agreement = None;
            }
        }
        self.manifest.segmenter = Some(judge.package.clone());
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

    /// Scores and features of the samples done before the judge or the
    /// Inception graph came (an earlier attempt without them), from their files.
    fn complete_done(&mut self, synthesizer: &Synthesizer) -> Result<(), RunError> {
        let (judge, mut inception) = (self.judge.take(), self.inception.take());
        let result = self.complete_done_with(judge.as_ref(), inception.as_mut(), synthesizer);
        (self.judge, self.inception) = (judge, inception);
        result
    }

    fn complete_done_with(
        &mut self,
        judge: Option<&Judge>,
        mut inception: Option<&mut Inception>,
        synthesizer: &Synthesizer,
    ) -> Result<(), RunError> {
        if judge.is_none() && inception.is_none() {
            return Ok(());
        }
        let missing: Vec<Sample> = {
            let graph = inception.as_deref().map(|i| i.name.as_str());
            let probe = has_all(&self.dir, judge.is_some(), graph);
            self.samples
                .iter()
                .filter(|s| {
                    self.manifest
                        .done
                        .get(&s.stem)
                        .is_some_and(|r| !probe(&s.stem, r))
                })
                .cloned()
                .collect()
        };
        for sample in missing {
            // The map as the model got it, without making the image again.
            // Its image is made; what cannot be read now is not scored.
            let request = match self.request(&sample) {
                Ok((request, _)) => request,
                Err(e) => {
                    tracing::warn!(stem = %sample.stem, "not scored: {e}");
                    continue;
                }
            };
            let label = match synthesizer.prepare(&request) {
                Ok(prepared) => prepared.work.label,
                Err(e) => {
                    let map = sample.label.display();
                    tracing::warn!(stem = %sample.stem, "not scored: {map}: {e}");
                    continue;
                }
            };
            let read = |kind: &str| -> Result<Option<image::RgbImage>, RunError> {
                let path = self.dir.image(kind, &sample.stem);
                if !path.is_file() {
                    return Ok(None);
                }
                image::open(&path)
                    .map(|i| Some(i.to_rgb8()))
                    .map_err(|e| RunError::Io {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
            };
            let (synthesized, real) = (read(SYNTHESIZED)?, read(REAL)?);
            if let Some(inception) = inception.as_deref_mut() {
                keep_features(
                    &self.dir,
                    inception,
                    &sample.stem,
                    synthesized.as_ref(),
                    real.as_ref(),
                )?;
            }
            if let Some(judge) = judge {
                let scored = Scored::of(judge, synthesized, real, &label).map_err(|source| {
                    RunError::Scoring {
                        stem: sample.stem.clone(),
                        source,
                    }
                })?;
                if let Some(record) = self.manifest.done.get_mut(&sample.stem) {
                    record.agreement = scored.generated;
                    record.real_agreement = scored.real;
                }
            }
            self.save()?;
        }
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

    /// The synthesis request for a sample, as the API would get it: the map
    /// and instance map at the size the model takes (`fit`: the map's own,
    /// else the native size), and for models with an encoder the style of
    /// its photo. The photo itself, when there is one, for the gallery.
    fn request(
        &self,
        sample: &Sample,
    ) -> Result<(SynthesisRequest, Option<image::RgbImage>), SampleError> {
        let read = |p: &Path| {
            std::fs::read(p)
                .map(Bytes::from)
                .map_err(|source| SampleError::Read {
                    path: p.display().to_string(),
                    source,
                })
        };
        let photo_bytes = sample.image.as_deref().map(read).transpose()?;
        let photo = match (&photo_bytes, &sample.image) {
            (Some(bytes), Some(path)) => Some(
                image::load_from_memory(bytes)
                    .map_err(|source| SampleError::Photo {
                        path: path.display().to_string(),
                        source,
                    })?
                    .to_rgb8(),
            ),
            _ => None,
        };
        let style = match photo_bytes {
            Some(image) if self.card.has_encoder => StyleSpec::Image {
                image,
                sample: None,
            },
            _ => StyleSpec::Default,
        };
        let request = SynthesisRequest {
            label: read(&sample.label)?,
            encoding: LabelEncoding::Index,
            instance: sample.instance.as_deref().map(read).transpose()?,
            style,
            size: SizeMode::Fit,
            ..SynthesisRequest::default()
        };
        Ok((request, photo))
    }

    /// Writes a sample's images, the synthesized one last, and records it.
    fn finish(
        &mut self,
        stem: &str,
        photo: Option<image::RgbImage>,
        made: Synthesized,
    ) -> Result<(), RunError> {
        let image = made.image;
        let (w, h) = image.dimensions();
        let png = |img: &image::RgbImage| -> Result<Vec<u8>, RunError> {
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Png)
                .map_err(|source| RunError::Encode {
                    stem: stem.to_string(),
                    source,
                })?;
            Ok(out.into_inner())
        };
        let colours = colour_label(&made.label, &self.card);
        write_atomic(&self.dir.image(INPUT_LABEL, stem), &png(&colours)?)?;
        let has_real = photo.is_some();
        let real = photo.map(|photo| {
            if photo.dimensions() == (w, h) {
                photo
            } else {
                image::imageops::resize(&photo, w, h, image::imageops::FilterType::CatmullRom)
            }
        });
        if let Some(photo) = &real {
            write_atomic(&self.dir.image(REAL, stem), &png(photo)?)?;
        }
        if let Some(inception) = self.inception.as_mut() {
            keep_features(&self.dir, inception, stem, Some(&image), real.as_ref())?;
        }
        write_atomic(&self.dir.image(SYNTHESIZED, stem), &png(&image)?)?;
        let scored = match &self.judge {
            Some(judge) => Scored::of(judge, Some(image), real, &made.label).map_err(|source| {
                RunError::Scoring {
                    stem: stem.to_string(),
                    source,
                }
            })?,
            None => Scored::default(),
        };
        self.manifest.done.insert(
            stem.to_string(),
            SampleRecord {
                source: [made.finish.source.0, made.finish.source.1],
                size: [w as usize, h as usize],
                classes: present(&made.label, self.card.label_classes()),
                has_real,
                agreement: scored.generated,
                real_agreement: scored.real,
            },
        );
        Ok(())
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

    /// Makes every pending sample through the model's queue, keeping at most
    /// `in_flight` queued at a time (the queue batches them; the rest of the
    /// queue stays free for interactive requests), on `runtime`. `progress`
    /// hears after each image. A sample the model cannot take (an
    /// unreadable file, a map of other classes) is recorded as failed and
    /// the run goes on; an inference failure stops it. Blocks: call it from
    /// a thread that may block, outside the runtime's own threads.
    pub fn execute(
        &mut self,
        worker: &ModelWorker,
        runtime: &tokio::runtime::Handle,
        in_flight: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        let limits = Limits {
            max_pixels: self.max_pixels,
        };
        let synthesizer = Synthesizer::new(worker.clone(), limits, Patience::Unbounded);
        progress(self.manifest.progress());
        self.complete_done(&synthesizer)?;
        let mut queued: VecDeque<Queued> = VecDeque::new();
        for sample in self.pending() {
            let making = match self.request(&sample) {
                Ok((request, photo)) => {
                    let synthesizer = synthesizer.clone();
                    let image = runtime.spawn(async move { synthesizer.synthesize(request).await });
                    Ok((image, photo))
                }
                Err(e) => Err(e),
            };
            queued.push_back(Queued { sample, making });
            while queued.len() >= in_flight.max(1) {
                self.complete(&mut queued, runtime, progress)?;
            }
        }
        while !queued.is_empty() {
            self.complete(&mut queued, runtime, progress)?;
        }
        self.manifest.state = RunState::Complete;
        self.save()?;
        progress(self.manifest.progress());
        Run::finish_figures(&self.dir, &self.card)?;
        Ok(())
    }

    /// Waits for the oldest queued sample and writes it, or records why it
    /// could not be made.
    fn complete(
        &mut self,
        queued: &mut VecDeque<Queued>,
        runtime: &tokio::runtime::Handle,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        let Some(Queued { sample, making }) = queued.pop_front() else {
            return Ok(());
        };
        let (image, photo) = match making {
            Ok(making) => making,
            Err(e) => {
                self.manifest
                    .failed
                    .insert(sample.stem.clone(), e.to_string());
                return Ok(());
            }
        };
        let made = runtime
            .block_on(image)
            .unwrap_or_else(|e| Err(SynthesisError::Task(e.to_string())));
        match made {
            Ok(made) => {
                self.finish(&sample.stem, photo, made)?;
                self.save()?;
                progress(self.manifest.progress());
                Ok(())
            }
            Err(e) if e.is_the_requests() => {
                let reason = format!("{}: {e}", sample.label.display());
                self.manifest.failed.insert(sample.stem.clone(), reason);
                Ok(())
            }
            Err(e) => self.fail(e, progress),
        }
    }

    fn fail(
        &mut self,
        e: SynthesisError,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        self.manifest.state = RunState::Failed;
        self.manifest.error = Some(e.to_string());
        self.save()?;
        progress(self.manifest.progress());
        Err(RunError::Inference(e))
    }
}

/// A sample on its way through the model: its image being made (and its
/// photo, for the gallery), or why its files could not be read.
struct Queued {
    sample: Sample,
    making: Result<(Making, Option<image::RgbImage>), SampleError>,
}

/// Why a sample's files cannot be read: it is recorded as failed and the
/// run goes on.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot read the photo: {source}")]
    Photo {
        path: String,
        #[source]
        source: image::ImageError,
    },
}

type Making = tokio::task::JoinHandle<Result<Synthesized, SynthesisError>>;

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

/// The label values `label` holds, in order.
fn present(label: &LabelMap, values: usize) -> Vec<usize> {
    let counts = label.histogram(values);
    (0..values).filter(|&v| counts[v] > 0).collect()
}

/// The map in its classes' colours (the dontcare class in its own).
pub fn colour_label(label: &LabelMap, card: &ModelCard) -> image::RgbImage {
    let colours: Vec<[u8; 3]> = (0..card.label_classes())
        .map(|v| crate::package::classes::parse_hex(&card.value_class(v).1).unwrap_or([0, 0, 0]))
        .collect();
    let (w, h) = (label.width(), label.height());
    let mut img = image::RgbImage::new(w as u32, h as u32);
    for (pixel, &v) in img.pixels_mut().zip(label.labels()) {
        *pixel = image::Rgb(colours.get(v as usize).copied().unwrap_or([0, 0, 0]));
    }
    img
}
