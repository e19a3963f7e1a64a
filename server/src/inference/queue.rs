//! One OS thread per model owns its session and is fed through a bounded
//! queue. The thread batches waiting requests of the same size, drops those
//! whose client has gone, and answers each through its own oneshot channel.
//! Nothing here knows about HTTP.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

pub use super::error::QueueError;
pub use super::generator::Generator;
use crate::inference::compute::Execution;
use crate::inference::pipeline::{SynthesisError, Work};
use crate::inference::runtime::Output;
use crate::inference::segment::SegmenterWorker;
use crate::package::{Example, ModelCard, Thumbnail};

/// Where the answer to one queued work arrives.
pub type Reply = oneshot::Receiver<Result<Done, QueueError>>;

/// The answer to one request, with where its time went.
#[derive(Debug)]
pub struct Done {
    pub image: Output,
    pub queue_time: Duration,
    pub inference_time: Duration,
    pub batch_size: usize,
}

struct Request {
    work: Work,
    reply: oneshot::Sender<Result<Done, QueueError>>,
    enqueued: Instant,
    /// The caller's span (an HTTP request's carries its id), so that what
    /// the model's thread logs about this work names the request.
    span: tracing::Span,
}

/// Counts for metrics, shared with the HTTP layer.
#[derive(Debug, Default)]
pub struct QueueStats {
    pub waiting: AtomicUsize,
    pub dropped_disconnected: AtomicUsize,
    /// Recent inference time per image (moving average), in µs; 0 until
    /// the first batch.
    pub per_image_us: std::sync::atomic::AtomicU64,
}

/// Observes each batch run (for metrics), from the worker thread.
pub type BatchObserver = Arc<dyn Fn(&str, usize, Duration) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    pub max_batch: usize,
    pub max_queue: usize,
    /// Run batches at a few fixed sizes (powers of two up to max_batch),
    /// filling the rest with copies: on a GPU each new batch size costs an
    /// algorithm search, so only the sizes warmed up at start are used.
    pub pad_batches: bool,
    /// Refuse at once (503) a request that would wait longer than this
    /// (estimated from the queue and recent inference times), rather than
    /// queue it to time out.
    pub shed_after: Option<Duration>,
}

/// The handle callers hold: cheap to clone, sends work to the model's thread.
#[derive(Clone)]
pub struct ModelWorker {
    card: Arc<ModelCard>,
    examples: Arc<Vec<Example>>,
    thumbnails: Arc<Vec<Thumbnail>>,
    /// The generator's `package_digest`.
    package_digest: Arc<str>,
    execution: Arc<Execution>,
    /// The thread that runs its segmenter, when it has one.
    segmenter: Option<SegmenterWorker>,
    sender: SyncSender<Request>,
    capacity: usize,
    shed_after: Option<Duration>,
    pub stats: Arc<QueueStats>,
}

