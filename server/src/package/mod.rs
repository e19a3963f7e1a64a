//! Model packages: a folder with `generator.onnx` (+ `encoder.onnx`, +
//! `segmenter.onnx`) and `model.json`, the model card that tells everything
//! else how to use them.

pub mod card;
pub mod classes;
pub mod graph;
pub mod map_png;
pub mod mapping;
pub mod maps;
pub mod npy;
pub mod presets;
pub mod sizes;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use card::*;
pub use presets::{PresetError, StylePreset, DEFAULT_PRESET_SPREAD};
pub use sizes::CanvasSize;

pub const CARD_FILE: &str = "model.json";
pub const GENERATOR_FILE: &str = "generator.onnx";
pub const ENCODER_FILE: &str = "encoder.onnx";
/// The segmenter graph `easel import-segmenter` writes (the card names it).
pub const SEGMENTER_FILE: &str = "segmenter.onnx";
/// Example label maps a package may carry, as PNGs in this folder.
pub const EXAMPLES_DIR: &str = "examples";
/// Pictures of the style presets, named in the card's `styles`.
pub const STYLES_DIR: &str = "styles";
/// Example and thumbnail files larger than this are skipped.
const MAX_EXAMPLE_BYTES: u64 = 8 << 20;

/// Hex digits of a digest shown to people (headers, logs): enough to tell
/// packages and style inputs apart.
const SHORT_DIGEST: usize = 12;

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The first hex digits of a digest, as headers show it.
pub fn short_digest(hex: &str) -> &str {
    hex.get(..SHORT_DIGEST).unwrap_or(hex)
}

