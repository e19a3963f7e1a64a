//! `easel serve` as an operator runs it: start-up with good and broken
//! packages, a real request over TCP, graceful shutdown on SIGTERM, load,
//! a short soak, and HTTP that breaks the protocol.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

use support::png::png_gray;
use support::process::{
    get, metric, sigterm, start_server, start_server_with, synthesize, wait_for_metric,
};
use support::{easel, import, import_fixture, read, repo, shared_fixtures, spade_fixture};

/// A server with the coco182 fixture imported as `coco`, under `tmp`.
fn start_coco(tmp: &Path) -> (Child, String) {
    let models = tmp.join("models");
    import_fixture("coco182_tiny", &models.join("coco"));
    start_server(&models)
}

#[test]
fn serves_good_packages_skips_broken_ones_and_shuts_down_gracefully() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    import_fixture("city35_tiny", &models.join("city"));
    std::fs::create_dir_all(models.join("broken")).unwrap();
    std::fs::write(models.join("broken/model.json"), "{ not json").unwrap();

    let (mut child, addr) = start_server(&models);
    let health = get(&addr, "/readyz");
    assert_eq!(health.status(), StatusCode::OK, "{health:?}");

    // A large map keeps the request busy while SIGTERM arrives; it must
    // still get its image. The server has taken it once the answer cache
    // counts it (a miss: nothing like it was asked before).
    let label = png_gray(768, 384, |x, y| ((x / 64 + y / 64) % 35) as u8);
    let (answered, answer) = mpsc::channel();
    let addr2 = addr.clone();
    std::thread::spawn(move || {
        let _ = answered.send(synthesize(&addr2, label, "city"));
    });
    wait_for_metric(&addr, "easel_cache_misses_total", 1.0);
    assert!(
        answer.try_recv().is_err(),
        "the request was still running when the signal came"
    );
    sigterm(&child);
    let response = answer.recv().unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
    assert!(!response.bytes().unwrap().is_empty());

    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("skipped a model") && stderr.contains("broken"),
        "{stderr}"
    );
}

#[test]
fn refuses_to_start_when_no_package_loads() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("broken")).unwrap();
    std::fs::write(tmp.path().join("broken/model.json"), "{}").unwrap();
    let out = easel()
        .args(["serve", "--bind", "127.0.0.1:0", "--models"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no model could be loaded") && stderr.contains("broken"),
        "{stderr}"
    );
}

/// The test machines have the CPU-only onnxruntime wheel: asking for a GPU
/// must stop the server with the reason, not serve from the CPU.
#[test]
fn a_gpu_that_cannot_start_is_an_error_never_a_cpu_fallback() {
    let models = repo().join("models");
    for device in ["cuda", "cuda:1", "tensorrt"] {
        let out = easel()
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--device",
                device,
                "--models",
            ])
            .arg(&models)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{device}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("could not start the") && stderr.contains("execution provider"),
            "{stderr}"
        );
        assert!(
            stderr.contains("does not fall back to the CPU") && stderr.contains("onnxruntime-gpu"),
            "{stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("serving"),
            "{device}: it must not serve"
        );
    }
    let out = easel()
        .args(["serve", "--device", "metal", "--models", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown device");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one of cpu, cuda"));
}

#[test]
fn distinct_load_fills_the_answer_cache_within_its_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    // OASIS takes a seed (its noise); the SPADE fixtures without z refuse one.
    let oasis = shared_fixtures().join("oasis_tiny");
    import(&oasis.join("checkpoint"), &models.join("oasis")).unwrap();
    let (child, addr) = start_server_with(&models, &["--cache-mb", "1"]);
    let label = read(&oasis.join("inputs/label_0.png"));
    let config = easel::client::LoadConfig {
        addr: addr.clone(),
        model: "oasis".into(),
        body: std::sync::Arc::new(label),
        concurrency: 4,
        duration: Duration::from_secs(3),
        invalid_percent: 0,
        distinct: Some(Default::default()),
    };
    let client = easel::client::client().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report =
        easel::client::report(4, &[runtime.block_on(easel::client::run(&client, &config))]);
    let metrics = get(&addr, "/metrics").text().unwrap();
    sigterm(&child);
    let ok = report.statuses.get("200").copied().unwrap_or(0);
    assert_eq!(ok, report.requests, "{report:?}");
    assert_eq!(
        metric(&metrics, "easel_cache_hits_total"),
        0.0,
        "every seed is new"
    );
    assert_eq!(metric(&metrics, "easel_cache_misses_total"), ok as f64);
    let held = metric(&metrics, "easel_cache_bytes");
    assert!(held > 0.0 && held <= (1 << 20) as f64, "{held} bytes held");
    let evicted = metric(&metrics, "easel_cache_evictions_total");
    assert!(ok > 16 && evicted > 0.0, "{report:?}\n{metrics}");
}

