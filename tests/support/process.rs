//! `easel serve` as a child process on a free port, spoken to over HTTP
//! with `reqwest`, and stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};

/// Starts `easel serve` on port 0 over the packages in `models`; returns the
/// child (stderr piped) and the address it printed.
pub fn start_server(models: &Path) -> (Child, String) {
    start_server_with(models, &[])
}

/// As `start_server`, with more of `easel serve`'s flags.
pub fn start_server_with(models: &Path, flags: &[&str]) -> (Child, String) {
    let mut child = super::easel()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--models",
        ])
        .arg(models)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim()
        .to_string();
    (child, addr)
}

/// One client for every test of the binary. It keeps no idle connection,
/// so a server told to stop waits for none of them.
fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    })
}

/// GET `path` of the server at `addr`.
pub fn get(addr: &str, path: &str) -> Response {
    client().get(format!("http://{addr}{path}")).send().unwrap()
}

/// Posts a PNG label map to `model`'s synthesis route.
pub fn synthesize(addr: &str, png: Vec<u8>, model: &str) -> Response {
    client()
        .post(format!("http://{addr}/api/v1/models/{model}/synthesize"))
        .header(reqwest::header::CONTENT_TYPE, "image/png")
        .body(png)
        .send()
        .unwrap()
}

/// The value of an unlabelled sample `name` in Prometheus text.
pub fn metric(text: &str, name: &str) -> f64 {
    sample(text, name).unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `/metrics` until `name` reads at least `least`; fails after 30 s.
pub fn wait_for_metric(addr: &str, name: &str, least: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = get(addr, "/metrics").text().unwrap();
        if sample(&text, name).is_some_and(|value| value >= least) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} stayed below {least}: {text}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn sigterm(child: &Child) {
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
}
