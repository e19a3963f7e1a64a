//! A test run on disk: `results/<name>/test_<epoch>/` with the images in
//! the reference's layout, a manifest, and the gallery pages. Every file is
//! written to a temporary name and renamed, and a sample counts as done only
//! once its synthesized image exists, so a run killed at any point resumes
//! where it stopped and never leaves half-written files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::pairing::Sample;
use crate::maps::{InstanceMap, LabelMap};
use crate::package::ModelCard;
use crate::runtime::Output;
use crate::synthesis::{self, Job, Style};

pub const MANIFEST_FILE: &str = "run.json";
const MANIFEST_FORMAT: u32 = 1;
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
    Pairing(#[from] super::pairing::PairingError),
    #[error("inference failed: {0}")]
    Inference(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RunError + '_ {
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
    fn clean_partial(&self) -> usize {
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

/// A run being made: its folders, samples and manifest.
pub struct Run {
    pub dir: RunDir,
    pub samples: Vec<Sample>,
    pub manifest: Manifest,
    pub card: ModelCard,
    pub max_pixels: u64,
    /// Temporary files of a killed earlier attempt that were removed.
    pub cleaned: usize,
    /// When the gallery pages were last written.
    rendered: Option<std::time::Instant>,
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
        let mut samples = super::pairing::pair(spec.label_dir, spec.image_dir, spec.instance_dir)?;
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
            rendered: None,
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

    /// The job for a sample: its map at a size the model takes (the native
    /// size when the map's own is not), its instance edges, and the style of
    /// its photo for models with an encoder (seed 0 otherwise).
    pub fn job(&self, sample: &Sample) -> Result<(Job, Prepared), String> {
        let card = &self.card;
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let label = LabelMap::from_png(&read(&sample.label)?, card, self.max_pixels)
            .map_err(|e| format!("{}: {e}", sample.label.display()))?;
        let source = [label.width(), label.height()];
        let instance = match &sample.instance {
            Some(p) => Some(
                InstanceMap::from_png(&read(p)?, self.max_pixels)
                    .map_err(|e| format!("{}: {e}", p.display()))?,
            ),
            None => None,
        };
        let photo = match &sample.image {
            Some(p) => Some(
                image::open(p)
                    .map_err(|e| format!("{}: cannot read the photo: {e}", p.display()))?
                    .to_rgb8(),
            ),
            None => None,
        };
        let fits = card.size_problem(label.height(), label.width()).is_none();
        let (label, instance) = if fits {
            (label, instance)
        } else {
            (label.resized(card.native.width, card.native.height), None)
        };
        let edges = match (card.uses_instances, &instance) {
            (false, _) => None,
            (true, Some(inst)) => Some(inst.edges(&label).map_err(|e| e.to_string())?),
            (true, None) => Some(label.class_edges()),
        };
        let style = match (&photo, card.has_encoder) {
            (Some(photo), true) => Style::from_image(photo, None),
            _ => Style::Seed(0),
        };
        synthesis::check_request(card, &label, card.z_dim.is_some().then_some(&style))
            .map_err(|e| e.to_string())?;
        let prepared = Prepared {
            source,
            photo,
            classes: present(&label, card.label_classes()),
        };
        Ok((
            Job {
                label,
                edges,
                style,
            },
            prepared,
        ))
    }

    /// Writes a sample's images, the synthesized one last, and records it.
    pub fn finish(
        &mut self,
        stem: &str,
        job: &Job,
        prepared: Prepared,
        output: &Output,
    ) -> Result<(), RunError> {
        let (h, w) = (output.shape[2], output.shape[3]);
        let png = |img: &image::RgbImage| -> Result<Vec<u8>, RunError> {
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Png)
                .map_err(|e| RunError::Io {
                    path: stem.to_string(),
                    reason: e.to_string(),
                })?;
            Ok(out.into_inner())
        };
        let colours = colour_label(&job.label, &self.card);
        write_atomic(&self.dir.image(INPUT_LABEL, stem), &png(&colours)?)?;
        let has_real = prepared.photo.is_some();
        if let Some(photo) = prepared.photo {
            let photo = if (photo.width() as usize, photo.height() as usize) == (w, h) {
                photo
            } else {
                image::imageops::resize(
                    &photo,
                    w as u32,
                    h as u32,
                    image::imageops::FilterType::CatmullRom,
                )
            };
            write_atomic(&self.dir.image(REAL, stem), &png(&photo)?)?;
        }
        let image = image::RgbImage::from_raw(w as u32, h as u32, synthesis::chw_to_rgb(output, 0))
            .ok_or_else(|| RunError::Inference("an image of the wrong size".into()))?;
        write_atomic(&self.dir.image(SYNTHESIZED, stem), &png(&image)?)?;
        self.manifest.done.insert(
            stem.to_string(),
            SampleRecord {
                source: prepared.source,
                size: [w, h],
                classes: prepared.classes,
                has_real,
            },
        );
        Ok(())
    }

    /// Writes the manifest, and the gallery pages at most once a second
    /// while the run goes on (always at its start and end).
    pub fn save(&mut self) -> Result<(), RunError> {
        let mut manifest = self.manifest.clone();
        manifest.updated = now();
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| RunError::Io {
            path: self.dir.manifest_path().display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir.manifest_path(), &json)?;
        let due = self
            .rendered
            .is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0);
        if due || manifest.state != RunState::Running {
            super::pages::write_gallery(&self.dir, &manifest, &self.card)?;
            self.rendered = Some(std::time::Instant::now());
        }
        Ok(())
    }

    /// Makes every pending sample, `batch` at a time, through `generate`;
    /// `progress` hears after each batch. A sample that cannot be read is
    /// recorded as failed and the run goes on; an inference failure stops it.
    pub fn execute(
        &mut self,
        batch: usize,
        generate: &mut dyn FnMut(Vec<Job>) -> Result<Vec<Output>, String>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        progress(self.manifest.progress());
        let pending = self.pending();
        let mut queue: Vec<(String, Job, Prepared)> = Vec::new();
        let mut iter = pending.into_iter().peekable();
        while iter.peek().is_some() || !queue.is_empty() {
            // Fill a batch with samples of one size (the first one's).
            while queue.len() < batch.max(1) {
                let Some(sample) = iter.peek() else { break };
                match self.job(sample) {
                    Ok((job, prepared)) => {
                        let size = (job.label.width(), job.label.height());
                        if queue
                            .first()
                            .is_some_and(|(_, j, _)| (j.label.width(), j.label.height()) != size)
                        {
                            break;
                        }
                        queue.push((sample.stem.clone(), job, prepared));
                    }
                    Err(reason) => {
                        self.manifest.failed.insert(sample.stem.clone(), reason);
                    }
                }
                iter.next();
            }
            if queue.is_empty() {
                continue;
            }
            let items: Vec<(String, Job, Prepared)> = std::mem::take(&mut queue);
            let jobs: Vec<Job> = items.iter().map(|(_, j, _)| j.clone()).collect();
            let outputs = match generate(jobs) {
                Ok(o) => o,
                Err(e) => {
                    self.manifest.state = RunState::Failed;
                    self.manifest.error = Some(e.clone());
                    self.save()?;
                    progress(self.manifest.progress());
                    return Err(RunError::Inference(e));
                }
            };
            for ((stem, job, prepared), output) in items.into_iter().zip(outputs.iter()) {
                self.finish(&stem, &job, prepared, output)?;
            }
            self.save()?;
            progress(self.manifest.progress());
        }
        self.manifest.state = RunState::Complete;
        self.save()?;
        progress(self.manifest.progress());
        Ok(())
    }
}

/// What a sample's job leaves for writing its files.
pub struct Prepared {
    source: [usize; 2],
    photo: Option<image::RgbImage>,
    classes: Vec<usize>,
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
        colours.push(crate::classes::parse_hex(&d.color).unwrap_or([0, 0, 0]));
    }
    let (w, h) = (label.width(), label.height());
    let mut img = image::RgbImage::new(w as u32, h as u32);
    for (pixel, &v) in img.pixels_mut().zip(label.labels()) {
        *pixel = image::Rgb(colours.get(v as usize).copied().unwrap_or([0, 0, 0]));
    }
    img
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