/// A style preset's picture, as the package ships it.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumbnail {
    /// The file name in `styles/`, as the card names it.
    pub file: String,
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

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
        let card = ModelCard::from_json(&text).map_err(|e| PackageError::BadCard {
            path: card_path.display().to_string(),
            reason: e.to_string(),
        })?;
        if !dir.join(GENERATOR_FILE).is_file() {
            return Err(not(format!("{GENERATOR_FILE} is missing")));
        }
        if card.has_encoder && !dir.join(ENCODER_FILE).is_file() {
            return Err(not(format!(
                "the card names a style encoder but {ENCODER_FILE} is missing"
            )));
        }
        let segmenters = [
            ("a segmenter", card.segmenter.as_ref().map(|s| &s.file)),
            (
                "a photo segmenter",
                card.photo_segmenter.as_ref().map(|s| &s.file),
            ),
            (
                "a photo segmenter's head",
                card.photo_segmenter
                    .as_ref()
                    .and_then(|s| s.onnx.as_ref())
                    .map(|o| &o.head_file),
            ),
        ];
        for (what, file) in segmenters {
            if let Some(file) = file.filter(|f| !dir.join(f).is_file()) {
                return Err(not(format!("the card names {what} but {file} is missing")));
            }
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

    /// The segmenter graph, when the card names one.
    pub fn segmenter_path(&self) -> Option<PathBuf> {
        self.card.segmenter.as_ref().map(|s| self.dir.join(&s.file))
    }

    pub fn photo_segmenter_path(&self) -> Option<PathBuf> {
        self.card
            .photo_segmenter
            .as_ref()
            .map(|s| self.dir.join(&s.file))
    }

    /// easel's head over the scores of a photo segmenter brought as ONNX.
    pub fn photo_head_path(&self) -> Option<PathBuf> {
        self.card
            .photo_segmenter
            .as_ref()
            .and_then(|s| s.onnx.as_ref())
            .map(|o| self.dir.join(&o.head_file))
    }

    /// SHA-256 (hex) of everything that decides the package's images: the
    /// card and the graphs. It reads every byte of them, so callers read it
    /// once (a server, when a model's worker starts).
    pub fn digest(&self) -> std::io::Result<String> {
        let mut hasher = Sha256::new();
        let files = [
            Some(self.dir.join(CARD_FILE)),
            Some(self.generator_path()),
            self.encoder_path(),
        ];
        for path in files.into_iter().flatten() {
            let mut file = std::fs::File::open(&path)?;
            // Each file's length first, so that no two sets of files hash alike.
            hasher.update(file.metadata()?.len().to_le_bytes());
            std::io::copy(&mut file, &mut hasher)?;
        }
        Ok(format!("{:x}", hasher.finalize()))
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

    /// The pictures the card's style presets name (`styles/<file>`); a
    /// missing or oversized file is left out (the preset still works).
    pub fn thumbnails(&self) -> Vec<Thumbnail> {
        self.card
            .styles
            .iter()
            .filter_map(|preset| {
                let file = preset.thumbnail.clone()?;
                let path = self.dir.join(STYLES_DIR).join(&file);
                let small = std::fs::metadata(&path)
                    .is_ok_and(|m| m.is_file() && m.len() <= MAX_EXAMPLE_BYTES);
                let content_type = match path.extension()?.to_str()? {
                    "jpg" | "jpeg" => "image/jpeg",
                    "png" => "image/png",
                    "webp" => "image/webp",
                    _ => return None,
                };
                let bytes = small.then(|| std::fs::read(&path).ok()).flatten()?;
                Some(Thumbnail {
                    file,
                    bytes,
                    content_type,
                })
            })
            .collect()
    }
}

/// A file's SHA-256, in hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package_in(dir: &Path, generator: &[u8]) -> ModelPackage {
        let card = include_str!("../../tests/fixtures/fake_card.json");
        std::fs::write(dir.join(CARD_FILE), card).unwrap();
        std::fs::write(dir.join(GENERATOR_FILE), generator).unwrap();
        ModelPackage::open(dir).unwrap()
    }

    #[test]
    fn the_digest_follows_the_graph_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let first = package_in(tmp.path(), b"graph one").digest().unwrap();
        assert_eq!(first.len(), 64, "{first}");
        assert_eq!(
            first,
            package_in(tmp.path(), b"graph one").digest().unwrap()
        );
        let second = package_in(tmp.path(), b"graph two").digest().unwrap();
        assert_ne!(first, second);
        assert_eq!(short_digest(&second), &second[..12]);
    }

    #[test]
    fn a_card_naming_a_photo_segmenter_whose_file_is_missing_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut card: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/fake_card.json")).unwrap();
        card["photo_segmenter"] = serde_json::json!({
            "file": "photo_segmenter.onnx", "labels": "ade20k", "mapping": "by name",
            "pairs": [], "input": {"width": 513, "height": 513, "range": [-1.0, 1.0]},
            "source": {"file": "s.tflite", "sha256": "ab"}, "provenance": "a test"
        });
        std::fs::write(tmp.path().join(CARD_FILE), card.to_string()).unwrap();
        std::fs::write(tmp.path().join(GENERATOR_FILE), b"graph").unwrap();
        let e = ModelPackage::open(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("names a photo segmenter but photo_segmenter.onnx is missing"),
            "{e}"
        );
        std::fs::write(tmp.path().join("photo_segmenter.onnx"), b"graph").unwrap();
        let package = ModelPackage::open(tmp.path()).unwrap();
        assert_eq!(
            package.photo_segmenter_path(),
            Some(tmp.path().join("photo_segmenter.onnx"))
        );
        assert_eq!(package.photo_head_path(), None);
        // One brought as ONNX needs easel's head beside it.
        card["photo_segmenter"]["onnx"] = serde_json::json!({
            "input": "x", "input_layout": "nhwc", "output": "y", "output_layout": "nchw",
            "classes": 151, "head_file": "photo_segmenter_head.onnx"
        });
        std::fs::write(tmp.path().join(CARD_FILE), card.to_string()).unwrap();
        let e = ModelPackage::open(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("names a photo segmenter's head but photo_segmenter_head.onnx is missing"),
            "{e}"
        );
    }
}
