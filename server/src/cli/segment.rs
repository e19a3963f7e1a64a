//! `easel import-segmenter` (the trainer's segmenter into a model package)
//! and `easel segment` (a photo into a label map, the way the API's segment
//! route makes it).

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, Context, Result};
use clap::Args;

use super::models::Precision;
use super::{read, RuntimeArgs};
use easel::import::photo_segmenter::{self, PhotoSegmenterImport, PortChoice, DEEPLAB_PROVENANCE};
use easel::import::segmenter::{self, SegmenterImport};
use easel::import::spade::export::ExportOptions;
use easel::inference::compute::Execution;
use easel::inference::runtime::{self, SegmenterSession};
use easel::inference::segment::{prepare_photo, Canvas, Reading, Segmenter};
use easel::package::card::{Layout, Normalize, RefineBy, Refinement};
use easel::package::classes::ClassTable;
use easel::package::mapping::{ClassMapping, SegmenterLabels};
use easel::package::maps::DEFAULT_MAX_PIXELS;
use easel::package::ModelPackage;

/// The shared DeepLabV3 + MobileNetV2 (ADE20K) file, known by its digest.
const DEEPLAB_SHA256: &str = "9476784566f88bf0bdc3169f0012fb7d08857b325811d8c1aaf5ada1c0d4e4f9";

#[derive(Args)]
pub struct AttachPhotoSegmenterArgs {
    /// A segmenter of real photos: a TFLite file (one float NHWC RGB input,
    /// 1×H×W×3, and class scores out, e.g. the shared DeepLabV3 +
    /// MobileNetV2 on ADE20K), translated; or an ONNX file, kept as
    /// exported (one float RGB input and class scores out, at any
    /// resolution, channels first or last; not class indices).
    network: PathBuf,
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
    /// `photo-head` trains on (TFLite; an ONNX graph's scores are its own).
    #[arg(long)]
    scores: bool,
    /// Per-channel mean after --range, R,G,B (torchvision's models:
    /// --range 0,1 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225).
    #[arg(long, value_parser = parse_triple, requires = "std")]
    mean: Option<[f32; 3]>,
    /// Per-channel standard deviation after --range, R,G,B.
    #[arg(long, value_parser = parse_triple, requires = "mean")]
    std: Option<[f32; 3]>,
    /// ONNX: the input that takes the photo (default: its only input).
    #[arg(long)]
    input: Option<String>,
    /// ONNX: the photo input's layout, nchw or nhwc (default: where its
    /// shape has the 3 channels).
    #[arg(long, value_parser = parse_layout)]
    layout: Option<Layout>,
    /// ONNX: the size to feed a network that takes any, WxH (e.g. 513x513).
    #[arg(long)]
    input_size: Option<MapSize>,
    /// ONNX: the output with the class scores (default: its only output,
    /// or its only float 4-D one).
    #[arg(long)]
    output: Option<String>,
    /// ONNX: the scores' layout, nchw or nhwc (default: where its shape has
    /// as many channels as the labels name classes).
    #[arg(long, value_parser = parse_layout)]
    scores_layout: Option<Layout>,
    /// ONNX Runtime, which runs the attached segmenter once before the
    /// package keeps it.
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn parse_layout(text: &str) -> Result<Layout, String> {
    match text.to_ascii_lowercase().as_str() {
        "nchw" => Ok(Layout::Nchw),
        "nhwc" => Ok(Layout::Nhwc),
        _ => Err(format!(
            "`{text}` is not a layout: nchw (channels first) or nhwc (channels last)"
        )),
    }
}

fn parse_triple(text: &str) -> Result<[f32; 3], String> {
    let values: Vec<f32> = text
        .split(',')
        .map(|s| s.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("`{text}` is not three numbers R,G,B"))?;
    <[f32; 3]>::try_from(values).map_err(|_| format!("`{text}` is not three numbers R,G,B"))
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

impl MapSize {
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }
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
        None if easel::import::spade::sha256_file(&args.network).ok().as_deref()
            == Some(DEEPLAB_SHA256) =>
        {
            DEEPLAB_PROVENANCE.to_string()
        }
        None => {
            return Err(anyhow!(
                "say where {} comes from and under what licence with --provenance \"...\" (it goes in the card)",
                args.network.display()
            ))
        }
    };
    let normalize = match (args.mean, args.std) {
        (Some(mean), Some(std)) => Some(Normalize { mean, std }),
        _ => None,
    };
    if let Some(std) = normalize
        .as_ref()
        .map(|n| n.std)
        .filter(|s| s.iter().any(|&v| v <= 0.0))
    {
        return Err(anyhow!("--std {std:?}: standard deviations are above 0"));
    }
    let request = PhotoSegmenterImport {
        package: args.package.clone(),
        network: args.network.clone(),
        labels: args.labels,
        mapping: args.mapping,
        range: args.range,
        refine: args.refine.into_iter().chain(args.refine_white).collect(),
        provenance,
        head: args.head,
        scores: args.scores,
        normalize,
        ports: PortChoice {
            input: args.input,
            input_layout: args.layout,
            input_size: args.input_size.map(|s| (s.width, s.height)),
            output: args.output,
            output_layout: args.scores_layout,
        },
    };
    runtime::init(args.runtime.ort_lib.as_deref())?;
    let report = photo_segmenter::attach(&request)?;
    // Run it once before saying it is attached: a graph ONNX Runtime cannot
    // run, or whose scores are not what the card says, puts the package back.
    if let Err(e) = try_photo_segmenter(&args.package, &args.runtime) {
        report
            .backup
            .restore()
            .context("the segmenter did not run, and the package could not be put back")?;
        return Err(e.context(format!(
            "{} did not run as a photo segmenter; {} is as it was",
            args.network.display(),
            args.package.display()
        )));
    }
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
    let kept = match &entry.onnx {
        Some(ports) => format!(
            "; kept as exported (input `{}`, {:?}; scores `{}`, {:?}) with easel's head in {}",
            ports.input, ports.input_layout, ports.output, ports.output_layout, ports.head_file
        ),
        None => String::new(),
    };
    println!(
        "attached a photo segmenter to {} → {}\n  {}×{} input, {} classes mapped by {} ({} pairs){}{}",
        card.name,
        args.package.join(&entry.file).display(),
        entry.input.width,
        entry.input.height,
        entry.labels,
        entry.mapping,
        entry.pairs.len(),
        if entry.refine.is_empty() { "" } else { "; refined" },
        kept
    );
    Ok(())
}

/// Reads one made photo with the package's photo segmenter, as `easel
/// segment` would.
fn try_photo_segmenter(package: &std::path::Path, runtime: &RuntimeArgs) -> Result<()> {
    let options = runtime.session_options(Execution::default());
    let package = ModelPackage::open(package)?;
    let mut segmenter = SegmenterSession::load(&package, &options)?
        .ok_or_else(|| anyhow!("the package names no segmenter"))?;
    let photo = image::RgbImage::from_fn(96, 64, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 3) as u8, 128])
    });
    segmenter.segment(&photo, Reading::Photo)?;
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