#[test]
fn concurrent_load_batches_requests_without_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let (child, addr) = start_coco(tmp.path());
    let label = read(&spade_fixture("coco182_tiny/inputs/label_000000000139.png"));
    let config = easel::client::LoadConfig {
        addr,
        model: "coco".into(),
        body: std::sync::Arc::new(label),
        concurrency: 8,
        duration: Duration::from_secs(2),
        invalid_percent: 0,
        distinct: None,
    };
    let run = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(easel::client::run(
            &easel::client::client().unwrap(),
            &config,
        ));
    let report = easel::client::report(8, &[run]);
    sigterm(&child);
    assert!(report.requests > 8, "{report:?}");
    assert_eq!(
        report.statuses.keys().collect::<Vec<_>>(),
        vec!["200"],
        "{report:?}"
    );
    assert!(
        report.batch_sizes.keys().any(|&b| b > 1),
        "concurrent requests share batches: {report:?}"
    );
    let per_image = report
        .server_inference_ms_per_image
        .expect("the server's own inference time is read from /metrics");
    assert!(per_image > 0.0 && per_image < 10_000.0, "{report:?}");
}

#[test]
fn easel_health_passes_for_a_ready_server_and_fails_for_none() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_coco(tmp.path());
    let health = |url: String| {
        easel()
            .args(["health", "--timeout-ms", "2000", "--url"])
            .arg(url)
            .output()
            .unwrap()
    };
    assert!(health(format!("http://{addr}/readyz")).status.success());
    let missing = health(format!("http://{addr}/nothing"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("status 404"));
    sigterm(&child);
    child.wait().unwrap();
    let gone = health(format!("http://{addr}/readyz"));
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("not answering"));
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// The short soak of `make test` (tests/soak.sh runs the long one): valid
/// and invalid requests mixed at high concurrency; nothing but 200, 4xx and
/// an explicit 503; memory stays bounded; the server is well afterwards.
#[test]
fn a_short_soak_of_mixed_requests_has_no_unexplained_failures_and_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (child, addr) = start_coco(tmp.path());
    let label = read(&spade_fixture("coco182_tiny/inputs/label_000000000139.png"));
    let mut config = easel::client::LoadConfig {
        addr: addr.clone(),
        model: "coco".into(),
        body: std::sync::Arc::new(label),
        concurrency: 32,
        duration: Duration::from_secs(3),
        invalid_percent: 30,
        distinct: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(easel::client::run(
        &easel::client::client().unwrap(),
        &config,
    )); // warm: arenas and caches settle
    let start_rss = rss_kib(child.id());
    config.duration = Duration::from_secs(8);
    let run = runtime.block_on(easel::client::run(
        &easel::client::client().unwrap(),
        &config,
    ));
    let report = easel::client::report(32, &[run]);
    let end_rss = rss_kib(child.id());
    let unexplained: usize = report
        .statuses
        .iter()
        .filter(|(s, _)| !(s.as_str() == "200" || s.as_str() == "503" || s.starts_with('4')))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(unexplained, 0, "{report:?}");
    assert!(
        report.statuses.get("200").copied().unwrap_or(0) > 50,
        "{report:?}"
    );
    assert!(
        report.statuses.keys().any(|s| s.starts_with('4')),
        "invalid requests were sent: {report:?}"
    );
    assert!(
        end_rss < start_rss + 64 * 1024,
        "resident memory grew from {start_rss} KiB to {end_rss} KiB"
    );
    let answer = get(&addr, "/healthz");
    assert_eq!(answer.status(), StatusCode::OK, "{answer:?}");
    sigterm(&child);
}

/// Sends raw bytes to `addr` and reads until the server closes the
/// connection (or 30 s pass); what came back, as text. A connection the
/// server resets answers what it sent before. Only for HTTP that no client
/// library would send.
fn exchange_raw(addr: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// Requests that break HTTP itself are refused by the HTTP layer, and the
/// server goes on.
#[test]
fn conflicting_content_lengths_and_broken_http_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (child, addr) = start_coco(tmp.path());
    let exchange = |raw: &[u8]| exchange_raw(&addr, raw);
    // Content-Length with Transfer-Encoding: the chunked body wins (RFC 9112)
    // and the connection is closed after the answer, so nothing can be
    // smuggled behind it.
    let both = exchange(b"POST /api/v1/models/coco/synthesize HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        both.starts_with("HTTP/1.1 415") && both.contains("connection: close"),
        "{both}"
    );
    assert_eq!(
        both.matches("HTTP/1.1").count(),
        1,
        "the smuggled request is not answered: {both}"
    );
    let cases: [&[u8]; 3] = [
        b"POST /api/v1/models/coco/synthesize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\nhello",
        b"NOT-HTTP\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    ];
    for raw in cases {
        let answer = exchange(raw);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
            "{}: {answer}",
            String::from_utf8_lossy(raw)
        );
    }
    assert_eq!(get(&addr, "/healthz").status(), StatusCode::OK);
    sigterm(&child);
}