impl ModelWorker {
    /// Starts the thread that owns `generator`.
    pub fn spawn(
        mut generator: impl Generator,
        config: WorkerConfig,
        observer: BatchObserver,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let card = Arc::new(generator.card().clone());
        let examples = Arc::new(generator.examples());
        let thumbnails = Arc::new(generator.thumbnails());
        let package_digest: Arc<str> = generator.package_digest()?.into();
        let execution = Arc::new(generator.execution());
        let segmenter = match generator.take_segmenter() {
            Some(s) => Some(SegmenterWorker::spawn(s, &card.name, config.max_queue)?.0),
            None => None,
        };
        let (sender, receiver) = mpsc::sync_channel(config.max_queue.max(1));
        let stats = Arc::new(QueueStats::default());
        let thread_stats = stats.clone();
        let name = card.name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("model-{name}"))
            .spawn(move || run(generator, receiver, config, thread_stats, observer))?;
        Ok((
            Self {
                card,
                examples,
                thumbnails,
                package_digest,
                execution,
                segmenter,
                sender,
                capacity: config.max_queue.max(1),
                shed_after: config.shed_after,
                stats,
            },
            handle,
        ))
    }

    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    pub fn thumbnails(&self) -> &[Thumbnail] {
        &self.thumbnails
    }

    /// SHA-256 (hex) of what decides this model's images (its package).
    pub fn package_digest(&self) -> &str {
        &self.package_digest
    }

    /// Where and in what arithmetic the model runs.
    pub fn execution(&self) -> &Execution {
        &self.execution
    }

    /// Where photos become maps of this model's classes, when it has a segmenter.
    pub fn segmenter(&self) -> Option<&SegmenterWorker> {
        self.segmenter.as_ref()
    }

    /// Queues `work`, waiting for room when the queue is full (for batch
    /// runs, from a blocking thread).
    pub(in crate::inference) fn submit_waiting(&self, work: Work) -> Result<Reply, QueueError> {
        self.enqueue(work, |sender, request| {
            sender
                .send(request)
                .map_err(|_| QueueError::Closed(self.card.name.clone()))
        })
    }

    /// Queues `work`; fails at once when the queue is full.
    pub(in crate::inference) fn submit(&self, work: Work) -> Result<Reply, QueueError> {
        if let Some(limit) = self.shed_after {
            let per_image = self.stats.per_image_us.load(Ordering::Relaxed);
            let ahead = self.stats.waiting.load(Ordering::Relaxed) as u64 + 1;
            let wait = Duration::from_micros(per_image.saturating_mul(ahead));
            if per_image > 0 && wait > limit {
                return Err(QueueError::Busy {
                    model: self.card.name.clone(),
                    wait_ms: wait.as_millis() as u64,
                    limit_ms: limit.as_millis() as u64,
                });
            }
        }
        self.enqueue(work, |sender, request| {
            sender.try_send(request).map_err(|e| match e {
                TrySendError::Full(_) => QueueError::Full {
                    model: self.card.name.clone(),
                    capacity: self.capacity,
                },
                TrySendError::Disconnected(_) => QueueError::Closed(self.card.name.clone()),
            })
        })
    }

    /// Counts `work` as waiting and hands it to `send`; uncounts it when
    /// the send fails.
    fn enqueue(
        &self,
        work: Work,
        send: impl FnOnce(&SyncSender<Request>, Request) -> Result<(), QueueError>,
    ) -> Result<Reply, QueueError> {
        let (reply, receiver) = oneshot::channel();
        let request = Request {
            work,
            reply,
            enqueued: Instant::now(),
            span: tracing::Span::current(),
        };
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        send(&self.sender, request).inspect_err(|_| {
            self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
        })?;
        Ok(receiver)
    }
}

fn same_size(a: &Work, b: &Work) -> bool {
    a.size() == b.size()
}

