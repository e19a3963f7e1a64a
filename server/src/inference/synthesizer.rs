//! The one way a request becomes an image, for every caller (the HTTP
//! handlers, batch runs, `easel generate`): prepared off the async
//! executor, queued on the model's worker, awaited as long as the caller
//! waits, and rendered, with what made it (its recipe) and where its time
//! went. Nothing else calls the pipeline's steps in order.

use std::time::Duration;

use super::deadline::answer_within;
use super::error::SynthesisError;
use super::pipeline::{self, Finish, Prepared};
use super::queue::{ModelWorker, Reply};
use super::request::{Compute, Limits, SynthesisRequest};
use super::runtime::Output;
use crate::package::maps::LabelMap;
use crate::package::{short_digest, ModelCard};

/// How long a caller waits for its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// A painter or an API client: refused at once when the model's queue
    /// is full or would not reach the request within the limit, and given
    /// up after it.
    Within(Duration),
    /// A batch run or `easel generate`: waits for room in the queue and for
    /// the image, however long they take.
    Unbounded,
}

/// Makes images with one model. Cheap to clone.
#[derive(Clone)]
pub struct Synthesizer {
    worker: ModelWorker,
    limits: Limits,
    patience: Patience,
}

/// An image and how it was made.
#[derive(Debug, Clone)]
pub struct Synthesized {
    /// The generator's output, (1, 3, H, W) in [-1, 1], at the size it was
    /// made at.
    pub output: Output,
    /// The image, finished as the request asked (scaled back to the map's
    /// own size for size `input`).
    pub image: image::RgbImage,
    /// The map as the model got it.
    pub label: LabelMap,
    pub finish: Finish,
    pub recipe: Recipe,
    pub timings: Timings,
}

/// What made an image, so that it can be made again (the API's `x-easel-*`
/// headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub model: String,
    /// The package digest's first hex digits.
    pub package: String,
    /// The style as `prepare` resolved it (`seed:3`, `preset:noon+seed:2`…).
    pub style: String,
    pub compute: Compute,
}

/// Where an image's time went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    pub queue: Duration,
    pub inference: Duration,
    /// How many images its generator call made.
    pub batch_size: usize,
}

impl Synthesizer {
    pub fn new(worker: ModelWorker, limits: Limits, patience: Patience) -> Self {
        Self {
            worker,
            limits,
            patience,
        }
    }

    pub fn card(&self) -> &ModelCard {
        self.worker.card()
    }

    pub fn worker(&self) -> &ModelWorker {
        &self.worker
    }

    /// `request` checked against the model: what the model would get, and
    /// how its image would be finished. Decodes images: call it off async
    /// executors.
    pub fn prepare(&self, request: &SynthesisRequest) -> Result<Prepared, SynthesisError> {
        pipeline::prepare(
            self.worker.card(),
            request,
            self.limits,
            self.worker.execution().compute,
        )
    }

    /// The image for `request`. The request's tracing span goes with it
    /// into the model's queue.
    pub async fn synthesize(
        &self,
        request: SynthesisRequest,
    ) -> Result<Synthesized, SynthesisError> {
        let this = self.clone();
        let prepared = off_executor(move || this.prepare(&request)).await?;
        let Prepared {
            work,
            finish,
            compute,
            style,
        } = prepared;
        let label = work.label.clone();
        let reply = self.submit(work).await?;
        let done = answer_within(
            reply,
            self.patience.limit(),
            "image",
            &self.worker.card().name,
        )
        .await??;
        let output = done.image;
        let (image, output) = off_executor(move || {
            let image = pipeline::render(&output, &finish)?;
            Ok((image, output))
        })
        .await?;
        Ok(Synthesized {
            output,
            image,
            label,
            finish,
            recipe: Recipe {
                model: self.worker.card().name.clone(),
                package: short_digest(self.worker.package_digest()).to_string(),
                style,
                compute,
            },
            timings: Timings {
                queue: done.queue_time,
                inference: done.inference_time,
                batch_size: done.batch_size,
            },
        })
    }

    /// Queues `work`: at once or not at all within a limit, else waiting
    /// (off the executor) for room.
    async fn submit(&self, work: pipeline::Work) -> Result<Reply, SynthesisError> {
        match self.patience {
            Patience::Within(_) => Ok(self.worker.submit(work)?),
            Patience::Unbounded => {
                let worker = self.worker.clone();
                let span = tracing::Span::current();
                off_executor(move || Ok(span.in_scope(|| worker.submit_waiting(work))?)).await
            }
        }
    }
}

impl Patience {
    fn limit(self) -> Option<Duration> {
        match self {
            Patience::Within(limit) => Some(limit),
            Patience::Unbounded => None,
        }
    }
}

