//! Importing reference SPADE checkpoints (`checkpoints/<name>/`) into model
//! packages: read opt.txt and the weights, determine the architecture, export
//! the graphs and write the package with its model card.

pub mod arch;
pub mod export;
mod family;
pub mod from_weights;
pub mod oasis;
pub mod opt;
pub mod synthetic;
pub mod weights;

use std::path::{Path, PathBuf};

use crate::import::checkpoint::{self, CheckpointError};
use crate::package::classes::{ClassTable, ClassTableError};
use crate::package::{
    AllowedSizes, Architecture, DontCare, Importer, ModelCard, ModelFamily, Size, Source,
    SourceFile, CARD_FILE, CARD_FORMAT, ENCODER_FILE, GENERATOR_FILE,
};
use arch::{ArchError, ArchFlags, GeneratorSpec, Layout, Modulation};
use export::{ExportError, ExportOptions};
use opt::TrainOptions;
use weights::Weights;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "{0} is not a folder; pass the checkpoint folder that holds <epoch>_net_G.pth and opt.txt"
    )]
    NoDir(String),
    #[error("{dir} has no {file}; {found}")]
    MissingGenerator {
        dir: String,
        file: String,
        found: String,
    },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Arch(#[from] ArchError),
    #[error(transparent)]
    Classes(#[from] ClassTableError),
    #[error(transparent)]
    Graph(#[from] ExportError),
    #[error("the encoder makes z of {encoder} values but the generator takes {generator}; are both files from the same run?")]
    ZDim { encoder: usize, generator: usize },
    #[error("{path} is not valid JSON: {source}; fix or remove it")]
    SideJson {
        path: String,
        source: serde_json::Error,
    },
    /// The card could not be written as JSON.
    #[error(transparent)]
    CardJson(serde_json::Error),
    #[error("the class table {table} has {table_len} classes, but the model has {label_nc} (label_nc){dontcare}; pass --classes with a table of {label_nc} classes")]
    ClassCount {
        table: String,
        table_len: usize,
        label_nc: usize,
        dontcare: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the package to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What `easel import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub checkpoint_dir: PathBuf,
    /// `latest` or an epoch number, as in `<epoch>_net_G.pth`.
    pub epoch: String,
    pub out: PathBuf,
    /// Built-in table name or file; None picks one from opt.txt or names classes by number.
    pub classes: Option<String>,
    pub name: Option<String>,
    pub flags: ArchFlags,
    pub export: ExportOptions,
    /// The licence of the weights, as the user states it (`--licence`).
    pub licence: Option<String>,
    /// OASIS folders: import the raw generator (`<epoch>_G.pth`) rather than
    /// the EMA weights OASIS tests with (`<epoch>_EMA.pth`).
    pub no_ema: bool,
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub card: ModelCard,
    pub spec: GeneratorSpec,
    pub notes: Vec<String>,
}

pub use crate::package::sha256_file;

fn source_file(path: &Path) -> Result<SourceFile, ImportError> {
    Ok(SourceFile {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: sha256_file(path).map_err(|source| ImportError::Read {
            path: path.display().to_string(),
            source,
        })?,
    })
}

fn epochs_in(dir: &Path) -> Vec<String> {
    let mut epochs: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix("_net_G.pth"))
                .map(str::to_string)
        })
        .collect();
    epochs.sort();
    epochs
}

fn note_untrained_spectral_vectors(w: &Weights, notes: &mut Vec<String>) {
    if w.power_iterations() > 0 {
        notes.push(format!(
            "{}: the stored spectral-norm vectors were never updated by training; applied one power iteration, \
             as PyTorch does on a first forward pass in training mode",
            w.origin()
        ));
    }
}

/// Picks the class table: the flag, else the dataset opt.txt names, else generic.
fn class_table(
    given: Option<ClassTable>,
    opt: Option<&TrainOptions>,
    spec: &GeneratorSpec,
    notes: &mut Vec<String>,
) -> Result<ClassTable, ImportError> {
    if let Some(table) = given {
        return Ok(table);
    }
    // The dataset named in opt.txt, else the class count, picks a built-in table.
    let by_mode = match opt.and_then(|o| o.get("dataset_mode")) {
        Some("coco") => Some("coco-stuff"),
        Some("ade20k") => Some("ade20k"),
        Some("cityscapes") => Some("cityscapes"),
        _ => None,
    };
    let by_count = match spec.label_nc {
        182 => Some("coco-stuff"),
        150 if spec.dontcare => Some("ade20k"),
        35 => Some("cityscapes"),
        _ => None,
    };
    let guess = by_mode.or(by_count).filter(|t| {
        ClassTable::builtin(t).is_some_and(|table| split_classes(&table, spec).is_ok())
    });
    match guess.and_then(ClassTable::builtin) {
        Some(t) => {
            notes.push(format!(
                "classes: using the built-in {} table (pass --classes to choose another)",
                t.source
            ));
            Ok(t)
        }
        None => {
            notes.push(format!(
                "classes: no class table given; named `class 0` … `class {}` (pass --classes FILE to name them)",
                spec.label_nc.saturating_sub(1)
            ));
            Ok(ClassTable::generic(spec.label_nc))
        }
    }
}

pub fn import(req: &ImportRequest) -> Result<ImportReport, ImportError> {
    let dir = &req.checkpoint_dir;
    if !dir.is_dir() {
        return Err(ImportError::NoDir(dir.display().to_string()));
    }
    let mut notes = Vec::new();
    let g_path = generator_file(req, &mut notes)?;
    let opt_path = dir.join("opt.txt");
    let opt = opt_path
        .is_file()
        .then(|| TrainOptions::read(&opt_path))
        .transpose()
        .map_err(ArchError::from)?;
    if opt.is_none() {
        notes.push(
            "no opt.txt: the architecture was read from the weights and the flags".to_string(),
        );
    }

    // A bad --classes file is reported before the (slow) checkpoint read.
    let given_table = req.classes.as_deref().map(ClassTable::load).transpose()?;
    let g_weights = Weights::new(
        checkpoint::read_state_dict(&g_path)?,
        &g_path.display().to_string(),
    );
    let mut flags = req.flags.clone();
    if flags.class_table_len.is_none() {
        flags.class_table_len = given_table.as_ref().map(|t| t.classes.len());
    }
    family::unsupported_family(&g_weights, opt.as_ref())?;
    let spec = if oasis::is_oasis(&g_weights) {
        oasis::generator_spec(&g_weights, opt.as_ref(), &flags, &mut notes)?
    } else {
        from_weights::generator_spec(&g_weights, opt.as_ref(), &flags)?
    };
    note_untrained_spectral_vectors(&g_weights, &mut notes);
    let table = class_table(given_table, opt.as_ref(), &spec, &mut notes)?;
    let (classes, dontcare) = split_classes(&table, &spec)?;

    let generator = export::generator(&spec, &g_weights, req.export)?;

    let e_path = dir.join(format!("{}_net_E.pth", req.epoch));
    let z_dim = style_dim(&spec);
    let encoder = if z_dim.is_some() && e_path.is_file() {
        let e_weights = Weights::new(
            checkpoint::read_state_dict(&e_path)?,
            &e_path.display().to_string(),
        );
        let e_spec = from_weights::encoder_spec(&e_weights, opt.as_ref())?;
        note_untrained_spectral_vectors(&e_weights, &mut notes);
        if Some(e_spec.z_dim) != z_dim {
            return Err(ImportError::ZDim {
                encoder: e_spec.z_dim,
                generator: z_dim.unwrap_or(0),
            });
        }
        let model = export::encoder(&e_spec, &e_weights, req.export)?;
        Some((e_spec, model))
    } else {
        if z_dim.is_some() {
            notes.push(format!(
                "no {} next to the generator: the package takes z (random or given) but no style image",
                e_path.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
        None
    };

    let name = req
        .name
        .clone()
        .or_else(|| {
            req.out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "model".into());
    let source = Source {
        checkpoint_dir: dir.display().to_string(),
        epoch: req.epoch.clone(),
        generator: source_file(&g_path)?,
        encoder: encoder.as_ref().map(|_| source_file(&e_path)).transpose()?,
        opt: opt.as_ref().map(|_| source_file(&opt_path)).transpose()?,
    };
    let mut card = model_card(&spec, name, &table, (classes, dontcare), source, req.export);
    card.has_encoder = encoder.is_some();
    card.training = side_json(dir, "training.json")?;
    card.evaluation = side_json(dir, "evaluation.json")?;
    card.architecture.norm_e = encoder.as_ref().map(|(e, _)| e.norm.to_string());
    card.licence = Some(req.licence.clone().unwrap_or_else(|| {
        let (code, repository, licence) = match card.family {
            ModelFamily::Clade => ("CLADE", "tzt101/CLADE", "CC BY-NC-SA 4.0 (non-commercial)"),
            ModelFamily::Oasis => ("OASIS", "boschresearch/OASIS", "AGPL-3.0"),
            ModelFamily::Spade => ("SPADE", "NVlabs/SPADE", "CC BY-NC-SA 4.0 (non-commercial)"),
        };
        format!(
            "not stated at import: the {code} reference code ({repository}) is {licence}; check the terms of \
             these weights, and re-import with --licence to record them"
        )
    }));

    let mut files = vec![(GENERATOR_FILE, generator.encode())];
    if let Some((_, model)) = &encoder {
        files.push((ENCODER_FILE, model.encode()));
    }
    let card_json = serde_json::to_vec_pretty(&card).map_err(ImportError::CardJson)?;
    files.push((CARD_FILE, card_json));
    write_package(&req.out, &files)?;
    Ok(ImportReport { card, spec, notes })
}

/// The style vector the generator takes: SPADE's z, or OASIS's noise
/// (a z for every pixel).
fn style_dim(spec: &GeneratorSpec) -> Option<usize> {
    spec.z_dim
        .or((spec.noise_dim > 0).then_some(spec.noise_dim))
}

/// The generator's weights file: `<epoch>_net_G.pth` (SPADE, CLADE and
/// easel's trainer), or OASIS's `models/<epoch>_EMA.pth`, preferred as
/// OASIS's test.py does, or `models/<epoch>_G.pth`.
fn generator_file(req: &ImportRequest, notes: &mut Vec<String>) -> Result<PathBuf, ImportError> {
    let dir = &req.checkpoint_dir;
    let epoch = &req.epoch;
    let g_path = dir.join(format!("{epoch}_net_G.pth"));
    if g_path.is_file() {
        return Ok(g_path);
    }
    let models = dir.join("models");
    let ema = models.join(format!("{epoch}_EMA.pth"));
    let raw = models.join(format!("{epoch}_G.pth"));
    match (ema.is_file(), raw.is_file(), req.no_ema) {
        (true, _, false) => {
            notes.push(format!(
                "weights: the EMA generator {} (OASIS tests with it; --no-ema imports {}_G.pth)",
                ema.display(),
                epoch
            ));
            return Ok(ema);
        }
        (_, true, true) => return Ok(raw),
        (false, true, false) => {
            notes.push(format!(
                "weights: {} (the folder has no EMA generator {epoch}_EMA.pth)",
                raw.display()
            ));
            return Ok(raw);
        }
        (true, false, true) => {
            return Err(ImportError::MissingGenerator {
                dir: models.display().to_string(),
                file: format!("{epoch}_G.pth"),
                found: "it has only the EMA generator; leave out --no-ema to import it".into(),
            })
        }
        (false, false, _) => {}
    }
    let epochs = epochs_in(dir);
    let oasis_iters = oasis_iters_in(&models);
    let found = if !oasis_iters.is_empty() {
        format!(
            "it is an OASIS checkpoint folder; iterations in models/: {}; pass --epoch with one of them",
            oasis_iters.join(", ")
        )
    } else if epochs.is_empty() {
        "it holds no <epoch>_net_G.pth (nor OASIS's models/<iter>_G.pth) at all: is this the folder training wrote (checkpoints/<name>/)?".to_string()
    } else {
        format!(
            "epochs there: {}; pass --epoch with one of them",
            epochs.join(", ")
        )
    };
    Err(ImportError::MissingGenerator {
        dir: dir.display().to_string(),
        file: format!("{epoch}_net_G.pth"),
        found,
    })
}

/// The iterations OASIS saved generators for in `models/`.
fn oasis_iters_in(models: &Path) -> Vec<String> {
    let mut iters: Vec<String> = std::fs::read_dir(models)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            name.strip_suffix("_EMA.pth")
                .or_else(|| name.strip_suffix("_G.pth"))
                .map(str::to_string)
        })
        .collect();
    iters.sort();
    iters.dedup();
    iters
}

type CardClasses = (Vec<crate::package::classes::ClassInfo>, Option<DontCare>);

/// The card of a generator without an encoder.
fn model_card(
    spec: &GeneratorSpec,
    name: String,
    table: &ClassTable,
    classes: CardClasses,
    source: Source,
    export: ExportOptions,
) -> ModelCard {
    let (height, width) = spec.native();
    ModelCard {
        format: CARD_FORMAT,
        name,
        family: match (spec.layout, spec.modulation) {
            (Layout::Oasis, _) => ModelFamily::Oasis,
            (Layout::Spade, Modulation::Spade) => ModelFamily::Spade,
            (Layout::Spade, Modulation::Clade) => ModelFamily::Clade,
        },
        class_table: table.source.clone(),
        classes: classes.0,
        dontcare: classes.1,
        uses_instances: spec.instance,
        uses_positional_encoding: spec.positional_encoding,
        z_dim: style_dim(spec),
        z_per_pixel: spec.noise_dim > 0,
        has_encoder: false,
        native: Size { width, height },
        sizes: AllowedSizes {
            fixed: spec.z_dim.is_some(),
            multiple_of: spec.size_multiple(),
        },
        precision: if export.half_weights { "fp16" } else { "fp32" }.into(),
        architecture: Architecture {
            norm_g: spec.norm.to_string(),
            ngf: spec.ngf,
            spade_hidden: spec.spade_hidden,
            num_upsampling_layers: spec.upsampling,
            semantic_nc: spec.semantic_nc(),
            norm_e: None,
        },
        source,
        importer: Importer {
            name: "easel".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        training: None,
        evaluation: None,
        licence: None,
        styles: Vec::new(),
        segmenter: None,
        photo_segmenter: None,
    }
}

/// `name` in the checkpoint folder as JSON, when it is there.
fn side_json(dir: &Path, name: &str) -> Result<Option<serde_json::Value>, ImportError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| ImportError::SideJson {
            path: path.display().to_string(),
            source,
        })
}

/// A package for a generated (random-weight) model, for benchmarks.
pub fn write_random_package(
    out: &Path,
    spec: &GeneratorSpec,
    generator: crate::import::onnx::proto::Model,
) -> Result<ModelCard, ImportError> {
    let table = ClassTable::generic(spec.label_nc);
    let classes = split_classes(&table, spec)?;
    let random = SourceFile {
        file: "random weights".into(),
        sha256: String::new(),
    };
    let source = Source {
        checkpoint_dir: String::new(),
        epoch: "random".into(),
        generator: random,
        encoder: None,
        opt: None,
    };
    let card = model_card(
        spec,
        match spec.layout {
            Layout::Spade => "random-coco-full",
            Layout::Oasis => "random-ade20k-oasis-full",
        }
        .into(),
        &table,
        classes,
        source,
        ExportOptions::default(),
    );
    let card_json = serde_json::to_vec_pretty(&card).map_err(ImportError::CardJson)?;
    write_package(
        out,
        &[(GENERATOR_FILE, generator.encode()), (CARD_FILE, card_json)],
    )?;
    Ok(card)
}

/// The table's classes for the model's label_nc, and the dontcare entry.
fn split_classes(table: &ClassTable, spec: &GeneratorSpec) -> Result<CardClasses, ImportError> {
    let n = spec.label_nc;
    let count_error = || ImportError::ClassCount {
        table: table.source.clone(),
        table_len: table.classes.len(),
        label_nc: n,
        dontcare: if spec.dontcare {
            " plus a dontcare class".into()
        } else {
            String::new()
        },
    };
    let len = table.classes.len();
    if len != n && !(spec.dontcare && len == n + 1) {
        return Err(count_error());
    }
    let classes = table.classes[..n].to_vec();
    let dontcare = spec.dontcare.then(|| {
        let info = table.classes.get(n);
        DontCare {
            index: n,
            name: info.map_or_else(|| "unlabeled".into(), |c| c.name.clone()),
            color: info.map_or_else(|| "#000000".into(), |c| c.color.clone()),
        }
    });
    Ok((classes, dontcare))
}

/// Writes every file into a sibling temporary folder, then moves it into
/// place, so a failed import never leaves a half-written package.
fn write_package(out: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), ImportError> {
    let err = |path: &Path| {
        let path = path.display().to_string();
        move |source| ImportError::Write { path, source }
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(err(parent))?;
    let stem = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{stem}.importing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(err(&tmp))?;
    for (name, bytes) in files {
        let path = tmp.join(name);
        std::fs::write(&path, bytes).map_err(err(&path))?;
    }
    if out.exists() {
        let old = parent.join(format!(".{stem}.replaced-{}", std::process::id()));
        std::fs::rename(out, &old).map_err(err(out))?;
        std::fs::rename(&tmp, out).map_err(err(out))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, out).map_err(err(out))?;
    }
    Ok(())
}
