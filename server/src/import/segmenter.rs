//! The trainer's segmenter (training/easel_training/segmenter.py's
//! CompactUNet) as a package's `segmenter.onnx`: an RGB photo in [-1, 1] to
//! the package's class indices, for any photo size. `easel import-segmenter`
//! attaches it to a package and names it in the card.
//!
//! As in the trainer's `predict`: the photo is padded at the bottom and right,
//! replicating its edges, to a multiple of 2^(LEVELS-1), and the answer is
//! cropped back. Batch norms (eval mode) fold into the convolutions before
//! them; the class of each pixel is the argmax of the logits, mapped to the
//! package's classes by name.

use std::path::{Path, PathBuf};

use super::checkpoint::{self, CheckpointError, StateDict, Tensor};
use super::onnx::proto::{Dim, ElemType, Model};
use super::onnx::{int, string, GraphBuilder};
use super::spade::export::ExportOptions;
use super::spade::sha256_file;
use super::spade::weights::{Layer, Weights, WeightsError};
use crate::package::classes::{ClassInfo, ClassTable, ClassTableError};
use crate::package::graph::{CLASSES_OUTPUT, PHOTO_INPUT};
use crate::package::{
    ModelCard, ModelPackage, PackageError, SegmenterCard, SourceFile, CARD_FILE, SEGMENTER_FILE,
};
use crate::random::Rng;

/// Resolutions of the U-Net, as segmenter.py's LEVELS.
pub const LEVELS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum SegmenterImportError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Classes(#[from] ClassTableError),
    #[error(transparent)]
    Architecture(#[from] ArchitectureError),
    /// The segmenter's classes do not all name a class of the package.
    #[error("{0}")]
    ClassMatch(String),
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
    /// The card could not be written as JSON.
    #[error(transparent)]
    CardJson(serde_json::Error),
}

/// Not the trainer's CompactUNet, or a tensor of the wrong shape.
#[derive(Debug, thiserror::Error)]
pub enum ArchitectureError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(
        "{origin} is not a segmenter from easel's trainer (`python -m easel_training segmenter`): it has no `{missing}`"
    )]
    NotASegmenter {
        origin: String,
        missing: &'static str,
    },
    #[error(
        "{origin} is a U-Net of another shape than the trainer's CompactUNet ({LEVELS} levels, an RGB input, a 1×1 head)"
    )]
    OtherShape { origin: String },
    #[error(
        "{origin}: `up.{level}` has shapes {weight:?} and {bias:?}, but the CompactUNet needs [{inputs}, {channels}, 2, 2] and [{channels}]"
    )]
    Upsampling {
        origin: String,
        level: usize,
        weight: Vec<usize>,
        bias: Vec<usize>,
        inputs: usize,
        channels: usize,
    },
    #[error("{origin} has tensors the trainer's CompactUNet does not use: {}; it is another network", .unused.join(", "))]
    Unused { origin: String, unused: Vec<String> },
}

/// What `easel import-segmenter` was asked to do.
#[derive(Debug, Clone)]
pub struct SegmenterImport {
    /// The trainer's segmenter weights (`python -m easel_training segmenter --out`).
    pub weights: PathBuf,
    /// The package to attach it to.
    pub package: PathBuf,
    /// The classes it was trained with: a built-in table or a file. None:
    /// the package's own classes, in their order.
    pub classes: Option<String>,
    pub export: ExportOptions,
}

#[derive(Debug, Clone)]
pub struct SegmenterReport {
    /// The package's card, with its segmenter entry.
    pub card: ModelCard,
    pub spec: SegmenterSpec,
    pub notes: Vec<String>,
}

/// A CompactUNet's shape, read from its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmenterSpec {
    /// Logits it answers (the trainer's label_nc).
    pub classes: usize,
    /// Channels at full resolution; level i has width·2^i.
    pub width: usize,
}

impl SegmenterSpec {
    fn widths(&self) -> Vec<usize> {
        (0..LEVELS).map(|i| self.width << i).collect()
    }
}

