//! Prometheus metrics, all prefixed `easel_`: requests and failures by type,
//! queue sizes, batch sizes, and queue and inference durations. Each app owns
//! its recorder (not the process-global one), so apps started side by side in
//! one process, as the tests do, count apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
    with_local_recorder,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use super::cache::CacheStats;
use crate::inference::queue::QueueStats;

const REQUESTS: &str = "easel_requests_total";
const FAILURES: &str = "easel_failures_total";
const QUEUE_SIZE: &str = "easel_queue_size";
const DROPPED: &str = "easel_dropped_disconnected_total";
const BATCH_SIZE: &str = "easel_batch_size";
const QUEUE_SECONDS: &str = "easel_queue_seconds";
const INFERENCE_SECONDS: &str = "easel_inference_seconds";
const CACHE_HITS: &str = "easel_cache_hits_total";
const CACHE_MISSES: &str = "easel_cache_misses_total";
const CACHE_MERGED: &str = "easel_cache_merged_total";
const CACHE_EVICTIONS: &str = "easel_cache_evictions_total";
const CACHE_BYTES: &str = "easel_cache_bytes";

const SECONDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const BATCHES: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

pub struct Metrics {
    recorder: PrometheusRecorder,
    /// Read at render time: the queue keeps these counts itself.
    queues: Mutex<Vec<(String, Arc<QueueStats>)>>,
    /// The answer cache's counts, also read at render time.
    cache: Mutex<Option<Arc<CacheStats>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves a list that is still valid.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Metrics {
    pub fn new() -> Self {
        // Both bucket lists are non-empty constants, the only thing the
        // builder refuses.
        let recorder = PrometheusBuilder::new()
            .set_buckets(&SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), &BATCHES))
            .expect("histogram buckets are not empty")
            .build_recorder();
        with_local_recorder(&recorder, || {
            describe_counter!(REQUESTS, "HTTP requests by route and status.");
            describe_counter!(FAILURES, "Failed requests by error type.");
            describe_gauge!(QUEUE_SIZE, "Requests waiting for a model.");
            describe_counter!(DROPPED, "Requests dropped because the client had gone.");
            describe_histogram!(BATCH_SIZE, "Images per inference batch.");
            describe_histogram!(QUEUE_SECONDS, "Time requests waited in the queue.");
            describe_histogram!(INFERENCE_SECONDS, "Time per inference batch.");
            describe_counter!(
                CACHE_HITS,
                "Synthesis requests answered from the answer cache."
            );
            describe_counter!(
                CACHE_MISSES,
                "Synthesis requests the answer cache sent to a model."
            );
            describe_counter!(
                CACHE_MERGED,
                "Synthesis requests that shared the answer of an identical one in flight."
            );
            describe_counter!(
                CACHE_EVICTIONS,
                "Answers dropped from the cache to make room."
            );
            describe_gauge!(CACHE_BYTES, "Bytes the answer cache holds.");
        });
        Self {
            recorder,
            queues: Mutex::default(),
            cache: Mutex::default(),
        }
    }

    pub fn watch_queue(&self, model: &str, stats: Arc<QueueStats>) {
        lock(&self.queues).push((model.to_string(), stats));
    }

    pub fn watch_cache(&self, stats: Arc<CacheStats>) {
        *lock(&self.cache) = Some(stats);
    }

    pub fn request(&self, route: &str, status: u16) {
        let labels = [("route", route.to_string()), ("status", status.to_string())];
        with_local_recorder(&self.recorder, || counter!(REQUESTS, &labels).increment(1));
    }

    pub fn failure(&self, kind: &str) {
        let labels = [("error_type", kind.to_string())];
        with_local_recorder(&self.recorder, || counter!(FAILURES, &labels).increment(1));
    }

    pub fn batch(&self, model: &str, size: usize, inference: Duration) {
        let labels = [("model", model.to_string())];
        with_local_recorder(&self.recorder, || {
            histogram!(BATCH_SIZE, &labels).record(size as f64);
            histogram!(INFERENCE_SECONDS, &labels).record(inference.as_secs_f64());
        });
        // Samples wait unaggregated until upkeep; once a batch bounds them
        // even on a server nobody scrapes.
        self.recorder.handle().run_upkeep();
    }

    pub fn queued(&self, model: &str, wait: Duration) {
        let labels = [("model", model.to_string())];
        with_local_recorder(&self.recorder, || {
            histogram!(QUEUE_SECONDS, &labels).record(wait.as_secs_f64());
        });
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        with_local_recorder(&self.recorder, || {
            for (model, stats) in lock(&self.queues).iter() {
                let labels = [("model", model.clone())];
                let waiting = stats.waiting.load(Ordering::Relaxed);
                gauge!(QUEUE_SIZE, &labels).set(waiting as f64);
                let dropped = stats.dropped_disconnected.load(Ordering::Relaxed);
                counter!(DROPPED, &labels).absolute(dropped as u64);
            }
            if let Some(cache) = lock(&self.cache).as_ref() {
                let read = |count: &AtomicU64| count.load(Ordering::Relaxed);
                counter!(CACHE_HITS).absolute(read(&cache.hits));
                counter!(CACHE_MISSES).absolute(read(&cache.misses));
                counter!(CACHE_MERGED).absolute(read(&cache.merged));
                counter!(CACHE_EVICTIONS).absolute(read(&cache.evictions));
                gauge!(CACHE_BYTES).set(read(&cache.bytes) as f64);
            }
        });
        self.recorder.handle().render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let m = Metrics::default();
        m.batch("a", 1, Duration::from_millis(20));
        m.batch("a", 8, Duration::from_millis(200));
        let text = m.render();
        assert!(text.contains("# TYPE easel_batch_size histogram"), "{text}");
        assert!(
            text.contains("easel_batch_size_bucket{model=\"a\",le=\"1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("easel_batch_size_bucket{model=\"a\",le=\"8\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("easel_inference_seconds_bucket{model=\"a\",le=\"0.025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("easel_inference_seconds_count{model=\"a\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn queue_counts_are_read_when_rendering() {
        let m = Metrics::default();
        let stats = Arc::new(QueueStats::default());
        m.watch_queue("a", stats.clone());
        assert!(m.render().contains("easel_queue_size{model=\"a\"} 0"));
        stats.waiting.store(3, Ordering::Relaxed);
        stats.dropped_disconnected.store(2, Ordering::Relaxed);
        let text = m.render();
        assert!(text.contains("easel_queue_size{model=\"a\"} 3"), "{text}");
        assert!(
            text.contains("easel_dropped_disconnected_total{model=\"a\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("# HELP easel_queue_size Requests waiting for a model."),
            "{text}"
        );
    }

    #[test]
    fn cache_counts_are_read_when_rendering() {
        let m = Metrics::default();
        let stats = Arc::new(CacheStats::default());
        m.watch_cache(stats.clone());
        stats.hits.store(3, Ordering::Relaxed);
        stats.misses.store(2, Ordering::Relaxed);
        stats.bytes.store(4096, Ordering::Relaxed);
        let text = m.render();
        for line in [
            "easel_cache_hits_total 3",
            "easel_cache_misses_total 2",
            "easel_cache_merged_total 0",
            "easel_cache_evictions_total 0",
            "easel_cache_bytes 4096",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn two_apps_count_apart() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.request("/healthz", 200);
        a.failure("invalid_map");
        let text = a.render();
        assert!(
            text.contains("easel_requests_total{route=\"/healthz\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("easel_failures_total{error_type=\"invalid_map\"} 1"),
            "{text}"
        );
        assert!(!b.render().contains("easel_requests_total"));
    }
}
