//! `easel attach-photo-segmenter`: a TFLite segmenter of real photographs
//! (the shared DeepLabV3 + MobileNetV2 on ADE20K, or the user's own with
//! its labels) translated into the package's `photo_segmenter.onnx`, its
//! classes mapped to the package's by a mapping table, and named in the
//! card with its input contract, provenance and refinements.

use std::path::{Path, PathBuf};

use super::spade::sha256_file;
use super::tflite::{self, Head, TfliteError};
use crate::package::card::{PhotoInput, PhotoSegmenterCard, RefineBy, Refinement};
use crate::package::mapping::{ClassMapping, MappingError, SegmenterLabels};
use crate::package::{ModelCard, ModelPackage, PackageError, SourceFile, CARD_FILE};

/// The graph's file name in a package.
pub const PHOTO_SEGMENTER_FILE: &str = "photo_segmenter.onnx";

/// Said of the shared DeepLab segmenter when it is attached.
pub const DEEPLAB_PROVENANCE: &str = "DeepLabV3 + MobileNetV2 trained on ADE20K, from Google's \
    DeepLab model zoo (tensorflow/models, Apache-2.0) as converted to TFLite and published on TF Hub \
    (lite-model/deeplabv3-mobilenetv2-ade20k/1); translated to ONNX by easel";

#[derive(Debug, thiserror::Error)]
pub enum PhotoSegmenterError {
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{path}: {source}")]
    Tflite { path: String, source: TfliteError },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("the segmenter scores {classes} classes but its labels ({labels}) name {names}; give the labels file it was trained with (--labels)")]
    LabelCount {
        classes: usize,
        labels: String,
        names: usize,
    },
    #[error("--refine {0}")]
    Refine(String),
    #[error("--head {path}: {problem}")]
    Head { path: String, problem: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    CardJson(serde_json::Error),
}

/// What to attach, and to which package.
#[derive(Debug, Clone)]
pub struct PhotoSegmenterImport {
    pub package: PathBuf,
    pub tflite: PathBuf,
    /// Its classes: a built-in labels name (`ade20k`) or a labels file.
    pub labels: String,
    /// A mapping file; None: the built-in one for the package's table, or by name.
    pub mapping: Option<String>,
    /// The values black and white take at the network's input.
    pub range: [f32; 2],
    pub refine: Vec<Refinement>,
    pub provenance: String,
    /// A trained head (JSON, `python -m easel_training photo-head`).
    pub head: Option<PathBuf>,
    /// Also give the segmenter's raw scores as the output `logits` (what
    /// the head is trained on).
    pub scores: bool,
}

/// A head `python -m easel_training photo-head` wrote: one row of weights
/// over the segmenter's classes per package class, and a bias.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TrainedHead {
    /// The package classes, by name, in the rows' order.
    pub classes: Vec<String>,
    pub weight: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct PhotoSegmenterReport {
    pub card: ModelCard,
    /// Package classes the segmenter never answers.
    pub never: Vec<String>,
}

