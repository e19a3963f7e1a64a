//! `easel import-segmenter` (the trainer's segmenter into a model package)
//! and `easel segment` (a photo into a label map, the way the API's segment
//! route makes it).

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, Context, Result};
use clap::Args;

use super::models::Precision;
use super::{read, RuntimeArgs};
use easel::import::segmenter::{self, SegmenterImport};
use easel::import::spade::export::ExportOptions;
use easel::inference::compute::Execution;
use easel::inference::runtime::{self, SegmenterSession};
use easel::inference::segment::{prepare_photo, Canvas, Segmenter};
use easel::package::maps::DEFAULT_MAX_PIXELS;
use easel::package::ModelPackage;

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
    let map = segmenter.segment(&fitted.image)?;
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
