//! Model packages: a folder with `generator.onnx` (+ `encoder.onnx`) and
//! `model.json`, the model card that tells everything else how to use them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::classes::ClassInfo;

pub const CARD_FILE: &str = "model.json";
pub const GENERATOR_FILE: &str = "generator.onnx";
pub const ENCODER_FILE: &str = "encoder.onnx";
pub const CARD_FORMAT: u32 = 1;
/// Example label maps a package may carry, as PNGs in this folder.
pub const EXAMPLES_DIR: &str = "examples";
/// Example files larger than this are skipped.
const MAX_EXAMPLE_BYTES: u64 = 8 << 20;

/// An example label map shipped with a package.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The file stem: `mountain-lake` for `examples/mountain-lake.png`.
    pub name: String,
    pub png: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{path} is not a model package: {reason}. Make one with `easel import <checkpoint-dir> --out {path}`")]
    NotAPackage { path: String, reason: String },
    #[error("{path}: the model card is not valid: {reason}")]
    BadCard { path: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Size {
    pub width: usize,
    pub height: usize,
}

/// Which label-map sizes the generator accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowedSizes {
    /// Only the native size (models that start from z).
    pub fixed: bool,
    /// Otherwise any height and width that are multiples of this.
    pub multiple_of: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DontCare {
    /// The class index the graph uses for it (label value 255 maps here).
    pub index: usize,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Architecture {
    pub norm_g: String,
    pub ngf: usize,
    pub spade_hidden: usize,
    pub num_upsampling_layers: crate::spade::arch::Upsampling,
    pub semantic_nc: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm_e: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceFile {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    pub checkpoint_dir: String,
    pub epoch: String,
    pub generator: SourceFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<SourceFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt: Option<SourceFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Importer {
    pub name: String,
    pub version: String,
}

/// `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelCard {
    pub format: u32,
    pub name: String,
    /// Where the class names came from: a built-in table, a file, or "generic".
    pub class_table: String,
    pub classes: Vec<ClassInfo>,
    pub dontcare: Option<DontCare>,
    pub uses_instances: bool,
    /// Some(z_dim) when the generator takes a style vector z.
    pub z_dim: Option<usize>,
    /// Whether `encoder.onnx` turns a style image into z.
    pub has_encoder: bool,
    pub native: Size,
    pub sizes: AllowedSizes,
    /// "fp32", or "fp16" when the weights are stored in half precision.
    pub precision: String,
    pub architecture: Architecture,
    pub source: Source,
    pub importer: Importer,
    /// What the model was trained on and for how long, from the checkpoint
    /// folder's `training.json` when the trainer wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub training: Option<serde_json::Value>,
    /// Evaluation figures, from the checkpoint folder's `evaluation.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub evaluation: Option<serde_json::Value>,
}

impl ModelCard {
    /// Label values a map may hold: the classes and the dontcare class.
    pub fn label_classes(&self) -> usize {
        self.classes.len() + self.dontcare.is_some() as usize
    }

    /// Why `height`×`width` cannot be generated, or None if it can.
    pub fn size_problem(&self, height: usize, width: usize) -> Option<String> {
        let native = &self.native;
        if self.sizes.fixed {
            return (height != native.height || width != native.width).then(|| {
                format!(
                    "the map is {width}×{height}, but this model starts from a style vector and only makes \
                     {}×{} images; resize the map to {}×{} (nearest neighbour)",
                    native.width, native.height, native.width, native.height
                )
            });
        }
        let m = self.sizes.multiple_of;
        (height == 0 || width == 0 || !height.is_multiple_of(m) || !width.is_multiple_of(m)).then(|| {
            let round = |v: usize| (v.div_ceil(m)).max(1) * m;
            format!(
                "the map is {width}×{height}, but this model needs width and height that are multiples of {m} \
                 (its native size is {}×{}); resize or pad it to {}×{}",
                native.width,
                native.height,
                round(width),
                round(height)
            )
        })
    }
}

/// A package on disk.
#[derive(Debug, Clone)]
pub struct ModelPackage {
    pub dir: PathBuf,
    pub card: ModelCard,
}

impl ModelPackage {
    pub fn open(dir: &Path) -> Result<Self, PackageError> {
        let not = |reason: String| PackageError::NotAPackage {
            path: dir.display().to_string(),
            reason,
        };
        let card_path = dir.join(CARD_FILE);
        let text = std::fs::read_to_string(&card_path)
            .map_err(|e| not(format!("cannot read {CARD_FILE}: {e}")))?;
        let card: ModelCard = serde_json::from_str(&text).map_err(|e| PackageError::BadCard {
            path: card_path.display().to_string(),
            reason: e.to_string(),
        })?;
        if card.format != CARD_FORMAT {
            return Err(PackageError::BadCard {
                path: card_path.display().to_string(),
                reason: format!(
                    "card format {} is not {CARD_FORMAT}; re-import the checkpoint with this easel",
                    card.format
                ),
            });
        }
        if !dir.join(GENERATOR_FILE).is_file() {
            return Err(not(format!("{GENERATOR_FILE} is missing")));
        }
        if card.has_encoder && !dir.join(ENCODER_FILE).is_file() {
            return Err(not(format!(
                "the card names a style encoder but {ENCODER_FILE} is missing"
            )));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            card,
        })
    }

    pub fn generator_path(&self) -> PathBuf {
        self.dir.join(GENERATOR_FILE)
    }

    pub fn encoder_path(&self) -> Option<PathBuf> {
        self.card.has_encoder.then(|| self.dir.join(ENCODER_FILE))
    }

    /// The package's example maps (`examples/*.png`), sorted by name. Names
    /// are kept to letters, digits, `-` and `_`, so they are safe in URLs.
    pub fn examples(&self) -> Vec<Example> {
        let mut examples: Vec<Example> = std::fs::read_dir(self.dir.join(EXAMPLES_DIR))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.metadata()
                    .is_ok_and(|m| m.is_file() && m.len() <= MAX_EXAMPLE_BYTES)
            })
            .filter_map(|e| {
                let path = e.path();
                let name = path.file_stem()?.to_str()?.to_string();
                let safe = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                let png = path.extension().is_some_and(|x| x == "png");
                (safe && png).then(|| {
                    Some(Example {
                        name,
                        png: std::fs::read(&path).ok()?,
                    })
                })?
            })
            .collect();
        examples.sort_by(|a, b| a.name.cmp(&b.name));
        examples
    }
}