/// Translates and writes the graph, then the card (a failure in between
/// leaves the package as it was, plus an unnamed file).
pub fn attach(req: &PhotoSegmenterImport) -> Result<PhotoSegmenterReport, PhotoSegmenterError> {
    let package = ModelPackage::open(&req.package)?;
    let mut card = package.card.clone();
    let labels = SegmenterLabels::load(&req.labels)?;
    let mapping = ClassMapping::for_package(
        &labels,
        &card.class_table,
        &card.classes,
        req.mapping.as_deref(),
    )?;
    let resolved = mapping.resolve(&labels, &card.classes)?;
    check_refinements(&req.refine, &card)?;
    let path = req.tflite.display().to_string();
    let bytes = std::fs::read(&req.tflite).map_err(|source| PhotoSegmenterError::Read {
        path: path.clone(),
        source,
    })?;
    let tflite_error = |source| PhotoSegmenterError::Tflite {
        path: path.clone(),
        source,
    };
    let model = tflite::Model::read(&bytes).map_err(tflite_error)?;
    let (head, head_source) = match &req.head {
        Some(path) => {
            let (head, source) = trained_head(path, &card, labels.names.len())?;
            (head, Some(source))
        }
        None => (
            Head::Mapped {
                kept: resolved.kept.clone(),
                package: resolved.package.iter().map(|&p| p as i64).collect(),
            },
            None,
        ),
    };
    let (graph, contract) =
        tflite::translate(&model, &head, req.scores, "photo_segmenter").map_err(tflite_error)?;
    if contract.classes != labels.names.len() {
        return Err(PhotoSegmenterError::LabelCount {
            classes: contract.classes,
            labels: labels.source,
            names: labels.names.len(),
        });
    }
    let never: Vec<String> = card
        .classes
        .iter()
        .enumerate()
        .filter(|(i, _)| !resolved.package.contains(i))
        .map(|(_, c)| c.name.clone())
        .collect();
    card.photo_segmenter = Some(PhotoSegmenterCard {
        file: PHOTO_SEGMENTER_FILE.into(),
        labels: labels.source.clone(),
        mapping: mapping.source.clone(),
        pairs: mapping
            .pairs()
            .map(|(f, t)| [f.to_string(), t.to_string()])
            .collect(),
        input: PhotoInput {
            width: contract.input.0,
            height: contract.input.1,
            range: req.range,
        },
        refine: req.refine.clone(),
        source: SourceFile {
            file: file_name(&req.tflite),
            sha256: sha256_file(&req.tflite).map_err(|source| PhotoSegmenterError::Read {
                path: path.clone(),
                source,
            })?,
        },
        head: head_source,
        provenance: req.provenance.clone(),
    });
    let card_json = serde_json::to_vec_pretty(&card).map_err(PhotoSegmenterError::CardJson)?;
    write(&package.dir.join(PHOTO_SEGMENTER_FILE), &graph.encode())?;
    write(&package.dir.join(CARD_FILE), &card_json)?;
    Ok(PhotoSegmenterReport { card, never })
}

/// Refinements name the package's classes and need its own segmenter.
fn check_refinements(refine: &[Refinement], card: &ModelCard) -> Result<(), PhotoSegmenterError> {
    if refine.is_empty() {
        return Ok(());
    }
    let by_segmenter = refine.iter().any(|r| r.by == RefineBy::Segmenter);
    if by_segmenter && card.segmenter.is_none() {
        return Err(PhotoSegmenterError::Refine(format!(
            "needs the package's own segmenter to decide inside the photo segmenter's regions, and model {} has none (`easel import-segmenter` attaches one)",
            card.name
        )));
    }
    for name in refine.iter().flat_map(|r| r.within.iter().chain(&r.take)) {
        if !card.classes.iter().any(|c| &c.name == name) {
            let known: Vec<&str> = card.classes.iter().map(|c| c.name.as_str()).collect();
            return Err(PhotoSegmenterError::Refine(format!(
                "names `{name}`, which model {} does not have (its classes: {})",
                card.name,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// The trained head in `path`, its rows the package's classes by name.
fn trained_head(
    path: &Path,
    card: &ModelCard,
    classes: usize,
) -> Result<(Head, SourceFile), PhotoSegmenterError> {
    let shown = path.display().to_string();
    let problem = |problem: String| PhotoSegmenterError::Head {
        path: shown.clone(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    let trained: TrainedHead = serde_json::from_str(&text).map_err(|e| problem(e.to_string()))?;
    let mut package = Vec::new();
    for name in &trained.classes {
        let index = card
            .classes
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| {
                problem(format!(
                    "names class `{name}`, which model {} does not have",
                    card.name
                ))
            })?;
        package.push(index as i64);
    }
    if trained.weight.len() != package.len()
        || trained.bias.len() != package.len()
        || trained.weight.iter().any(|row| row.len() != classes)
    {
        return Err(problem(format!(
            "needs one row of {classes} weights and one bias for each of its {} classes",
            package.len()
        )));
    }
    let head = Head::Linear {
        weight: trained.weight.concat(),
        bias: trained.bias,
        package,
    };
    let sha256 = sha256_file(path).map_err(|e| problem(e.to_string()))?;
    Ok((
        head,
        SourceFile {
            file: file_name(path),
            sha256,
        },
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PhotoSegmenterError> {
    crate::atomic::write(path, bytes).map_err(|source| PhotoSegmenterError::Write {
        path: path.display().to_string(),
        source,
    })
}
