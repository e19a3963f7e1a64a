//! A test run being made: pairs the files, turns each sample into a
//! synthesis request for the pipeline, hands the work to the model's queue
//! (which batches it) and writes the results. Every file is written to a
//! temporary name and renamed, and a sample counts as done only once its
//! synthesized image exists, so a run killed at any point resumes where it
//! stopped and never leaves half-written files.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use bytes::Bytes;

use super::manifest::*;
use crate::dataset::pairing::Sample;
use crate::inference::pipeline::{
    self, Finish, Limits, SizeMode, StyleSpec, SynthesisRequest, Work,
};
use crate::inference::queue::{ModelWorker, QueueError, Reply};
use crate::inference::request::Compute;
use crate::inference::runtime::Output;
use crate::package::maps::{LabelEncoding, LabelMap};
use crate::package::ModelCard;

/// A run being made: its folders, samples and manifest.
pub struct Run {
    pub dir: RunDir,
    pub samples: Vec<Sample>,
    pub manifest: Manifest,
    pub card: ModelCard,
    pub max_pixels: u64,
    /// Temporary files of a killed earlier attempt that were removed.
    pub cleaned: usize,
    /// When the manifest and pages were last written.
    saved: Option<std::time::Instant>,
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
}

impl Run {
    /// Pairs the files and creates the run, or resumes the one on disk.
    pub fn open(spec: &RunSpec, card: &ModelCard) -> Result<Self, RunError> {
        let dir = RunDir::new(spec.results, spec.name, spec.epoch)?;
        let mut samples = crate::dataset::pairing::pair_samples(
            spec.label_dir,
            spec.image_dir,
            spec.instance_dir,
        )?;
        if let Some(n) = spec.how_many {
            samples.truncate(n);
        }
        for kind in [INPUT_LABEL, SYNTHESIZED, REAL] {
            let d = dir.root.join("images").join(kind);
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let cleaned = dir.clean_partial();
        let stems: Vec<String> = samples.iter().map(|s| s.stem.clone()).collect();
        let display = |p: Option<&Path>| p.map(|p| p.display().to_string());
        let manifest = match dir.read_manifest()? {
            Some(m) if m.model != card.name => {
                return Err(RunError::OtherModel {
                    name: spec.name.to_string(),
                    was: m.model,
                    now: card.name.clone(),
                    dir: dir.root.display().to_string(),
                })
            }
            Some(mut m) => {
                // Done means the synthesized image is on disk; a record
                // without its image (or the reverse) is made again.
                m.done.retain(|stem, _| {
                    stems.contains(stem) && dir.image(SYNTHESIZED, stem).is_file()
                });
                m.failed.clear();
                m.stems = stems;
                m.state = RunState::Running;
                m.error = None;
                m.updated = now();
                m
            }
            None => Manifest {
                format: MANIFEST_FORMAT,
                name: spec.name.to_string(),
                epoch: spec.epoch.to_string(),
                model: card.name.clone(),
                label_dir: spec.label_dir.display().to_string(),
                image_dir: display(spec.image_dir),
                instance_dir: display(spec.instance_dir),
                stems,
                done: BTreeMap::new(),
                failed: BTreeMap::new(),
                state: RunState::Running,
                error: None,
                created: now(),
                updated: now(),
            },
        };
        let mut run = Self {
            dir,
            samples,
            manifest,
            card: card.clone(),
            max_pixels: spec.max_pixels,
            cleaned,
            saved: None,
        };
        run.save()?;
        Ok(run)
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
    ) -> Result<(SynthesisRequest, Option<image::RgbImage>), String> {
        let read = |p: &Path| {
            std::fs::read(p)
                .map(Bytes::from)
                .map_err(|e| format!("{}: {e}", p.display()))
        };
        let photo_bytes = sample.image.as_deref().map(read).transpose()?;
        let photo = match (&photo_bytes, &sample.image) {
            (Some(bytes), Some(path)) => Some(
                image::load_from_memory(bytes)
                    .map_err(|e| format!("{}: cannot read the photo: {e}", path.display()))?
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

    /// A sample checked by the pipeline: its work for a model that runs in
    /// `compute`, and what its files need once the image is made.
    pub fn prepare(&self, sample: &Sample, compute: Compute) -> Result<(Work, Made), String> {
        let (request, photo) = self.request(sample)?;
        let limits = Limits {
            max_pixels: self.max_pixels,
        };
        let prepared = pipeline::prepare(&self.card, &request, limits, compute)
            .map_err(|e| format!("{}: {e}", sample.label.display()))?;
        let made = Made {
            stem: sample.stem.clone(),
            label: prepared.work.label.clone(),
            finish: prepared.finish,
            photo,
        };
        Ok((prepared.work, made))
    }

    /// Writes a sample's images, the synthesized one last, and records it.
    fn finish(&mut self, made: Made, output: &Output) -> Result<(), RunError> {
        let stem = made.stem.as_str();
        let image = pipeline::render(output, &made.finish).map_err(|e| RunError::Io {
            path: stem.to_string(),
            reason: e.to_string(),
        })?;
        let (w, h) = image.dimensions();
        let png = |img: &image::RgbImage| -> Result<Vec<u8>, RunError> {
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Png)
                .map_err(|e| RunError::Io {
                    path: stem.to_string(),
                    reason: e.to_string(),
                })?;
            Ok(out.into_inner())
        };
        let colours = colour_label(&made.label, &self.card);
        write_atomic(&self.dir.image(INPUT_LABEL, stem), &png(&colours)?)?;
        let has_real = made.photo.is_some();
        if let Some(photo) = made.photo {
            let photo = if photo.dimensions() == (w, h) {
                photo
            } else {
                image::imageops::resize(&photo, w, h, image::imageops::FilterType::CatmullRom)
            };
            write_atomic(&self.dir.image(REAL, stem), &png(&photo)?)?;
        }
        write_atomic(&self.dir.image(SYNTHESIZED, stem), &png(&image)?)?;
        self.manifest.done.insert(
            stem.to_string(),
            SampleRecord {
                source: [made.finish.source.0, made.finish.source.1],
                size: [w as usize, h as usize],
                classes: present(&made.label, self.card.label_classes()),
                has_real,
            },
        );
        Ok(())
    }

    /// Writes the manifest and the gallery pages, at most once a second
    /// while the run goes on (always at its start and end). A sample's
    /// record can lag its image by that second: a run killed in between
    /// makes that image again on resume, since done means recorded and on
    /// disk.
    pub fn save(&mut self) -> Result<(), RunError> {
        let due = self.saved.is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0);
        if !due && self.manifest.state == RunState::Running {
            return Ok(());
        }
        let mut manifest = self.manifest.clone();
        manifest.updated = now();
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| RunError::Io {
            path: self.dir.manifest_path().display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir.manifest_path(), &json)?;
        super::pages::write_gallery(&self.dir, &manifest, &self.card)?;
        self.saved = Some(std::time::Instant::now());
        Ok(())
    }

    /// Makes every pending sample through the model's queue, keeping at most
    /// `in_flight` queued at a time (the queue batches them; the rest of the
    /// queue stays free for interactive requests). `progress` hears after
    /// each image. A sample that cannot be read is recorded as failed and the
    /// run goes on; an inference failure stops it. Blocks: call it from a
    /// thread that may block.
    pub fn execute(
        &mut self,
        worker: &ModelWorker,
        in_flight: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        progress(self.manifest.progress());
        let mut queued: VecDeque<(Made, Reply)> = VecDeque::new();
        for sample in self.pending() {
            match self.prepare(&sample, worker.execution().compute) {
                Ok((work, made)) => match worker.submit_waiting(work) {
                    Ok(reply) => queued.push_back((made, reply)),
                    Err(e) => return self.fail(e, progress),
                },
                Err(reason) => {
                    self.manifest.failed.insert(sample.stem.clone(), reason);
                }
            }
            while queued.len() >= in_flight.max(1) {
                self.complete(&mut queued, progress)?;
            }
        }
        while !queued.is_empty() {
            self.complete(&mut queued, progress)?;
        }
        self.manifest.state = RunState::Complete;
        self.save()?;
        progress(self.manifest.progress());
        Ok(())
    }

    /// Waits for the oldest queued sample and writes it.
    fn complete(
        &mut self,
        queued: &mut VecDeque<(Made, Reply)>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        let Some((made, reply)) = queued.pop_front() else {
            return Ok(());
        };
        let answer = reply
            .blocking_recv()
            .unwrap_or_else(|_| Err(QueueError::Closed(self.card.name.clone())));
        match answer {
            Ok(done) => {
                self.finish(made, &done.image)?;
                self.save()?;
                progress(self.manifest.progress());
                Ok(())
            }
            Err(e) => self.fail(e, progress),
        }
    }

    fn fail(&mut self, e: QueueError, progress: &mut dyn FnMut(Progress)) -> Result<(), RunError> {
        self.manifest.state = RunState::Failed;
        self.manifest.error = Some(e.to_string());
        self.save()?;
        progress(self.manifest.progress());
        Err(RunError::Inference(e))
    }
}

/// What a sample leaves for writing its files once its image is made.
pub struct Made {
    stem: String,
    /// The map as the model got it.
    label: LabelMap,
    finish: Finish,
    photo: Option<image::RgbImage>,
}

fn present(label: &LabelMap, values: usize) -> Vec<usize> {
    let mut seen = vec![false; values];
    for &v in label.labels() {
        if let Some(s) = seen.get_mut(v as usize) {
            *s = true;
        }
    }
    seen.iter()
        .enumerate()
        .filter(|(_, &s)| s)
        .map(|(i, _)| i)
        .collect()
}

/// The map in its classes' colours (the dontcare class in its own).
pub fn colour_label(label: &LabelMap, card: &ModelCard) -> image::RgbImage {
    let mut colours: Vec<[u8; 3]> = card.classes.iter().map(|c| c.rgb()).collect();
    if let Some(d) = &card.dontcare {
        colours.push(crate::package::classes::parse_hex(&d.color).unwrap_or([0, 0, 0]));
    }
    let (w, h) = (label.width(), label.height());
    let mut img = image::RgbImage::new(w as u32, h as u32);
    for (pixel, &v) in img.pixels_mut().zip(label.labels()) {
        *pixel = image::Rgb(colours.get(v as usize).copied().unwrap_or([0, 0, 0]));
    }
    img
}
