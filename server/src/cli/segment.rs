//! `easel import-segmenter` (the trainer's segmenter into a model package)
//! and `easel segment` (a photo into a label map, the way the API's segment
//! route makes it).

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, Context, Result};
use clap::Args;

use super::models::Precision;
use super::{read, RuntimeArgs};
use easel::import::photo_segmenter::{self, PhotoSegmenterImport, DEEPLAB_PROVENANCE};
use easel::import::segmenter::{self, SegmenterImport};
use easel::import::spade::export::ExportOptions;
use easel::inference::compute::Execution;
use easel::inference::runtime::{self, SegmenterSession};
use easel::inference::segment::{prepare_photo, Canvas, Reading, Segmenter};
use easel::package::card::{RefineBy, Refinement};
use easel::package::classes::ClassTable;
use easel::package::mapping::{ClassMapping, SegmenterLabels};
use easel::package::maps::DEFAULT_MAX_PIXELS;
use easel::package::ModelPackage;

/// The shared DeepLabV3 + MobileNetV2 (ADE20K) file, known by its digest.
const DEEPLAB_SHA256: &str = "9476784566f88bf0bdc3169f0012fb7d08857b325811d8c1aaf5ada1c0d4e4f9";

#[derive(Args)]
pub struct AttachPhotoSegmenterArgs {
    /// A TFLite segmenter of real photos: one float NHWC RGB input
    /// (1×H×W×3) and class scores out (1×H'×W'×C), e.g. the shared
    /// DeepLabV3 + MobileNetV2 on ADE20K.
    tflite: PathBuf,
    /// The model package to attach it to; the folder gets a
    /// photo_segmenter.onnx and the card a `photo_segmenter` entry.
    #[arg(long)]
    package: PathBuf,
    /// Its classes in index order: `ade20k` (DeepLab's labels.txt:
    /// background, then ADE20K's 150) or a labels file (`name` or
    /// `index<TAB>name` a line).
    #[arg(long, default_value = "ade20k")]
    labels: String,
    /// A mapping file, `segmenter class<TAB>package class` a line. Default:
    /// the built-in mapping for the package's classes (ade20k to
    /// landscapes, coco-stuff or cityscapes), else by name. `easel
    /// class-map` prints one.
    #[arg(long = "map")]
    mapping: Option<String>,
    /// The values black and white take at its input, LOW,HIGH.
    #[arg(long, default_value = "-1,1", value_parser = parse_range, allow_hyphen_values = true)]
    range: [f32; 2],
    /// WITHIN:TAKE, repeatable: inside the photo segmenter's WITHIN
    /// classes, the package's own segmenter's answer wins when it is one of
    /// TAKE (e.g. `sky:clouds`, `mountain,rock,hill:snow,rock`).
    #[arg(long, value_parser = parse_refinement)]
    refine: Vec<Refinement>,
    /// WITHIN:CLASS, repeatable: inside the photo segmenter's WITHIN
    /// classes, white and light grey pixels become CLASS (e.g. `sky:clouds`,
    /// `dirt,sand:snow`). Rules apply in the order given, --refine first.
    #[arg(long, value_parser = parse_white_refinement)]
    refine_white: Vec<Refinement>,
    /// Where the network comes from and its licence, for the card (known
    /// for the shared DeepLab file).
    #[arg(long)]
    provenance: Option<String>,
    /// A head trained on the segmenter's scores (`python -m easel_training
    /// photo-head`, JSON) to use in place of the mapping's argmax.
    #[arg(long)]
    head: Option<PathBuf>,
    /// Also output the segmenter's raw class scores (`logits`), which
    /// `photo-head` trains on.
    #[arg(long)]
    scores: bool,
}

#[derive(Args)]
pub struct ClassMapArgs {
    /// The segmenter's classes: `ade20k` or a labels file.
    #[arg(long, default_value = "ade20k")]
    labels: String,
    /// The package's classes: coco-stuff, ade20k, cityscapes, landscapes,
    /// a class table file, or a model package folder.
    #[arg(long)]
    classes: String,
    /// A mapping file to check instead of the built-in one.
    #[arg(long = "map")]
    mapping: Option<String>,
}

