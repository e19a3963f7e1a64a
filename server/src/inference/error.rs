//! What is wrong with a synthesis request, or what failed while running it:
//! one enum for the pipeline, the style it resolves and the `Synthesizer`
//! that runs it, and the queue's reasons for giving no image.

use std::sync::Arc;

use super::deadline::Late;
use super::request::Compute;
use crate::inference::runtime::RuntimeError;
use crate::package::maps::MapError;

/// What is wrong with a request, or what failed while running it.
#[derive(Debug, thiserror::Error)]
pub enum SynthesisError {
    #[error(transparent)]
    Map(#[from] MapError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("the style image cannot be read: {0}")]
    StyleImage(String),
    #[error("model {0} has no style encoder, so it cannot take a style image; use a seed instead")]
    NoEncoder(String),
    #[error(
        "model {0} does not take a style: it has no z input; leave out the style image, seed and preset"
    )]
    NoStyle(String),
    #[error("model {model} has no style preset `{preset}`; {}", presets_named(.presets))]
    NoPreset {
        model: String,
        preset: String,
        presets: Vec<String>,
    },
    #[error("{0}")]
    ZMap(String),
    #[error("the style vector has {given} values, but model {model} takes z of {z_dim}")]
    StyleLength {
        model: String,
        given: usize,
        z_dim: usize,
    },
    #[error("model {0} takes no per-pixel noise, so it cannot re-roll regions; leave out the region seeds")]
    NoPixelNoise(String),
    #[error("region {index}'s z has {given} values, but model {model} takes z of {z_dim}")]
    RegionLength {
        model: String,
        index: usize,
        given: usize,
        z_dim: usize,
    },
    #[error(
        "model {model} runs in {available} here, not {asked}; ask for `auto` or `{available}`"
    )]
    Compute {
        model: String,
        asked: Compute,
        available: Compute,
    },
    #[error("the generator gave {0}")]
    BadOutput(String),
    /// The model's queue gave no image.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The image did not come in time, or the model's thread stopped.
    #[error(transparent)]
    Late(#[from] Late),
    /// A blocking step (decoding, rendering) panicked.
    #[error("a blocking task failed: {0}")]
    Task(String),
}

impl SynthesisError {
    /// Whether the request itself is at fault (a map, style or setting
    /// this model cannot take), rather than the server: a batch run records
    /// such a map as failed and goes on.
    pub fn is_the_requests(&self) -> bool {
        match self {
            SynthesisError::Map(_)
            | SynthesisError::StyleImage(_)
            | SynthesisError::NoEncoder(_)
            | SynthesisError::NoStyle(_)
            | SynthesisError::NoPreset { .. }
            | SynthesisError::ZMap(_)
            | SynthesisError::StyleLength { .. }
            | SynthesisError::NoPixelNoise(_)
            | SynthesisError::RegionLength { .. }
            | SynthesisError::Compute { .. } => true,
            SynthesisError::Runtime(_)
            | SynthesisError::BadOutput(_)
            | SynthesisError::Queue(_)
            | SynthesisError::Late(_)
            | SynthesisError::Task(_) => false,
        }
    }
}

/// Why a request got no image. The HTTP layer maps each to a status in one
/// table (`http::error`).
#[derive(Debug, thiserror::Error, Clone)]
pub enum QueueError {
    #[error("the queue of model {model} is full ({capacity} waiting); retry shortly")]
    Full { model: String, capacity: usize },
    #[error("model {model} would reach this request in about {wait_ms} ms, longer than the request timeout ({limit_ms} ms); retry shortly, or add replicas / raise --request-timeout-ms")]
    Busy {
        model: String,
        wait_ms: u64,
        limit_ms: u64,
    },
    #[error("model {0} is shutting down")]
    Closed(String),
    /// The generator failed on the batch this request was in.
    #[error("inference failed: {0}")]
    Failed(Arc<SynthesisError>),
}

fn presets_named(presets: &[String]) -> String {
    if presets.is_empty() {
        "it has none (style presets come with packages that ship them)".into()
    } else {
        format!("its presets are {}", presets.join(", "))
    }
}
