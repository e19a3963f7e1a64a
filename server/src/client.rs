//! Clients of a running easel server. The load generator: N clients share
//! one HTTP client (keep-alive, pooled connections) and each sends one
//! request after another for a fixed time; the report has throughput,
//! latency percentiles, statuses, the batch sizes the server says it used
//! (`x-batch-size`) and its own inference time per image (/metrics). Every
//! request asks for a fresh answer (`Cache-Control: no-cache`), so that the
//! server's answer cache does not answer in the model's place; with
//! `distinct`, each asks for a seed never asked before and lets the cache
//! keep the answer, which fills the cache as a soak needs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::Client;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// host:port
    pub addr: String,
    pub model: String,
    pub body: Arc<Vec<u8>>,
    pub concurrency: usize,
    pub duration: Duration,
    /// Percent of requests that are invalid on purpose (truncated PNGs,
    /// wrong content types, unknown options, out-of-range maps), for soak
    /// tests: each must get a 4xx and leave the server well.
    pub invalid_percent: u32,
    /// Set: each valid request asks for the next seed of this counter (shared
    /// by the runs of one load test) and may be cached, so every answer is a
    /// miss that the server's answer cache then holds.
    pub distinct: Option<Arc<AtomicU64>>,
}

/// The HTTP client all of a load test's requests share: its pool keeps
/// connections alive between requests, as a real client does. Plain HTTP to
/// the address given, never through a proxy.
pub fn client() -> reqwest::Result<Client> {
    Client::builder().no_proxy().build()
}

/// One request a client sends, again and again.
struct Request {
    url: String,
    content_type: &'static str,
    body: Bytes,
    /// Whether the server's answer cache may answer or keep it.
    cacheable: bool,
}

