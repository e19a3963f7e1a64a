//! `easel attach-photo-segmenter`: a segmenter of real photographs (the
//! shared DeepLabV3 + MobileNetV2 on ADE20K, or the user's own with its
//! labels) as the package's `photo_segmenter.onnx`, its classes mapped to
//! the package's by a mapping table, and named in the card with its input
//! contract, provenance and refinements. A TFLite file is translated with
//! the head inside the graph; an ONNX file is kept as exported and easel
//! writes the head beside it (`onnx`).

mod onnx;

use std::path::{Path, PathBuf};

use super::scores_head::Head;
use super::spade::sha256_file;
use super::tflite::{self, TfliteError};
use crate::package::card::{
    Layout, Normalize, OnnxPorts, PhotoInput, PhotoSegmenterCard, RefineBy, Refinement,
};
use crate::package::mapping::{ClassMapping, MappingError, SegmenterLabels};
use crate::package::{ModelCard, ModelPackage, PackageError, SourceFile, CARD_FILE};

/// The network's file name in a package.
pub const PHOTO_SEGMENTER_FILE: &str = "photo_segmenter.onnx";
/// easel's head over an ONNX segmenter's scores.
pub const PHOTO_HEAD_FILE: &str = "photo_segmenter_head.onnx";

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
    /// An ONNX segmenter that cannot be fed or read as it stands.
    #[error("{path}: {problem}")]
    Onnx { path: String, problem: String },
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
    /// A TFLite or ONNX file, told apart by their bytes.
    pub network: PathBuf,
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
    /// Per-channel normalisation after the range.
    pub normalize: Option<Normalize>,
    /// How to feed and read an ONNX segmenter, where its graph does not
    /// say alone.
    pub ports: PortChoice,
}

/// Which of an ONNX graph's inputs and outputs to use, and how; each None
/// is read from the graph when it leaves no doubt.
#[derive(Debug, Clone, Default)]
pub struct PortChoice {
    pub input: Option<String>,
    pub input_layout: Option<Layout>,
    /// (width, height), for an input of free size.
    pub input_size: Option<(usize, usize)>,
    pub output: Option<String>,
    pub output_layout: Option<Layout>,
}

impl PortChoice {
    fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.input_layout.is_none()
            && self.input_size.is_none()
            && self.output.is_none()
            && self.output_layout.is_none()
    }
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

#[derive(Debug)]
pub struct PhotoSegmenterReport {
    pub card: ModelCard,
    /// Package classes the segmenter never answers.
    pub never: Vec<String>,
    /// The package's files as they were, to put back if the attached
    /// segmenter turns out not to run (`Backup::restore`).
    pub backup: Backup,
}

/// A network ready to write: its files and what the card says of it.
struct Prepared {
    /// (file name in the package, bytes)
    files: Vec<(&'static str, Vec<u8>)>,
    input: (usize, usize),
    classes: usize,
    onnx: Option<OnnxPorts>,
}

/// Writes the network and its head, then the card (a failure in between
/// leaves the package's card as it was, plus unnamed files).
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
    let path = req.network.display().to_string();
    let bytes = std::fs::read(&req.network).map_err(|source| PhotoSegmenterError::Read {
        path: path.clone(),
        source,
    })?;
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
    let prepared = if bytes.get(4..8) == Some(b"TFL3".as_slice()) {
        if !req.ports.is_empty() {
            return Err(PhotoSegmenterError::Onnx {
                path,
                problem: "is a TFLite model, whose input and output the translation knows; --input, --output, --layout and --input-size are for ONNX segmenters".into(),
            });
        }
        translated(req, &bytes, &head, &path)?
    } else {
        onnx::prepare(req, &bytes, &head, labels.names.len())?
    };
    if prepared.classes != labels.names.len() {
        return Err(PhotoSegmenterError::LabelCount {
            classes: prepared.classes,
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
            width: prepared.input.0,
            height: prepared.input.1,
            range: req.range,
            normalize: req.normalize.clone(),
        },
        refine: req.refine.clone(),
        source: SourceFile {
            file: file_name(&req.network),
            sha256: sha256_file(&req.network).map_err(|source| PhotoSegmenterError::Read {
                path: path.clone(),
                source,
            })?,
        },
        head: head_source,
        provenance: req.provenance.clone(),
        onnx: prepared.onnx,
    });
    let card_json = serde_json::to_vec_pretty(&card).map_err(PhotoSegmenterError::CardJson)?;
    let names = prepared
        .files
        .iter()
        .map(|(name, _)| *name)
        .chain([CARD_FILE]);
    let backup = Backup::take(&package.dir, names)?;
    for (name, bytes) in &prepared.files {
        write(&package.dir.join(name), bytes)?;
    }
    write(&package.dir.join(CARD_FILE), &card_json)?;
    Ok(PhotoSegmenterReport {
        card,
        never,
        backup,
    })
}

/// A TFLite network translated, the head inside the graph.
fn translated(
    req: &PhotoSegmenterImport,
    bytes: &[u8],
    head: &Head,
    path: &str,
) -> Result<Prepared, PhotoSegmenterError> {
    let tflite_error = |source| PhotoSegmenterError::Tflite {
        path: path.to_string(),
        source,
    };
    let model = tflite::Model::read(bytes).map_err(tflite_error)?;
    let (graph, contract) =
        tflite::translate(&model, head, req.scores, "photo_segmenter").map_err(tflite_error)?;
    Ok(Prepared {
        files: vec![(PHOTO_SEGMENTER_FILE, graph.encode())],
        input: contract.input,
        classes: contract.classes,
        onnx: None,
    })
}

/// Files of a package as they were before an attach wrote over them.
#[derive(Debug)]
pub struct Backup {
    dir: PathBuf,
    /// (file name, its bytes; None where there was no such file)
    files: Vec<(String, Option<Vec<u8>>)>,
}

impl Backup {
    fn take<'a>(
        dir: &Path,
        names: impl Iterator<Item = &'a str>,
    ) -> Result<Self, PhotoSegmenterError> {
        let mut files = Vec::new();
        for name in names {
            let path = dir.join(name);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(PhotoSegmenterError::Read {
                        path: path.display().to_string(),
                        source,
                    })
                }
            };
            files.push((name.to_string(), bytes));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Puts the files back as they were (and removes those there were not).
    pub fn restore(self) -> Result<(), PhotoSegmenterError> {
        for (name, bytes) in self.files {
            let path = self.dir.join(&name);
            match bytes {
                Some(bytes) => write(&path, &bytes)?,
                None => match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(PhotoSegmenterError::Write {
                            path: path.display().to_string(),
                            source: e,
                        })
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }
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