/// Exports the segmenter in `req.weights` into `req.package`: writes
/// `segmenter.onnx`, then the card with its `segmenter` entry (a failure in
/// between leaves the package as it was, plus an unnamed file).
pub fn import_segmenter(req: &SegmenterImport) -> Result<SegmenterReport, SegmenterImportError> {
    let package = ModelPackage::open(&req.package)?;
    // A bad --classes file is reported before the checkpoint is read.
    let given = req.classes.as_deref().map(ClassTable::load).transpose()?;
    let weights = Weights::new(
        checkpoint::read_state_dict(&req.weights)?,
        &req.weights.display().to_string(),
    );
    let spec = segmenter_spec(&weights)?;
    let mut card = package.card.clone();
    let mut notes = Vec::new();
    let table = match given {
        Some(table) => table,
        None => {
            if spec.classes != card.classes.len() {
                return Err(SegmenterImportError::ClassMatch(format!(
                    "the segmenter answers {} classes, but model {} has {}; pass --classes with the table it was trained with",
                    spec.classes,
                    card.name,
                    card.classes.len()
                )));
            }
            ClassTable {
                source: card.class_table.clone(),
                classes: card.classes.clone(),
            }
        }
    };
    let to_package = match_classes(&table, spec.classes, &card)?;
    let never: Vec<&str> = (0..card.classes.len())
        .filter(|&i| !to_package.contains(&(i as i64)))
        .map(|i| card.classes[i].name.as_str())
        .collect();
    if !never.is_empty() {
        notes.push(format!(
            "the segmenter never answers {}: it was not trained on them",
            never.join(", ")
        ));
    }
    let model = graph(&spec, &weights, &to_package, req.export)?;
    card.segmenter = Some(SegmenterCard {
        file: SEGMENTER_FILE.into(),
        class_table: table.source.clone(),
        precision: if req.export.half_weights {
            "fp16"
        } else {
            "fp32"
        }
        .into(),
        source: SourceFile {
            file: req
                .weights
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256: sha256_file(&req.weights).map_err(|source| SegmenterImportError::Read {
                path: req.weights.display().to_string(),
                source,
            })?,
        },
    });
    let card_json = serde_json::to_vec_pretty(&card).map_err(SegmenterImportError::CardJson)?;
    write_replacing(&package.dir.join(SEGMENTER_FILE), &model.encode())?;
    write_replacing(&package.dir.join(CARD_FILE), &card_json)?;
    Ok(SegmenterReport { card, spec, notes })
}

