//! Files that are not whole checkpoints (cut short, text, HTML, LFS pointers,
//! safetensors, junk, other zips, missing) are refused with what is wrong
//! and what to do.

use std::path::Path;

use easel::import::checkpoint::{read_state_dict, CheckpointError};

use super::torch_save::zip_of;
use super::{assert_mentions, error_for, fixture};

#[test]
fn rejects_truncated_zip_checkpoint() {
    let bytes = std::fs::read(fixture("coco182_tiny/checkpoint/latest_net_G.pth")).unwrap();
    for len in [100, bytes.len() / 2, bytes.len() - 1] {
        let message = error_for(&bytes[..len]);
        assert_mentions(
            &message,
            &[
                &format!("ends after {len} bytes"),
                "zip",
                "incomplete",
                "copy",
            ],
        );
    }
}

#[test]
fn rejects_truncated_legacy_checkpoint() {
    let bytes = std::fs::read(fixture("city35_tiny/checkpoint/latest_net_G.pth")).unwrap();
    // Inside the header pickles, the object pickle, the key list and the storages.
    for (len, inside) in [
        (10, "magic"),
        (5000, "state dict"),
        (30000, "storage keys"),
        (bytes.len() / 2, "storage"),
    ] {
        let message = error_for(&bytes[..len]);
        assert_mentions(
            &message,
            &[
                &format!("ends after {len} bytes"),
                inside,
                "incomplete",
                "copy",
            ],
        );
    }
    let message = error_for(&bytes[..bytes.len() - 1]);
    assert_mentions(&message, &["storage 167 of 167", "incomplete"]);
}

#[test]
fn rejects_empty_file() {
    assert_mentions(&error_for(b""), &["not a PyTorch checkpoint", "empty"]);
}

#[test]
fn rejects_text_file() {
    // A classic slip: pointing at the options file next to the checkpoint.
    let options = std::fs::read(fixture("coco182_tiny/checkpoint/opt.txt")).unwrap();
    assert_mentions(
        &error_for(&options),
        &["not a PyTorch checkpoint", "text file", "D_steps_per_G"],
    );
}

#[test]
fn rejects_html_page() {
    let page = b"\n<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>\n";
    assert_mentions(
        &error_for(page),
        &["not a PyTorch checkpoint", "HTML page", "download"],
    );
}

#[test]
fn rejects_git_lfs_pointer() {
    let pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 23157851\n";
    assert_mentions(&error_for(pointer), &["Git LFS pointer", "git lfs pull"]);
}

#[test]
fn rejects_safetensors_file() {
    let header = br#"{"fc.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0; 4]);
    assert_mentions(&error_for(&bytes), &["safetensors"]);
}

#[test]
fn rejects_binary_junk_showing_its_first_bytes() {
    assert_mentions(
        &error_for(&[0xde, 0xad, 0xbe, 0xef, 0, 1]),
        &["de ad be ef", "zip", "pickle"],
    );
}

#[test]
fn rejects_zip_without_data_pkl() {
    let bytes = zip_of(&[("photos/readme.txt", b"not a model")]);
    assert_mentions(
        &error_for(&bytes),
        &["zip archive", "data.pkl", "photos/readme.txt"],
    );
}

#[test]
fn rejects_missing_file() {
    let error = read_state_dict(Path::new("/nonexistent/latest_net_G.pth")).unwrap_err();
    assert!(matches!(error, CheckpointError::Io { .. }));
    assert_mentions(&error.to_string(), &["/nonexistent/latest_net_G.pth"]);
}
