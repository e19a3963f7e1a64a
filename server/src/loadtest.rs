//! `easel load`: a closed-loop load generator for the synthesize endpoint.
//! N clients each send one request after another for a fixed time; the
//! report has throughput, latency percentiles, statuses and the batch sizes
//! the server says it used (`x-batch-size`). Runs at several concurrencies
//! can be interleaved over rounds, so that a machine whose speed drifts
//! (shared cloud cores do) affects every concurrency alike.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
}

/// Requests a server must refuse with a 4xx, made from the valid body.
fn invalid_requests(config: &LoadConfig) -> Vec<Vec<u8>> {
    let post = |content_type: &str, query: &str, body: &[u8]| {
        let mut r = format!(
            "POST /api/v1/models/{}/synthesize{query} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            config.model,
            config.addr,
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let body = &config.body;
    vec![
        post("image/png", "", &body[..body.len().min(40)]),
        post("text/plain", "", body),
        post("image/png", "?format=gif", body),
        post("image/png", "?encoding=red", body),
        post("image/png", "", b"not a png at all"),
        post("multipart/form-data; boundary=x", "", b"--x\r\nbroken"),
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

async fn exchange(addr: &str, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(response)
}

/// The server's (images, inference seconds) so far for `model`, from /metrics.
async fn server_counters(addr: &str, model: &str) -> Option<(f64, f64)> {
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let response = exchange(addr, request.as_bytes()).await.ok()?;
    let text = String::from_utf8_lossy(&response);
    if !text.starts_with("HTTP/1.1 200") || !text.contains("easel_") {
        return None;
    }
    // A model that has run no batch yet has no lines: zero so far.
    let value = |name: &str| -> f64 {
        let key = format!("{name}{{model=\"{model}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    Some((
        value("easel_batch_size_sum"),
        value("easel_inference_seconds_sum"),
    ))
}

async fn one_request(addr: &str, request: &[u8]) -> std::io::Result<(u16, Option<usize>)> {
    let response = exchange(addr, request).await?;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let batch = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-batch-size:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok());
    Ok((status, batch))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(config: &LoadConfig) -> Run {
    let mut request = format!(
        "POST /api/v1/models/{}/synthesize HTTP/1.1\r\nHost: {}\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        config.model,
        config.addr,
        config.body.len()
    )
    .into_bytes();
    request.extend_from_slice(&config.body);
    let request = Arc::new(request);
    let invalid = Arc::new(invalid_requests(config));
    let percent = config.invalid_percent.min(100) as usize;
    let counters_before = server_counters(&config.addr, &config.model).await;
    let started = Instant::now();
    let deadline = started + config.duration;
    let clients: Vec<_> = (0..config.concurrency)
        .map(|client| {
            let request = request.clone();
            let invalid = invalid.clone();
            let addr = config.addr.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut n = client;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    // A fixed spread of invalid requests among the valid ones.
                    n += 1;
                    let bad = (n * 37) % 100 < percent;
                    let bytes = if bad {
                        &invalid[n % invalid.len()]
                    } else {
                        &*request
                    };
                    let (status, batch) = match one_request(&addr, bytes).await {
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
    let counters_after = server_counters(&config.addr, &config.model).await;
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
