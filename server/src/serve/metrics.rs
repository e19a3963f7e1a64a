//! Prometheus metrics, all prefixed `easel_`, in the text exposition format:
//! requests and failures by type, queue sizes, batch sizes, and queue and
//! inference durations.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::worker::QueueStats;

struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Self {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

const SECONDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const BATCHES: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    failures: BTreeMap<String, u64>,
    batch_sizes: BTreeMap<String, Histogram>,
    queue: BTreeMap<String, Histogram>,
    inference: BTreeMap<String, Histogram>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    queues: Mutex<Vec<(String, Arc<QueueStats>)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves counts that are still valid.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Metrics {
    pub fn watch_queue(&self, model: &str, stats: Arc<QueueStats>) {
        lock(&self.queues).push((model.to_string(), stats));
    }

    pub fn request(&self, route: &str, status: u16) {
        *lock(&self.inner)
            .requests
            .entry((route.to_string(), status))
            .or_default() += 1;
    }

    pub fn failure(&self, kind: &str) {
        *lock(&self.inner)
            .failures
            .entry(kind.to_string())
            .or_default() += 1;
    }

    pub fn batch(&self, model: &str, size: usize, inference: Duration) {
        let mut inner = lock(&self.inner);
        inner
            .batch_sizes
            .entry(model.to_string())
            .or_insert_with(|| Histogram::new(&BATCHES))
            .observe(size as f64);
        inner
            .inference
            .entry(model.to_string())
            .or_insert_with(|| Histogram::new(&SECONDS))
            .observe(inference.as_secs_f64());
    }

    pub fn queued(&self, model: &str, wait: Duration) {
        lock(&self.inner)
            .queue
            .entry(model.to_string())
            .or_insert_with(|| Histogram::new(&SECONDS))
            .observe(wait.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let inner = lock(&self.inner);
        let mut out = String::new();
        out.push_str("# HELP easel_requests_total HTTP requests by route and status.\n# TYPE easel_requests_total counter\n");
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "easel_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP easel_failures_total Failed requests by error type.\n# TYPE easel_failures_total counter\n");
        for (kind, n) in &inner.failures {
            let _ = writeln!(out, "easel_failures_total{{error_type=\"{kind}\"}} {n}");
        }
        out.push_str("# HELP easel_queue_size Requests waiting for a model.\n# TYPE easel_queue_size gauge\n");
        out.push_str("# HELP easel_dropped_disconnected_total Requests dropped because the client had gone.\n# TYPE easel_dropped_disconnected_total counter\n");
        for (model, stats) in lock(&self.queues).iter() {
            let _ = writeln!(
                out,
                "easel_queue_size{{model=\"{model}\"}} {}",
                stats.waiting.load(Ordering::Relaxed)
            );
            let _ = writeln!(
                out,
                "easel_dropped_disconnected_total{{model=\"{model}\"}} {}",
                stats.dropped_disconnected.load(Ordering::Relaxed)
            );
        }
        let families = [
            (
                "easel_batch_size",
                "Images per inference batch.",
                &inner.batch_sizes,
            ),
            (
                "easel_queue_seconds",
                "Time requests waited in the queue.",
                &inner.queue,
            ),
            (
                "easel_inference_seconds",
                "Time per inference batch.",
                &inner.inference,
            ),
        ];
        for (name, help, by_model) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for (model, h) in by_model.iter() {
                h.render(&mut out, name, &format!("model=\"{model}\""));
            }
        }
        out
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
        assert!(
            text.contains("easel_batch_size_bucket{model=\"a\",le=\"1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("easel_batch_size_bucket{model=\"a\",le=\"8\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("easel_inference_seconds_count{model=\"a\"} 2"),
            "{text}"
        );
    }
}