fn parse_range(text: &str) -> Result<[f32; 2], String> {
    let (lo, hi) = text
        .split_once(',')
        .ok_or_else(|| format!("`{text}` is not LOW,HIGH (e.g. -1,1 or 0,255)"))?;
    let value = |s: &str| {
        s.trim()
            .parse::<f32>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{s}` in `{text}` is not a number"))
    };
    let (lo, hi) = (value(lo)?, value(hi)?);
    if lo >= hi {
        return Err(format!("`{text}`: LOW must be below HIGH"));
    }
    Ok([lo, hi])
}

/// `within:take`, each a comma-separated list of class names.
fn parse_refinement(text: &str) -> Result<Refinement, String> {
    let (within, take) = text.split_once(':').ok_or_else(|| {
        format!("`{text}` is not WITHIN:TAKE (e.g. `sky:clouds` or `mountain,rock:snow`)")
    })?;
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (within, take) = (list(within), list(take));
    if within.is_empty() || take.is_empty() {
        return Err(format!("`{text}` names no class on one side of the colon"));
    }
    Ok(Refinement {
        within,
        take,
        by: RefineBy::Segmenter,
    })
}

fn parse_white_refinement(text: &str) -> Result<Refinement, String> {
    let rule = parse_refinement(text)?;
    if rule.take.len() != 1 {
        return Err(format!("`{text}`: white pixels become one class"));
    }
    Ok(Refinement {
        by: RefineBy::White,
        ..rule
    })
}

#[derive(Args)]
pub struct ImportSegmenterArgs {
    /// The trainer's segmenter weights (`python -m easel_training segmenter --out FILE`).
    weights: PathBuf,
    /// The model package to attach it to (a folder with model.json); its
    /// card gets a `segmenter` entry and the folder a segmenter.onnx.
    #[arg(long)]
    package: PathBuf,
    /// The classes it was trained with: coco-stuff, ade20k, cityscapes,
    /// landscapes, or a TSV / label_colors.txt file; they are matched to the
    /// package's classes by name. Default: the package's own, in order.
    #[arg(long)]
    classes: Option<String>,
    /// Store weights as fp32 (default) or fp16.
    #[arg(long, value_enum, default_value_t = Precision::Fp32)]
    precision: Precision,
}

#[derive(Args)]
pub struct SegmentArgs {
    /// Model package folder with a segmenter (its model.json names one).
    #[arg(long)]
    model: PathBuf,
    /// The photo: PNG, JPEG or WebP.
    #[arg(long)]
    photo: PathBuf,
    /// The map's size, WxH (for example 512x384); default the model's
    /// native size. The photo is scaled to cover it and centre-cropped.
    #[arg(long)]
    size: Option<MapSize>,
    /// Where to write the map: a grayscale PNG of class indices (16-bit
    /// for models with more than 256 label values).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Read the image with the model's judge (the segmenter that scores
    /// `easel test --evaluate` runs) instead of its photo segmenter.
    #[arg(long)]
    judge: bool,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// `--size WxH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSize {
    width: usize,
    height: usize,
}

impl FromStr for MapSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (w, h) = text
            .split_once(['x', 'X', '×'])
            .ok_or_else(|| format!("`{text}` is not a size: write WIDTHxHEIGHT, e.g. 512x384"))?;
        let side = |s: &str| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("`{s}` in `{text}` is not a width or height of 1 or more"))
        };
        Ok(Self {
            width: side(w)?,
            height: side(h)?,
        })
    }
}

pub fn import_segmenter(args: ImportSegmenterArgs) -> Result<()> {
    let request = SegmenterImport {
        weights: args.weights,
        package: args.package.clone(),
        classes: args.classes,
        export: ExportOptions {
            half_weights: args.precision == Precision::Fp16,
            ..ExportOptions::default()
        },
    };
    let report = segmenter::import_segmenter(&request)?;
    for note in &report.notes {
        println!("note: {note}");
    }
    let card = &report.card;
    let entry = card
        .segmenter
        .as_ref()
        .ok_or_else(|| anyhow!("the card was written without its segmenter entry"))?;
    println!(
        "attached a segmenter to {} → {}\n  U-Net of width {}, {} classes ({}, matched by name), {}",
        card.name,
        args.package.join(&entry.file).display(),
        report.spec.width,
        report.spec.classes,
        entry.class_table,
        entry.precision
    );
    Ok(())
}

