//! Loading model packages into sessions, and warming them up before the
//! first request.

use std::path::{Path, PathBuf};

use crate::inference::error::SynthesisError;
use crate::inference::pipeline::{self, StyleInput, Work};
use crate::inference::runtime::{ModelSession, SessionOptions};
use crate::package::maps::{LabelMap, MapError};
use crate::package::{ModelCard, ModelPackage};

/// Every package folder under `dir` (or `dir` itself if it is one), loaded
/// into ONNX Runtime; failures are reported and skipped.
pub fn load_sessions(dir: &Path, options: SessionOptions) -> (Vec<ModelSession>, Vec<String>) {
    let mut folders: Vec<PathBuf> = if dir.join(crate::package::CARD_FILE).is_file() {
        vec![dir.to_path_buf()]
    } else {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(crate::package::CARD_FILE).is_file())
            .collect()
    };
    folders.sort();
    let mut sessions = Vec::new();
    let mut problems = Vec::new();
    for folder in folders {
        match ModelPackage::open(&folder)
            .map_err(|e| e.to_string())
            .and_then(|p| ModelSession::load(p, options.clone()).map_err(|e| e.to_string()))
        {
            Ok(s) => sessions.push(s),
            Err(e) => problems.push(format!("{}: {e}", folder.display())),
        }
    }
    (sessions, problems)
}

/// Runs once, before the first request, each shape the server will use:
/// every batch size the worker runs at the native size, and where a new
/// shape costs a compile or an algorithm search (OpenVINO, a GPU) the
/// page's other canvas sizes within `max_pixels` at batch 1.
pub fn warm_up(
    session: &mut ModelSession,
    batch_sizes: &[usize],
    max_pixels: u64,
) -> Result<(), SynthesisError> {
    let card = session.package.card.clone();
    let execution = session.execution();
    let per_shape = execution.compiles_per_shape() || execution.device != "cpu";
    let canvases = card.canvas_sizes(max_pixels);
    let shapes = canvases.iter().flat_map(|canvas| {
        let sizes: &[usize] = match canvas.name {
            "native" => batch_sizes,
            _ if per_shape => &[1],
            _ => &[],
        };
        sizes.iter().map(move |&n| (canvas, n))
    });
    for (canvas, n) in shapes {
        let work = blank_work(&card, canvas.width, canvas.height)?;
        let started = std::time::Instant::now();
        pipeline::generate_batch(session, &vec![work; n])?;
        tracing::info!(
            model = %card.name,
            batch = n,
            width = canvas.width,
            height = canvas.height,
            ms = started.elapsed().as_millis() as u64,
            "warmed up"
        );
    }
    Ok(())
}

/// A map of class 0 at `width`×`height`, with what the card's graph needs beside it.
fn blank_work(card: &ModelCard, width: usize, height: usize) -> Result<Work, MapError> {
    let pixels = width * height;
    let label = LabelMap::new(width, height, vec![0; pixels], card)?;
    Ok(Work {
        label,
        edges: card.uses_instances.then(|| vec![0u8; pixels]),
        position: card
            .uses_positional_encoding
            .then(|| vec![0f32; 2 * pixels]),
        style: match card.z_dim {
            Some(_) => StyleInput::Seed(0),
            None => StyleInput::None,
        },
        regions: Vec::new(),
    })
}