/// Runs blocking work (decoding, rendering) on tokio's blocking threads, in
/// the caller's span.
async fn off_executor<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SynthesisError> + Send + 'static,
) -> Result<T, SynthesisError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| SynthesisError::Task(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::inference::deadline::Late;
    use crate::inference::pipeline::{SizeMode, StyleSpec, Work};
    use crate::inference::queue::{Generator, QueueError, WorkerConfig};

    /// Paints each class as a red level; with a gate, each batch waits
    /// until the test lets it through.
    struct Painter {
        card: ModelCard,
        gate: Option<Arc<Mutex<mpsc::Receiver<()>>>>,
        /// Hears when a batch starts.
        started: Option<mpsc::Sender<()>>,
    }

    impl Generator for Painter {
        fn card(&self) -> &ModelCard {
            &self.card
        }
        fn generate(&mut self, works: &[Work]) -> Result<Vec<Output>, SynthesisError> {
            if let Some(started) = &self.started {
                let _ = started.send(());
            }
            if let Some(gate) = &self.gate {
                let _ = gate.lock().unwrap().recv();
            }
            Ok(works
                .iter()
                .map(|w| {
                    let (width, height) = w.size();
                    let mut data = vec![-1.0; 3 * width * height];
                    for (i, &c) in w.label.labels().iter().enumerate() {
                        data[i] = c as f32 - 1.0;
                    }
                    Output {
                        shape: vec![1, 3, height, width],
                        data,
                    }
                })
                .collect())
        }
    }

    fn card() -> ModelCard {
        serde_json::from_str(include_str!("../../tests/fixtures/fake_card.json")).unwrap()
    }

    /// A synthesizer over the painter; `gate` holds each batch until a
    /// message comes.
    fn synthesizer(
        patience: Patience,
        max_queue: usize,
        gate: Option<mpsc::Receiver<()>>,
    ) -> Synthesizer {
        synthesizer_telling(patience, max_queue, gate, None)
    }

    fn synthesizer_telling(
        patience: Patience,
        max_queue: usize,
        gate: Option<mpsc::Receiver<()>>,
        started: Option<mpsc::Sender<()>>,
    ) -> Synthesizer {
        let painter = Painter {
            card: card(),
            gate: gate.map(|g| Arc::new(Mutex::new(g))),
            started,
        };
        let config = WorkerConfig {
            max_batch: 1,
            max_queue,
            pad_batches: false,
            shed_after: None,
        };
        let (worker, _) = ModelWorker::spawn(painter, config, Arc::new(|_, _, _| {})).unwrap();
        let limits = Limits {
            max_pixels: 1 << 20,
        };
        Synthesizer::new(worker, limits, patience)
    }

    fn map(width: u32, height: u32) -> SynthesisRequest {
        let img = image::GrayImage::from_fn(width, height, |x, _| {
            image::Luma([(x >= width / 2) as u8 * 2])
        });
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        SynthesisRequest {
            label: png.into_inner().into(),
            ..SynthesisRequest::default()
        }
    }

    #[tokio::test]
    async fn an_image_comes_with_its_recipe_and_the_map_the_model_got() {
        let s = synthesizer(Patience::Unbounded, 4, None);
        // 50×40 is not a multiple of 32: made at the native 64×64, scaled back.
        let made = s.synthesize(map(50, 40)).await.unwrap();
        assert_eq!(made.image.dimensions(), (50, 40));
        assert_eq!(made.output.shape, vec![1, 3, 64, 64]);
        assert_eq!((made.label.width(), made.label.height()), (64, 64));
        assert_eq!(made.finish.source, (50, 40));
        assert_eq!(made.image.get_pixel(0, 20)[0], 0, "class 0 paints red -1");
        assert_eq!(made.image.get_pixel(49, 20)[0], 255, "class 2 paints red 1");
        assert_eq!(made.recipe.model, "fake");
        assert_eq!(made.recipe.style, "none", "the fake takes no z");
        assert_eq!(made.recipe.package.len(), 12);
        assert_eq!(made.timings.batch_size, 1);
        let mut native = map(50, 40);
        native.size = SizeMode::Native;
        let made = s.synthesize(native).await.unwrap();
        assert_eq!(made.image.dimensions(), (64, 64));
    }

    #[tokio::test]
    async fn what_the_model_cannot_take_is_the_requests_fault() {
        let s = synthesizer(Patience::Unbounded, 4, None);
        let mut styled = map(64, 64);
        styled.style = StyleSpec::Seed(3);
        let e = s.synthesize(styled).await.unwrap_err();
        assert!(matches!(e, SynthesisError::NoStyle(_)), "{e}");
        assert!(e.is_the_requests());
        let mut broken = map(64, 64);
        broken.label = bytes::Bytes::from_static(b"not a png");
        assert!(s.synthesize(broken).await.unwrap_err().is_the_requests());
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_with_a_limit_gives_up_after_it() {
        let (open, gate) = mpsc::channel();
        let s = synthesizer(Patience::Within(Duration::from_secs(5)), 4, Some(gate));
        let e = s.synthesize(map(64, 64)).await.unwrap_err();
        assert!(
            matches!(
                e,
                SynthesisError::Late(Late::TimedOut { what: "image", limit })
                    if limit == Duration::from_secs(5)
            ),
            "{e}"
        );
        assert!(!e.is_the_requests());
        open.send(()).unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_refuses_a_caller_with_a_limit_and_holds_one_without() {
        let (open, gate) = mpsc::channel();
        let (tell, started) = mpsc::channel();
        let limit = Patience::Within(Duration::from_secs(60));
        let hurried = synthesizer_telling(limit, 1, Some(gate), Some(tell));
        let patient = Synthesizer::new(
            hurried.worker().clone(),
            hurried.limits,
            Patience::Unbounded,
        );
        let make = |s: &Synthesizer| {
            let s = s.clone();
            tokio::spawn(async move { s.synthesize(map(64, 64)).await })
        };
        let waiting = || {
            hurried
                .worker()
                .stats
                .waiting
                .load(std::sync::atomic::Ordering::SeqCst)
        };
        // One batch running (held at the gate), one waiting: the queue of
        // one is full.
        let first = make(&patient);
        while started.try_recv().is_err() {
            tokio::task::yield_now().await;
        }
        let second = make(&patient);
        while waiting() < 1 {
            tokio::task::yield_now().await;
        }
        let e = hurried.synthesize(map(64, 64)).await.unwrap_err();
        assert!(
            matches!(e, SynthesisError::Queue(QueueError::Full { .. })),
            "{e}"
        );
        let third = make(&patient);
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        for made in [first, second, third] {
            assert!(
                made.await.unwrap().is_ok(),
                "the patient callers get their images"
            );
        }
    }
}
