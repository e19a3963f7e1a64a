//! Loading model packages into sessions, and warming them up before the
//! first request.

use std::path::{Path, PathBuf};

use crate::inference::pipeline::{self, StyleInput, Work};
use crate::inference::runtime::{ModelSession, SessionOptions};
use crate::package::maps::LabelMap;
use crate::package::ModelPackage;

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

/// Runs each batch size the worker will use once at the native size, so
/// that no request pays for first-run set-up (on a GPU: cuDNN's search).
pub fn warm_up(session: &mut ModelSession, sizes: &[usize]) -> Result<(), String> {
    let card = session.package.card.clone();
    let (w, h) = (card.native.width, card.native.height);
    let label = LabelMap::new(w, h, vec![0; w * h], &card).map_err(|e| e.to_string())?;
    let edges = card.uses_instances.then(|| vec![0u8; w * h]);
    let style = match card.z_dim {
        Some(_) => StyleInput::Seed(0),
        None => StyleInput::None,
    };
    let position = card.uses_positional_encoding.then(|| vec![0f32; 2 * w * h]);
    let work = Work {
        label,
        edges,
        position,
        style,
        regions: Vec::new(),
    };
    for &size in sizes {
        let started = std::time::Instant::now();
        pipeline::generate_batch(session, &vec![work.clone(); size]).map_err(|e| e.to_string())?;
        tracing::info!(model = %card.name, size, ms = started.elapsed().as_millis() as u64, "warmed up");
    }
    Ok(())
}