/// Writes `bytes` to `path` atomically, so that a server reading the
/// package never sees half a file.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), SegmenterImportError> {
    crate::atomic::write(path, bytes).map_err(|source| SegmenterImportError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// The package class of each of the segmenter's `count` classes (named by
/// `table`): the same name, else the same COCO-Stuff name, as the painting
/// page carries a painting between models.
pub fn match_classes(
    table: &ClassTable,
    count: usize,
    card: &ModelCard,
) -> Result<Vec<i64>, SegmenterImportError> {
    let len = table.classes.len();
    // A table may list the dontcare class after the trained ones.
    if len != count && len != count + 1 {
        return Err(SegmenterImportError::ClassMatch(format!(
            "the class table {} has {len} classes, but the segmenter answers {count}; pass --classes with the table it was trained with",
            table.source
        )));
    }
    let coco = |c: &ClassInfo| c.coco_stuff.clone().unwrap_or_else(|| c.name.clone());
    let mut to_package = Vec::with_capacity(count);
    let mut unmatched = Vec::new();
    for class in &table.classes[..count] {
        let found = card
            .classes
            .iter()
            .position(|p| p.name == class.name)
            .or_else(|| card.classes.iter().position(|p| coco(p) == coco(class)));
        match found {
            Some(i) => to_package.push(i as i64),
            None => unmatched.push(class.name.clone()),
        }
    }
    if !unmatched.is_empty() {
        return Err(SegmenterImportError::ClassMatch(format!(
            "model {} has no class named like the segmenter's {} (by name or COCO-Stuff name); its classes are {}. \
             Attach a segmenter trained on this model's classes",
            card.name,
            unmatched.join(", "),
            card.classes
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(to_package)
}

/// Reads the U-Net's shape from its weights; a state dict of anything else
/// is refused for what it is.
pub fn segmenter_spec(w: &Weights) -> Result<SegmenterSpec, ArchitectureError> {
    let unet = [
        "down.0.0.weight",
        "up.0.weight",
        "merge.0.0.weight",
        "head.weight",
    ];
    if let Some(&missing) = unet.iter().find(|&&k| !w.has(k)) {
        return Err(ArchitectureError::NotASegmenter {
            origin: w.origin().to_string(),
            missing,
        });
    }
    let first = w.shape("down.0.0.weight")?;
    let head = w.shape("head.weight")?;
    let (width, classes) = (first[0], head[0]);
    let deepest = format!("down.{}.0.weight", LEVELS - 1);
    let deeper = format!("down.{LEVELS}.0.weight");
    if first != [width, 3, 3, 3]
        || head != [classes, width, 1, 1]
        || !w.has(&deepest)
        || w.has(&deeper)
    {
        return Err(ArchitectureError::OtherShape {
            origin: w.origin().to_string(),
        });
    }
    Ok(SegmenterSpec { classes, width })
}

/// The graph: `photo` (N, 3, H, W) in [-1, 1] → `classes` (N, H, W), the
/// package class of each pixel (`to_package[segmenter class]`).
pub fn graph(
    spec: &SegmenterSpec,
    w: &Weights,
    to_package: &[i64],
    opts: ExportOptions,
) -> Result<Model, ArchitectureError> {
    let mut g = GraphBuilder::new("easel_segmenter");
    g.half_weights = opts.half_weights;
    let named = |n: &str| Dim::Named(n.into());
    let photo = g.input(
        PHOTO_INPUT,
        ElemType::Float,
        vec![
            named("batch"),
            Dim::Fixed(3),
            named("height"),
            named("width"),
        ],
    );
    // [h, w], and the padding that rounds each up to a multiple of 2^(LEVELS-1).
    let multiple = 1i64 << (LEVELS - 1);
    let shape = g.node("Shape", &[&photo], vec![], "shape");
    let (from, to) = (g.vec_i64("hw_from", &[2]), g.vec_i64("hw_to", &[4]));
    let hw = g.node("Slice", &[&shape, &from, &to], vec![], "hw");
    let m = g.vec_i64("multiple", &[multiple]);
    let m_less_one = g.vec_i64("multiple_less_one", &[multiple - 1]);
    let rounded_up = g.binary("Add", &hw, &m_less_one);
    let blocks = g.binary("Div", &rounded_up, &m);
    let padded_hw = g.binary("Mul", &blocks, &m);
    let extra = g.binary("Sub", &padded_hw, &hw);
    // ONNX pads: the begins of all four axes, then their ends.
    let begins = g.vec_i64("pad_begins", &[0, 0, 0, 0, 0, 0]);
    let pads = g.node("Concat", &[&begins, &extra], vec![int("axis", 0)], "pads");
    let mut x = g.node(
        "Pad",
        &[&photo, &pads],
        vec![string("mode", "edge")],
        "padded",
    );

    let widths = spec.widths();
    let mut skips = Vec::with_capacity(LEVELS);
    for (i, &channels) in widths.iter().enumerate() {
        let inputs = if i == 0 { 3 } else { widths[i - 1] };
        if i > 0 {
            x = g.max_pool(&x, 2, 2);
        }
        x = block(&mut g, w, &x, &format!("down.{i}"), inputs, channels)?;
        skips.push(x.clone());
    }
    for i in (0..LEVELS - 1).rev() {
        let up = transposed(&mut g, w, &x, i, widths[i + 1], widths[i])?;
        let joined = g.node("Concat", &[&up, &skips[i]], vec![int("axis", 1)], "skip");
        x = block(
            &mut g,
            w,
            &joined,
            &format!("merge.{i}"),
            2 * widths[i],
            widths[i],
        )?;
    }
    let head = w.layer("head", &[spec.classes, spec.width, 1, 1], true)?;
    let logits = conv(&mut g, &x, &head, "head");
    let best = g.node(
        "ArgMax",
        &[&logits],
        vec![int("axis", 1), int("keepdims", 0)],
        "argmax",
    );
    let starts = g.vec_i64("crop_starts", &[0, 0]);
    let axes = g.vec_i64("crop_axes", &[1, 2]);
    let cropped = g.node("Slice", &[&best, &starts, &hw, &axes], vec![], "cropped");
    let identity = to_package.iter().enumerate().all(|(i, &c)| c == i as i64);
    let classes = if identity {
        cropped
    } else {
        let table = g.const_i64("to_package", &[to_package.len()], to_package);
        g.node(
            "Gather",
            &[&table, &cropped],
            vec![int("axis", 0)],
            "package_class",
        )
    };
    g.output(
        &classes,
        CLASSES_OUTPUT,
        ElemType::Int64,
        vec![named("batch"), named("height"), named("width")],
    );
    let unused = w.unused();
    if !unused.is_empty() {
        return Err(ArchitectureError::Unused {
            origin: w.origin().to_string(),
            unused,
        });
    }
    Ok(g.finish("easel's segmenter (CompactUNet), imported by easel", vec![]))
}

/// segmenter.py's `_block`: twice a bias-free 3×3 conv, batch norm and ReLU,
/// each batch norm folded into its conv.
fn block(
    g: &mut GraphBuilder,
    w: &Weights,
    x: &str,
    prefix: &str,
    inputs: usize,
    channels: usize,
) -> Result<String, ArchitectureError> {
    let mut x = x.to_string();
    for (conv_index, norm_index, fan_in) in [(0, 1, inputs), (3, 4, channels)] {
        let mut layer = w.layer(
            &format!("{prefix}.{conv_index}"),
            &[channels, fan_in, 3, 3],
            false,
        )?;
        let bn = w.batch_norm(&format!("{prefix}.{norm_index}"), channels)?;
        for (o, weights) in layer.weight.chunks_exact_mut(fan_in * 9).enumerate() {
            weights.iter_mut().for_each(|v| *v *= bn.scale[o]);
        }
        layer.bias = Some(bn.shift);
        let hint = format!("{}_{conv_index}", prefix.replace('.', "_"));
        let y = conv(g, &x, &layer, &hint);
        x = g.relu(&y);
    }
    Ok(x)
}

/// `up.{i}`: a 2×2 transposed conv, stride 2, from `inputs` to `channels`.
fn transposed(
    g: &mut GraphBuilder,
    w: &Weights,
    x: &str,
    i: usize,
    inputs: usize,
    channels: usize,
) -> Result<String, ArchitectureError> {
    let weight = w.take(&format!("up.{i}.weight"))?;
    let bias = w.take(&format!("up.{i}.bias"))?;
    if weight.shape != [inputs, channels, 2, 2] || bias.shape != [channels] {
        return Err(ArchitectureError::Upsampling {
            origin: w.origin().to_string(),
            level: i,
            weight: weight.shape.clone(),
            bias: bias.shape.clone(),
            inputs,
            channels,
        });
    }
    let wt = g.weight(&format!("up_{i}_w"), &weight.shape, &weight.data);
    let b = g.weight(&format!("up_{i}_b"), &[channels], &bias.data);
    Ok(g.conv_transpose(x, &wt, Some(&b), 2, 2, &format!("up_{i}")))
}

fn conv(g: &mut GraphBuilder, x: &str, layer: &Layer, hint: &str) -> String {
    let k = layer.shape[2];
    let weight = g.weight(&format!("{hint}_w"), &layer.shape, &layer.weight);
    let bias = layer
        .bias
        .as_ref()
        .map(|b| g.weight(&format!("{hint}_b"), &[b.len()], b));
    g.conv(x, &weight, bias.as_deref(), k, 1, hint)
}

/// A CompactUNet's state dict with random weights and batch-norm
/// statistics, named as PyTorch names it: for tests of the export and for
/// benchmarks without a trained segmenter.
pub fn random_state_dict(spec: &SegmenterSpec, seed: u64) -> StateDict {
    let mut rng = Rng::new(seed);
    let mut sd = StateDict::new();
    let mut put = |key: String, shape: Vec<usize>, lo: f32, hi: f32| {
        let data = (0..shape.iter().product::<usize>())
            .map(|_| rng.range(lo, hi))
            .collect();
        sd.insert(key, Tensor { shape, data });
    };
    let widths = spec.widths();
    let blocks = (0..LEVELS)
        .map(|i| {
            let inputs = if i == 0 { 3 } else { widths[i - 1] };
            (format!("down.{i}"), inputs, widths[i])
        })
        .chain((0..LEVELS - 1).map(|i| (format!("merge.{i}"), 2 * widths[i], widths[i])));
    for (prefix, inputs, channels) in blocks {
        for (conv_index, fan_in) in [(0, inputs), (3, channels)] {
            let bound = (6.0 / (fan_in * 9) as f32).sqrt();
            let shape = vec![channels, fan_in, 3, 3];
            put(
                format!("{prefix}.{conv_index}.weight"),
                shape,
                -bound,
                bound,
            );
            let norm = format!("{prefix}.{}", conv_index + 1);
            put(format!("{norm}.weight"), vec![channels], 0.5, 1.5);
            put(format!("{norm}.bias"), vec![channels], -0.2, 0.2);
            put(format!("{norm}.running_mean"), vec![channels], -0.2, 0.2);
            put(format!("{norm}.running_var"), vec![channels], 0.5, 1.5);
            put(format!("{norm}.num_batches_tracked"), vec![], 10.0, 10.0);
        }
    }
    for i in 0..LEVELS - 1 {
        let bound = (3.0 / widths[i + 1] as f32).sqrt();
        let shape = vec![widths[i + 1], widths[i], 2, 2];
        put(format!("up.{i}.weight"), shape, -bound, bound);
        put(format!("up.{i}.bias"), vec![widths[i]], -0.1, 0.1);
    }
    let bound = (3.0 / spec.width as f32).sqrt();
    let head = vec![spec.classes, spec.width, 1, 1];
    put("head.weight".into(), head, -bound, bound);
    put("head.bias".into(), vec![spec.classes], -0.1, 0.1);
    sd
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: SegmenterSpec = SegmenterSpec {
        classes: 3,
        width: 2,
    };

    fn weights() -> Weights {
        Weights::new(random_state_dict(&SPEC, 7), "tiny.pth")
    }

    fn card() -> ModelCard {
        let json = include_str!("../../tests/fixtures/fake_card.json");
        serde_json::from_str(json).unwrap()
    }

    fn table(names: &[&str]) -> ClassTable {
        ClassTable {
            source: "trained.tsv".into(),
            classes: names
                .iter()
                .map(|n| ClassInfo {
                    name: n.to_string(),
                    color: "#000000".into(),
                    coco_stuff: None,
                })
                .collect(),
        }
    }

    #[test]
    fn reads_the_unets_shape_from_its_weights() {
        assert_eq!(segmenter_spec(&weights()).unwrap(), SPEC);
        let mut sd = random_state_dict(&SPEC, 7);
        sd.remove("head.weight");
        let e = segmenter_spec(&Weights::new(sd, "g.pth"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a segmenter") && e.contains("head.weight"),
            "{e}"
        );
    }

    #[test]
    fn every_tensor_goes_into_the_graph() {
        let identity: Vec<i64> = (0..SPEC.classes as i64).collect();
        let w = weights();
        graph(&SPEC, &w, &identity, ExportOptions::default()).unwrap();
        assert!(w.unused().is_empty());
        let mut sd = random_state_dict(&SPEC, 7);
        sd.insert(
            "aux.weight".into(),
            Tensor {
                shape: vec![1],
                data: vec![0.0],
            },
        );
        let e = graph(
            &SPEC,
            &Weights::new(sd, "big.pth"),
            &identity,
            ExportOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("aux.weight"), "{e}");
    }

    #[test]
    fn classes_are_matched_to_the_package_by_name() {
        let card = card();
        let names: Vec<&str> = card.classes.iter().map(|c| c.name.as_str()).collect();
        let reversed: Vec<&str> = names.iter().rev().copied().collect();
        let n = names.len();
        let to_package = match_classes(&table(&reversed), n, &card).unwrap();
        assert_eq!(to_package, (0..n as i64).rev().collect::<Vec<_>>());
        let mut strange = reversed.clone();
        strange[0] = "lava";
        let e = match_classes(&table(&strange), n, &card)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lava") && e.contains(names[0]), "{e}");
        let e = match_classes(&table(&names[..1]), n, &card)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--classes"), "{e}");
    }
}
