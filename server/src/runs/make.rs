//! Making a run's samples: each one's files turned into a synthesis
//! request, made by the model's `Synthesizer` (through its queue, which
//! batches it) with a few in flight, and its images written, the
//! synthesized one last; and the scores and features of samples made
//! before the judge or the Inception graph came.

use std::collections::VecDeque;
use std::path::Path;

use bytes::Bytes;

use super::dir::{write_atomic, INPUT_LABEL, REAL, SYNTHESIZED};
use super::error::RunError;
use super::inception::Inception;
use super::kept::{has_all, keep_features};
use super::manifest::{Progress, RunState, SampleRecord};
use super::run::Run;
use super::scores::{Judge, Scored};
use crate::dataset::pairing::Sample;
use crate::inference::pipeline::{Limits, SizeMode, StyleSpec, SynthesisError, SynthesisRequest};
use crate::inference::queue::ModelWorker;
use crate::inference::synthesizer::{Patience, Synthesized, Synthesizer};
use crate::package::maps::{LabelEncoding, LabelMap};
use crate::package::ModelCard;

impl Run {
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