impl Request {
    fn synthesize(
        config: &LoadConfig,
        query: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Self {
        Request {
            url: format!(
                "http://{}/api/v1/models/{}/synthesize{query}",
                config.addr, config.model
            ),
            content_type,
            body,
            cacheable: false,
        }
    }
}

/// Requests a server must refuse with a 4xx, made from the valid body.
fn invalid_requests(config: &LoadConfig, body: &Bytes) -> Vec<Request> {
    let post =
        |content_type, query, body: Bytes| Request::synthesize(config, query, content_type, body);
    vec![
        post("image/png", "", body.slice(..body.len().min(40))),
        post("text/plain", "", body.clone()),
        post("image/png", "?format=gif", body.clone()),
        post("image/png", "?encoding=red", body.clone()),
        post("image/png", "", Bytes::from_static(b"not a png at all")),
        post(
            "multipart/form-data; boundary=x",
            "",
            Bytes::from_static(b"--x\r\nbroken"),
        ),
    ]
}

#[derive(Debug, Default, serde::Serialize)]
pub struct LoadReport {
    pub concurrency: usize,
    /// Interleaved rounds this report adds up.
    pub rounds: usize,
    pub seconds: f64,
    pub requests: usize,
    pub images_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Responses by HTTP status ("io" for connection failures).
    pub statuses: BTreeMap<String, usize>,
    /// Successful responses by the batch size they ran in.
    pub batch_sizes: BTreeMap<usize, usize>,
    /// Images per second of each round, in order.
    pub round_images_per_second: Vec<f64>,
    /// The server's own inference time per image over the runs (from its
    /// /metrics): what batching did to the model's cost, apart from HTTP.
    pub server_inference_ms_per_image: Option<f64>,
}

/// What one run saw, before it is summed up.
#[derive(Default)]
pub struct Run {
    samples: Vec<Sample>,
    seconds: f64,
    /// (images, inference seconds) the server counted during the run.
    server: Option<(f64, f64)>,
}

struct Sample {
    status: String,
    batch: Option<usize>,
    latency: Duration,
}

/// The server's (images, inference seconds) so far for `model`, from /metrics.
async fn server_counters(client: &Client, addr: &str, model: &str) -> Option<(f64, f64)> {
    let response = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .ok()?;
    if response.status() != reqwest::StatusCode::OK {
        return None;
    }
    let text = response.text().await.ok()?;
    text.contains("easel_").then(|| {
        (
            metric_sum(&text, "easel_batch_size_sum", model),
            metric_sum(&text, "easel_inference_seconds_sum", model),
        )
    })
}

/// The sum of `name`'s samples labelled with `model` in Prometheus text; a
/// model that has run no batch yet has no lines: zero so far.
fn metric_sum(text: &str, name: &str, model: &str) -> f64 {
    let label = format!("model=\"{model}\"");
    text.lines()
        .filter_map(|line| {
            let (labels, value) = line
                .strip_prefix(name)?
                .strip_prefix('{')?
                .split_once("} ")?;
            labels.split(',').any(|l| l == label).then_some(value)
        })
        .filter_map(|value| value.split_whitespace().next()?.parse::<f64>().ok())
        .sum()
}

/// Sends `request`: its status and the batch size the server reports. The
/// body is read to the end, so that the connection goes back to the pool.
async fn send(client: &Client, request: &Request) -> reqwest::Result<(u16, Option<usize>)> {
    let mut post = client
        .post(&request.url)
        .header(CONTENT_TYPE, request.content_type);
    if !request.cacheable {
        // The model's work is what is measured, not the server's answer cache.
        post = post.header(CACHE_CONTROL, "no-cache");
    }
    let response = post.body(request.body.clone()).send().await?;
    let status = response.status().as_u16();
    let batch = response
        .headers()
        .get("x-batch-size")
        .and_then(|v| v.to_str().ok()?.trim().parse().ok());
    response.bytes().await?;
    Ok((status, batch))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One run: `config.concurrency` clients for `config.duration`, all through `client`.
pub async fn run(client: &Client, config: &LoadConfig) -> Run {
    let body = Bytes::from(config.body.to_vec());
    let valid = Arc::new(Request::synthesize(config, "", "image/png", body.clone()));
    let invalid = Arc::new(invalid_requests(config, &body));
    let percent = config.invalid_percent.min(100) as usize;
    let counters_before = server_counters(client, &config.addr, &config.model).await;
    let started = Instant::now();
    let deadline = started + config.duration;
    let clients: Vec<_> = (0..config.concurrency)
        .map(|client_index| {
            let (client, valid, invalid) = (client.clone(), valid.clone(), invalid.clone());
            let (config, body) = (config.clone(), body.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut n = client_index;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    // A fixed spread of invalid requests among the valid ones.
                    n += 1;
                    let bad = (n * 37) % 100 < percent;
                    let fresh;
                    let request = if bad {
                        &invalid[n % invalid.len()]
                    } else if let Some(seeds) = &config.distinct {
                        let seed = seeds.fetch_add(1, Ordering::Relaxed);
                        let query = format!("?seed={seed}");
                        fresh = Request {
                            cacheable: true,
                            ..Request::synthesize(&config, &query, "image/png", body.clone())
                        };
                        &fresh
                    } else {
                        &*valid
                    };
                    let (status, batch) = match send(&client, request).await {
                        Ok((s, b)) => (s.to_string(), b),
                        Err(_) => ("io".to_string(), None),
                    };
                    samples.push(Sample {
                        status,
                        batch,
                        latency: t.elapsed(),
                    });
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for c in clients {
        samples.extend(c.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    let counters_after = server_counters(client, &config.addr, &config.model).await;
    Run {
        samples,
        seconds,
        server: counters_before
            .zip(counters_after)
            .map(|((i0, s0), (i1, s1))| (i1 - i0, s1 - s0)),
    }
}

impl Run {
    fn ok(&self) -> usize {
        self.samples.iter().filter(|s| s.status == "200").count()
    }
}

/// Sums up the runs of one concurrency (one per round).
pub fn report(concurrency: usize, runs: &[Run]) -> LoadReport {
    let seconds: f64 = runs.iter().map(|r| r.seconds).sum();
    let mut report = LoadReport {
        concurrency,
        rounds: runs.len(),
        seconds,
        requests: runs.iter().map(|r| r.samples.len()).sum(),
        round_images_per_second: runs
            .iter()
            .map(|r| r.ok() as f64 / r.seconds.max(1e-9))
            .collect(),
        ..LoadReport::default()
    };
    let mut ok_latencies: Vec<f64> = Vec::new();
    for s in runs.iter().flat_map(|r| &r.samples) {
        *report.statuses.entry(s.status.clone()).or_default() += 1;
        if s.status == "200" {
            ok_latencies.push(s.latency.as_secs_f64() * 1000.0);
            if let Some(b) = s.batch {
                *report.batch_sizes.entry(b).or_default() += 1;
            }
        }
    }
    ok_latencies.sort_by(f64::total_cmp);
    report.images_per_second = ok_latencies.len() as f64 / seconds.max(1e-9);
    report.p50_ms = percentile(&ok_latencies, 0.5);
    report.p99_ms = percentile(&ok_latencies, 0.99);
    report.max_ms = ok_latencies.last().copied().unwrap_or(0.0);
    let server: Option<Vec<(f64, f64)>> = runs.iter().map(|r| r.server).collect();
    report.server_inference_ms_per_image = server.and_then(|v| {
        let (images, secs) = v.iter().fold((0.0, 0.0), |(a, b), (i, s)| (a + i, b + s));
        (images > 0.0).then(|| 1000.0 * secs / images)
    });
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn server_counters_sum_the_models_samples_only() {
        let text = "# TYPE easel_batch_size histogram\n\
                    easel_batch_size_sum{model=\"coco\"} 12\n\
                    easel_batch_size_sum{model=\"cocoa\"} 99\n\
                    easel_batch_size_count{model=\"coco\"} 5\n\
                    easel_inference_seconds_sum{device=\"cpu\",model=\"coco\"} 0.5\n";
        assert_eq!(metric_sum(text, "easel_batch_size_sum", "coco"), 12.0);
        assert_eq!(metric_sum(text, "easel_inference_seconds_sum", "coco"), 0.5);
        assert_eq!(metric_sum(text, "easel_batch_size_sum", "landscapes"), 0.0);
    }

    fn sample(status: &str, batch: usize, ms: u64) -> Sample {
        Sample {
            status: status.into(),
            batch: Some(batch),
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn rounds_add_up_into_one_report() {
        let runs = [
            Run {
                samples: vec![sample("200", 1, 100), sample("200", 2, 300)],
                seconds: 1.0,
                server: Some((2.0, 0.3)),
            },
            Run {
                samples: vec![sample("200", 2, 200), sample("503", 0, 1)],
                seconds: 2.0,
                server: Some((2.0, 0.1)),
            },
        ];
        let r = report(8, &runs);
        assert_eq!((r.rounds, r.requests), (2, 4));
        assert_eq!(r.images_per_second, 1.0, "3 images in 3 seconds");
        assert_eq!(r.round_images_per_second, vec![2.0, 0.5]);
        assert_eq!(r.statuses["503"], 1);
        assert_eq!(r.batch_sizes[&2], 2);
        assert_eq!(r.p50_ms, 200.0);
        let per_image = r.server_inference_ms_per_image.unwrap();
        assert!(
            (per_image - 100.0).abs() < 1e-9,
            "0.4 s for 4 images: {per_image}"
        );
    }
}
