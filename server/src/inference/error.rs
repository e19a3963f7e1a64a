//! What is wrong with a synthesis request, or what failed while running it:
//! one enum for the pipeline and the style it resolves.

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
}

fn presets_named(presets: &[String]) -> String {
    if presets.is_empty() {
        "it has none (style presets come with packages that ship them)".into()
    } else {
        format!("its presets are {}", presets.join(", "))
    }
}
