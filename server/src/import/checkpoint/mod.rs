//! Reads PyTorch checkpoints (`*.pth`) into a flat state dict of f32 tensors,
//! without Python: the zip format (torch >= 1.6) and the legacy pickle format.
//! The pickle machine understands only what `torch.save(state_dict)` writes.
//! Hand-written on purpose: no maintained Rust crate reads both formats with
//! storage views, strides and every dtype, and refuses hostile files (bombs,
//! overlapping zip entries, arbitrary pickle opcodes) with a message instead
//! of a panic or an allocation; this one is fuzzed (fuzz/fuzz_targets).

mod legacy;
mod pickle;
mod sniff;
mod torch;
mod zip_archive;

use std::collections::BTreeMap;
use std::path::Path;

/// A dense tensor in C order, converted to f32 whatever its stored dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Parameter and buffer names to tensors, as `module.state_dict()` names them.
pub type StateDict = BTreeMap<String, Tensor>;

/// Why a checkpoint cannot be read; each message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read checkpoint {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },

    #[error("{file} ends after {len} bytes, inside {inside}; the file is incomplete — copy or download it again")]
    Truncated {
        file: String,
        len: usize,
        inside: String,
    },

    #[error("{file} is not a PyTorch checkpoint: {looks_like}")]
    NotACheckpoint { file: String, looks_like: String },

    #[error(
        "{file} is a zip archive but not a PyTorch checkpoint: it has no `<name>/data.pkl` record \
         (it holds {entries}); if the checkpoint is inside, extract it first"
    )]
    NoPickleInZip { file: String, entries: String },

    #[error(
        "{file} has no data for storage {key:?} of tensor {tensor:?}; the file is damaged \
         or incomplete — copy or download it again"
    )]
    MissingStorage {
        file: String,
        key: String,
        tensor: String,
    },

    #[error(
        "{file}: {tensor} is stored as `{dtype}`, an unsupported dtype (supported: float32, \
         float16, bfloat16, float64, integers and bool); convert it with `.float()` and save again"
    )]
    UnsupportedDtype {
        file: String,
        tensor: String,
        dtype: String,
    },

    #[error(
        "{file}: tensor {tensor:?} is {kind}, which is not a plain dense tensor \
         (quantized, sparse and other special tensors are unsupported); save a dense float copy"
    )]
    UnsupportedTensor {
        file: String,
        tensor: String,
        kind: String,
    },

    #[error(
        "{file} does not hold a state dict (parameter names mapped to tensors) but {found}; \
         in Python, save `model.state_dict()` with torch.save"
    )]
    NotAStateDict { file: String, found: String },

    #[error("{file} is damaged or was not written by torch.save: {reason}")]
    Malformed { file: String, reason: String },
}

/// Reads a checkpoint file written by `torch.save(model.state_dict(), path)`.
pub fn read_state_dict(path: &Path) -> Result<StateDict, CheckpointError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        file: file.clone(),
        source,
    })?;
    read_named(&file, &bytes)
}

/// Reads a checkpoint from memory, exactly as [`read_state_dict`] reads a file.
pub fn read_state_dict_bytes(bytes: &[u8]) -> Result<StateDict, CheckpointError> {
    read_named("in-memory checkpoint", bytes)
}

fn read_named(file: &str, bytes: &[u8]) -> Result<StateDict, CheckpointError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        zip_archive::read(file, bytes)
    } else if bytes.starts_with(b"\x80") {
        legacy::read(file, bytes)
    } else {
        Err(CheckpointError::NotACheckpoint {
            file: file.to_owned(),
            looks_like: sniff::describe(bytes),
        })
    }
}
