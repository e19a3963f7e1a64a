//! `easel serve` as a child process on a free port, spoken to in raw HTTP/1.1
//! over TCP, and stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

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

/// Sends raw bytes to `addr` and reads until the server closes the
/// connection (or 30 s pass); what came back, as text. A connection the
/// server resets answers what it sent before.
pub fn http(addr: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// A GET that closes the connection after the answer.
pub fn http_get(addr: &str, path: &str) -> String {
    http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// A synthesis request for `model` with a PNG body.
pub fn synthesize_request(body: &[u8], model: &str) -> Vec<u8> {
    let mut request = format!(
        "POST /api/v1/models/{model}/synthesize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

pub fn sigterm(child: &Child) {
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
}