/// The worker loop: until every sender is gone and the queue is drained.
fn run(
    mut generator: impl Generator,
    receiver: Receiver<Request>,
    config: WorkerConfig,
    stats: Arc<QueueStats>,
    observer: BatchObserver,
) {
    let model = generator.card().name.clone();
    // Requests taken off the channel that did not fit the last batch's size.
    let mut held: VecDeque<Request> = VecDeque::new();
    loop {
        let first = match held.pop_front() {
            Some(r) => r,
            // Woken by the channel: by work, or by the last sender going.
            None => match receiver.recv() {
                Ok(r) => r,
                Err(_) => break,
            },
        };
        let mut batch = vec![first];
        let mut kept = VecDeque::new();
        while let Some(r) = held.pop_front() {
            if batch.len() < config.max_batch && same_size(&r.work, &batch[0].work) {
                batch.push(r);
            } else {
                kept.push_back(r);
            }
        }
        while batch.len() < config.max_batch {
            match receiver.try_recv() {
                Ok(r) if same_size(&r.work, &batch[0].work) => batch.push(r),
                Ok(r) => kept.push_back(r),
                Err(_) => break,
            }
        }
        held = kept;
        stats.waiting.fetch_sub(batch.len(), Ordering::Relaxed);
        // A client that has gone does not get an image.
        let before = batch.len();
        batch.retain(|r| !r.reply.is_closed());
        stats
            .dropped_disconnected
            .fetch_add(before - batch.len(), Ordering::Relaxed);
        if batch.is_empty() {
            continue;
        }
        let (mut works, replies): (Vec<Work>, Vec<_>) = batch
            .into_iter()
            .map(|r| (r.work, (r.reply, r.enqueued, r.span)))
            .unzip();
        let size = works.len();
        let run_size = if config.pad_batches {
            crate::inference::device::padded_batch(size, config.max_batch)
        } else {
            size
        };
        if let Some(last) = works.last().cloned() {
            works.resize(run_size, last);
        }
        let started = Instant::now();
        let result = generator.generate(&works);
        let inference_time = started.elapsed();
        observer(&model, size, inference_time);
        let now = inference_time.as_micros() as u64 / run_size.max(1) as u64;
        let before = stats.per_image_us.load(Ordering::Relaxed);
        let average = if before == 0 {
            now
        } else {
            (4 * before + now) / 5
        };
        stats.per_image_us.store(average, Ordering::Relaxed);
        let result = match result {
            Ok(mut images) if images.len() == run_size => {
                images.truncate(size);
                Ok(images)
            }
            Ok(images) => Err(SynthesisError::BadOutput(format!(
                "{} images for a batch of {run_size}",
                images.len()
            ))),
            Err(e) => Err(e),
        };
        match result {
            Ok(images) => {
                for ((reply, enqueued, _), image) in replies.into_iter().zip(images) {
                    let _ = reply.send(Ok(Done {
                        image,
                        queue_time: started - enqueued,
                        inference_time,
                        batch_size: size,
                    }));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for (reply, _, span) in replies {
                    span.in_scope(
                        || tracing::debug!(model, batch = size, error = %e, "inference failed"),
                    );
                    let _ = reply.send(Err(QueueError::Failed(e.clone())));
                }
            }
        }
    }
    tracing::info!(model, "model worker stopped");
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, Sender};

    use super::*;
    use crate::inference::pipeline::StyleInput;
    use crate::package::maps::LabelMap;
    use crate::package::ModelCard;

    /// (width, batch size) of every batch run.
    type Runs = std::sync::Arc<std::sync::Mutex<Vec<(usize, usize)>>>;

    /// A fake model that runs each batch only when its test lets it: it says
    /// when a batch has started, waits at the gate, then takes `latency`
    /// (simulated inference time, which the worker learns from).
    struct Gated {
        card: ModelCard,
        latency: Duration,
        sizes: Runs,
        started: Sender<()>,
        gate: Receiver<()>,
    }

    impl Generator for Gated {
        fn card(&self) -> &ModelCard {
            &self.card
        }
        fn generate(&mut self, works: &[Work]) -> Result<Vec<Output>, SynthesisError> {
            let _ = self.started.send(());
            // A closed gate (the test dropped its end) lets every batch through.
            let _ = self.gate.recv();
            std::thread::sleep(self.latency);
            let (w, h) = works[0].size();
            self.sizes.lock().unwrap().push((w, works.len()));
            Ok(works
                .iter()
                .map(|_| Output {
                    shape: vec![1, 3, h, w],
                    data: vec![0.0; 3 * h * w],
                })
                .collect())
        }
    }

    /// A worker over a `Gated` model, with the test's ends of its signals.
    struct Model {
        worker: ModelWorker,
        sizes: Runs,
        started: Receiver<()>,
        /// Each message lets one batch run; dropped, it lets them all run.
        gate: Sender<()>,
    }

    impl Model {
        /// Returns once the model has taken a batch off the queue and is
        /// running it (held at the gate).
        fn wait_until_running(&self) {
            self.started.recv().unwrap();
        }
    }

    fn card() -> ModelCard {
        let json = include_str!("../../tests/fixtures/fake_card.json");
        serde_json::from_str(json).unwrap()
    }

    fn job(card: &ModelCard, width: usize) -> Work {
        Work {
            label: LabelMap::new(width, 32, vec![0; width * 32], card).unwrap(),
            edges: None,
            position: None,
            style: StyleInput::None,
            regions: Vec::new(),
        }
    }

    fn spawn() -> Model {
        spawn_with(false)
    }

    fn spawn_with(pad_batches: bool) -> Model {
        spawn_shedding(Duration::ZERO, pad_batches, None)
    }

    fn spawn_shedding(latency: Duration, pad_batches: bool, shed_after: Option<Duration>) -> Model {
        let sizes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (started, started_rx) = mpsc::channel();
        let (gate, gate_rx) = mpsc::channel();
        let gated = Gated {
            card: card(),
            latency,
            sizes: sizes.clone(),
            started,
            gate: gate_rx,
        };
        let observer: BatchObserver = Arc::new(|_, _, _| {});
        let (worker, _) = ModelWorker::spawn(
            gated,
            WorkerConfig {
                max_batch: 8,
                max_queue: 16,
                pad_batches,
                shed_after,
            },
            observer,
        )
        .unwrap();
        Model {
            worker,
            sizes,
            started: started_rx,
            gate,
        }
    }

    #[test]
    fn requests_whose_client_has_gone_are_dropped_before_inference() {
        let model = spawn();
        let (worker, card) = (&model.worker, card());
        let first = worker.submit(job(&card, 32)).unwrap();
        model.wait_until_running();
        // Queued while the first runs; their clients give up.
        drop(worker.submit(job(&card, 32)).unwrap());
        drop(worker.submit(job(&card, 32)).unwrap());
        let kept = worker.submit(job(&card, 32)).unwrap();
        drop(model.gate);
        assert!(first.blocking_recv().unwrap().is_ok());
        let done = kept.blocking_recv().unwrap().unwrap();
        assert_eq!(done.batch_size, 1, "only the request still wanted ran");
        assert_eq!(worker.stats.dropped_disconnected.load(Ordering::Relaxed), 2);
        let sizes = model.sizes.lock().unwrap();
        assert_eq!(sizes.iter().map(|s| s.1).sum::<usize>(), 2);
    }

    #[test]
    fn batches_hold_one_size_and_other_sizes_wait_their_turn() {
        let model = spawn();
        let (worker, card) = (&model.worker, card());
        let first = worker.submit(job(&card, 32)).unwrap();
        model.wait_until_running();
        let waiting: Vec<_> = [64, 32, 64, 32]
            .iter()
            .map(|&w| worker.submit(job(&card, w)).unwrap())
            .collect();
        drop(model.gate);
        assert!(first.blocking_recv().unwrap().is_ok());
        for r in waiting {
            let done = r.blocking_recv().unwrap().unwrap();
            assert_eq!(done.batch_size, 2);
        }
        let sizes = model.sizes.lock().unwrap().clone();
        assert_eq!(
            sizes,
            vec![(32, 1), (64, 2), (32, 2)],
            "first the oldest request's size, then the rest"
        );
    }

    #[test]
    fn padded_batches_run_at_fixed_sizes_and_answer_only_the_real_requests() {
        let model = spawn_with(true);
        let (worker, card) = (&model.worker, card());
        let first = worker.submit(job(&card, 32)).unwrap();
        model.wait_until_running();
        let waiting: Vec<_> = (0..3)
            .map(|_| worker.submit(job(&card, 32)).unwrap())
            .collect();
        drop(model.gate);
        assert!(first.blocking_recv().unwrap().is_ok());
        for r in waiting {
            let done = r.blocking_recv().unwrap().unwrap();
            assert_eq!(done.batch_size, 3, "the real requests in the batch");
        }
        let sizes: Vec<usize> = model.sizes.lock().unwrap().iter().map(|s| s.1).collect();
        assert_eq!(sizes, vec![1, 4], "three requests run as a batch of four");
    }

    #[test]
    fn a_request_that_would_outwait_the_timeout_is_refused_at_once() {
        let latency = Duration::from_millis(60);
        let model = spawn_shedding(latency, false, Some(Duration::from_millis(150)));
        let (worker, card) = (&model.worker, card());
        // The first batch teaches the worker its time per image (~60 ms).
        let first = worker.submit(job(&card, 32)).unwrap();
        model.wait_until_running();
        model.gate.send(()).unwrap();
        assert!(first.blocking_recv().unwrap().is_ok());
        // The next is held running, so the six queue behind it.
        let _running = worker.submit(job(&card, 32)).unwrap();
        model.wait_until_running();
        let answers: Vec<_> = (0..6).map(|_| worker.submit(job(&card, 32))).collect();
        drop(model.gate);
        let busy = answers
            .iter()
            .filter(|a| matches!(a, Err(QueueError::Busy { .. })))
            .count();
        assert!(
            busy >= 3,
            "six at once behind 60 ms each: most would wait past 150 ms ({busy} refused)"
        );
        let Err(e) = answers.into_iter().find(|a| a.is_err()).unwrap() else {
            unreachable!()
        };
        assert!(e.to_string().contains("--request-timeout-ms"), "{e}");
    }
}