pub fn attach_photo_segmenter(args: AttachPhotoSegmenterArgs) -> Result<()> {
    let provenance = match args.provenance {
        Some(p) => p,
        None if easel::import::spade::sha256_file(&args.tflite).ok().as_deref()
            == Some(DEEPLAB_SHA256) =>
        {
            DEEPLAB_PROVENANCE.to_string()
        }
        None => {
            return Err(anyhow!(
                "say where {} comes from and under what licence with --provenance \"...\" (it goes in the card)",
                args.tflite.display()
            ))
        }
    };
    let request = PhotoSegmenterImport {
        package: args.package.clone(),
        tflite: args.tflite,
        labels: args.labels,
        mapping: args.mapping,
        range: args.range,
        refine: args.refine.into_iter().chain(args.refine_white).collect(),
        provenance,
        head: args.head,
        scores: args.scores,
    };
    let report = photo_segmenter::attach(&request)?;
    let card = &report.card;
    let entry = card
        .photo_segmenter
        .as_ref()
        .ok_or_else(|| anyhow!("the card was written without its photo_segmenter entry"))?;
    if !report.never.is_empty() {
        println!(
            "note: no segmenter class maps to {}",
            report.never.join(", ")
        );
    }
    println!(
        "attached a photo segmenter to {} → {}\n  {}×{} input, {} classes mapped by {} ({} pairs){}",
        card.name,
        args.package.join(&entry.file).display(),
        entry.input.width,
        entry.input.height,
        entry.labels,
        entry.mapping,
        entry.pairs.len(),
        if entry.refine.is_empty() { "" } else { "; refined by the package's own segmenter" }
    );
    Ok(())
}

/// Prints how a segmenter's classes map to a package's.
pub fn class_map(args: ClassMapArgs) -> Result<()> {
    let labels = SegmenterLabels::load(&args.labels)?;
    let folder = PathBuf::from(&args.classes);
    let (table_name, classes) = if folder.is_dir() {
        let package = ModelPackage::open(&folder)?;
        (package.card.class_table.clone(), package.card.classes)
    } else {
        let table = ClassTable::load(&args.classes)?;
        (table.source, table.classes)
    };
    let mapping =
        ClassMapping::for_package(&labels, &table_name, &classes, args.mapping.as_deref())?;
    let resolved = mapping.resolve(&labels, &classes)?;
    println!("# {} → {} ({})", labels.source, table_name, mapping.source);
    println!("# package class\tsegmenter classes");
    for (p, class) in classes.iter().enumerate() {
        let from: Vec<&str> = resolved
            .kept
            .iter()
            .zip(&resolved.package)
            .filter(|(_, &to)| to == p)
            .map(|(&k, _)| labels.names[k].as_str())
            .collect();
        let from = if from.is_empty() {
            "-".to_string()
        } else {
            from.join(", ")
        };
        println!("{}\t{from}", class.name);
    }
    let unmapped: Vec<&str> = (0..labels.names.len())
        .filter(|k| !resolved.kept.contains(k))
        .map(|k| labels.names[k].as_str())
        .collect();
    println!(
        "# {} segmenter classes have no counterpart; their pixels take the best-scoring class that has one: {}",
        unmapped.len(),
        unmapped.join(", ")
    );
    Ok(())
}

pub fn segment(args: SegmentArgs) -> Result<()> {
    runtime::init(args.runtime.ort_lib.as_deref())?;
    // The segmenter answers classes, in fp32 on ONNX Runtime whatever --compute says.
    let options = args.runtime.session_options(Execution::default());
    runtime::check_device(&options)?;
    let package = ModelPackage::open(&args.model)?;
    let card = package.card.clone();
    let mut segmenter = SegmenterSession::load(&package, &options)?.ok_or_else(|| {
        anyhow!(
            "model {} has no segmenter (its card names none); attach one with \
             `easel import-segmenter SEGMENTER.pth --package {}`",
            card.name,
            args.model.display()
        )
    })?;
    let size = args.size.unwrap_or(MapSize {
        width: card.native.width,
        height: card.native.height,
    });
    let canvas = Canvas::new(size.width, size.height, DEFAULT_MAX_PIXELS)?;
    let bytes = read(&args.photo, "photo")?;
    let fitted = prepare_photo(&bytes, canvas, DEFAULT_MAX_PIXELS)
        .with_context(|| args.photo.display().to_string())?;
    let reading = if args.judge {
        Reading::Judge
    } else {
        Reading::Photo
    };
    let map = segmenter.segment(&fitted.image, reading)?;
    let values = card.label_classes();
    std::fs::write(&args.output, map.index_png(values)?)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let pixels = (map.width() * map.height()).max(1) as f64;
    let mut counts: Vec<(usize, usize)> = map
        .histogram(values)
        .into_iter()
        .enumerate()
        .filter(|&(_, n)| n > 0)
        .collect();
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let shares: Vec<String> = counts
        .iter()
        .take(6)
        .map(|&(class, n)| {
            let (name, _) = card.value_class(class);
            format!("{name} {:.0}%", 100.0 * n as f64 / pixels)
        })
        .collect();
    println!(
        "wrote {} ({}×{} from a {}×{} photo): {}",
        args.output.display(),
        map.width(),
        map.height(),
        fitted.source.0,
        fitted.source.1,
        shares.join(", ")
    );
    Ok(())
}
