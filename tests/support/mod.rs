//! Shared by the end-to-end tests: the fixtures (server/tests/common), the
//! `easel` binary and what it prints, PNG makers, the router with a fake
//! generator (`app`), and a server process over TCP (`process`).
#![allow(dead_code)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

pub mod app;
pub mod png;
pub mod process;

use std::path::Path;
use std::process::{Command, Output};

// Each test binary uses its own part of these.
#[allow(unused_imports)]
pub use common::{
    encode_png, fake_card, import, import_fixture, load, max_abs_diff, read, repo, session,
    shared_fixtures, spade_fixture, synthesize,
};

/// The `easel` binary of this build, computing in fp32 unless a test asks
/// for more (`--compute`): the reference outputs hold within 1e-4 in fp32,
/// and `auto` is bf16 on CPUs that have it (tests/cli's compute tests).
pub fn easel() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_easel"));
    command.env("EASEL_COMPUTE", "fp32");
    command
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What a run printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    stdout(out) + &stderr(out)
}

/// The names of the entries of `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `bytes` to `path`, making its folder first.
pub fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Every `src="…"` of a page.
pub fn sources(html: &str) -> Vec<String> {
    html.split("src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// Asserts that a run succeeded, showing what it printed if not.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "easel failed\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Asserts that a run failed, showing what it printed if not.
pub fn assert_fails(out: &Output) {
    assert!(
        !out.status.success(),
        "easel succeeded but should not have\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}
