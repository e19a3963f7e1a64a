//! `easel load`: a closed-loop load generator for the synthesize endpoint.
//! N clients each send one request after another for a fixed time; the
//! report has throughput, latency percentiles, statuses and the batch sizes
//! the server says it used (`x-batch-size`).

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
}

#[derive(Debug, Default, serde::Serialize)]
pub struct LoadReport {
    pub concurrency: usize,
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
}

struct Sample {
    status: String,
    batch: Option<usize>,
    latency: Duration,
}

async fn one_request(addr: &str, request: &[u8]) -> std::io::Result<(u16, Option<usize>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
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

pub async fn run(config: &LoadConfig) -> LoadReport {
    let mut request = format!(
        "POST /api/v1/models/{}/synthesize HTTP/1.1\r\nHost: {}\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        config.model,
        config.addr,
        config.body.len()
    )
    .into_bytes();
    request.extend_from_slice(&config.body);
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + config.duration;
    let clients: Vec<_> = (0..config.concurrency)
        .map(|_| {
            let request = request.clone();
            let addr = config.addr.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let (status, batch) = match one_request(&addr, &request).await {
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
    let mut report = LoadReport {
        concurrency: config.concurrency,
        seconds,
        requests: samples.len(),
        ..LoadReport::default()
    };
    let mut ok_latencies: Vec<f64> = Vec::new();
    for s in &samples {
        *report.statuses.entry(s.status.clone()).or_default() += 1;
        if s.status == "200" {
            ok_latencies.push(s.latency.as_secs_f64() * 1000.0);
            if let Some(b) = s.batch {
                *report.batch_sizes.entry(b).or_default() += 1;
            }
        }
    }
    ok_latencies.sort_by(f64::total_cmp);
    report.images_per_second = ok_latencies.len() as f64 / seconds;
    report.p50_ms = percentile(&ok_latencies, 0.5);
    report.p99_ms = percentile(&ok_latencies, 0.99);
    report.max_ms = ok_latencies.last().copied().unwrap_or(0.0);
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
}
