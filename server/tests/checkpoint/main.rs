//! Reading PyTorch checkpoints: the real SPADE fixtures in both container formats, small
//! checkpoints built here for the cases the fixtures lack (dtypes, views, wrappers), and
//! the refusals, whose messages must say what is wrong and what to do.

#[path = "../common/mod.rs"]
mod common;

mod built;
mod fixtures;
mod refusals;
mod torch_save;

use std::path::PathBuf;

use easel::import::checkpoint::read_state_dict;

fn fixture(path: &str) -> PathBuf {
    common::spade_fixture(path)
}

fn error_for(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latest_net_G.pth");
    std::fs::write(&path, bytes).unwrap();
    let error = read_state_dict(&path).expect_err("the checkpoint should be refused");
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the message names no file: {message}"
    );
    message
}

fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "{word:?} missing from: {message}");
    }
}
