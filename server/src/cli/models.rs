//! `easel import` (a reference checkpoint into a model package) and `easel
//! generate` (one image from a label map, through the same pipeline as the
//! API and batch runs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::{Args, ValueEnum};

use super::{named, read, RuntimeArgs};
use easel::import::spade::arch::{ArchFlags, Upsampling};
use easel::import::spade::export::ExportOptions;
use easel::import::spade::{self, ImportRequest};
use easel::inference::pipeline::{
    EdgesMode, Limits, NoiseRegion, NoiseSpec, RegionZ, SizeMode, StyleConflict, StyleParts,
    StyleSpec, SynthesisRequest, ZVector,
};
use easel::inference::queue::{ModelWorker, WorkerConfig};
use easel::inference::style::default_style as default_style_of;
use easel::inference::synthesizer::{Patience, Synthesizer};
use easel::package::maps::DEFAULT_MAX_PIXELS;

#[derive(Args)]
pub struct ImportArgs {
    /// The folder training wrote: checkpoints/<name>/ with <epoch>_net_G.pth
    /// and opt.txt (SPADE, CLADE, easel's trainer), or with models/<epoch>_EMA.pth (OASIS).
    checkpoint_dir: PathBuf,
    /// Which checkpoint: `latest` or an epoch number.
    #[arg(long, alias = "which_epoch", default_value = "latest")]
    epoch: String,
    /// Package folder to write. Default: models/<checkpoint folder name>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Class names and colours: coco-stuff, ade20k, cityscapes, or a TSV / label_colors.txt file.
    #[arg(long)]
    classes: Option<String>,
    /// Model name in the card. Default: the package folder name.
    #[arg(long)]
    name: Option<String>,
    /// Number of classes, when opt.txt is missing or wrong.
    #[arg(long, alias = "label_nc")]
    label_nc: Option<usize>,
    /// Whether the model has a dontcare class (label 255), overriding opt.txt.
    #[arg(long, alias = "contain_dontcare_label")]
    contain_dontcare_label: Option<bool>,
    /// Whether the model was trained without instance maps, overriding opt.txt.
    #[arg(long, alias = "no_instance")]
    no_instance: Option<bool>,
    /// normal, more or most; needed without opt.txt (normal and more look alike in the weights).
    #[arg(long, alias = "num_upsampling_layers")]
    num_upsampling_layers: Option<Upsampling>,
    /// Training crop size, overriding opt.txt.
    #[arg(long, alias = "crop_size")]
    crop_size: Option<usize>,
    /// Training aspect ratio (width / height), overriding opt.txt.
    #[arg(long, alias = "aspect_ratio")]
    aspect_ratio: Option<f64>,
    /// Store weights as fp32 (default) or fp16.
    #[arg(long, value_enum, default_value_t = Precision::Fp32)]
    precision: Precision,
    /// The licence of these weights, recorded in the model card (for
    /// example "CC BY-NC-SA 4.0"); without it the card notes the reference
    /// code's licence.
    #[arg(long, alias = "license")]
    licence: Option<String>,
    /// OASIS folders: import the raw generator (models/<epoch>_G.pth)
    /// instead of the EMA weights OASIS tests with (models/<epoch>_EMA.pth).
    #[arg(long, alias = "no_EMA")]
    no_ema: bool,
}

/// How the package stores its weights (computation stays fp32).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Precision {
    Fp32,
    Fp16,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Model package folder (with model.json).
    #[arg(long)]
    model: PathBuf,
    /// Label map: an 8- or 16-bit grayscale or paletted PNG of class indices.
    #[arg(long)]
    label: PathBuf,
    /// Instance map (8/16-bit PNG of instance ids); without it, edges between classes are used.
    #[arg(long)]
    instance: Option<PathBuf>,
    /// Style image, for models with a style encoder.
    #[arg(long)]
    style: Option<PathBuf>,
    /// Seed for the style vector z of models that take one.
    #[arg(long)]
    seed: Option<u64>,
    /// An explicit style vector z for models that take one: a .npy of
    /// z_dim float32 values (shape (z_dim) or (1, z_dim)); for models that
    /// take z per pixel (OASIS) also a map, (z_dim, H, W) or (1, z_dim, H, W)
    /// at the label map's size.
    #[arg(long)]
    z: Option<PathBuf>,
    /// A style preset the package ships (the card's `styles`, e.g. noon);
    /// with --seed, a variation around it.
    #[arg(long)]
    style_preset: Option<String>,
    /// For models that take z per pixel (OASIS): a region of the map with
    /// its own z, as MASK.png=SEED or MASK.png=Z.npy (the mask has the label
    /// map's size, nonzero inside). Repeat it; later regions paint over
    /// earlier ones.
    #[arg(long)]
    region: Vec<String>,
    /// The image's size: input (the label map's), native (the model's) or
    /// fit (the map's when the model takes it, else the native size).
    #[arg(long, value_parser = named::<SizeMode>(&SizeMode::NAMES), default_value = "input")]
    size: SizeMode,
    /// Instance edges when no --instance is given, for models that use them:
    /// classes (the edges between classes) or none.
    #[arg(long, value_parser = named::<EdgesMode>(&EdgesMode::NAMES), default_value = "classes")]
    edges: EdgesMode,
    /// Output image (PNG).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Also write the raw generator output, (1, 3, H, W) float32 in [-1, 1], as .npy.
    #[arg(long)]
    raw: Option<PathBuf>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

pub fn import(args: ImportArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| {
        let name = args
            .checkpoint_dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_owned()));
        Path::new("models").join(name.unwrap_or_else(|| "model".into()))
    });
    let req = ImportRequest {
        licence: args.licence.clone(),
        no_ema: args.no_ema,
        checkpoint_dir: args.checkpoint_dir,
        epoch: args.epoch,
        out: out.clone(),
        classes: args.classes,
        name: args.name,
        flags: ArchFlags {
            label_nc: args.label_nc,
            contain_dontcare_label: args.contain_dontcare_label,
            no_instance: args.no_instance,
            num_upsampling_layers: args.num_upsampling_layers,
            crop_size: args.crop_size,
            aspect_ratio: args.aspect_ratio,
            class_table_len: None,
        },
        export: ExportOptions {
            half_weights: args.precision == Precision::Fp16,
            ..ExportOptions::default()
        },
    };
    let report = spade::import(&req)?;
    let card = &report.card;
    for note in &report.notes {
        println!("note: {note}");
    }
    println!(
        "imported {} → {}\n  {} generator, {} classes{}{}, {}, ngf {}, {} upsampling, native {}×{}{}",
        card.name,
        out.display(),
        serde_json::to_value(card.family)?.as_str().unwrap_or("?"),
        card.classes.len(),
        if card.dontcare.is_some() {
            " + dontcare"
        } else {
            ""
        },
        if card.uses_instances {
            " + instance edges"
        } else {
            ""
        },
        card.architecture.norm_g,
        card.architecture.ngf,
        card.architecture.num_upsampling_layers,
        card.native.width,
        card.native.height,
        match (card.z_dim, card.has_encoder) {
            (Some(z), true) => format!(", z {z}{} with style encoder", per_pixel(card)),
            (Some(z), false) => format!(", z {z}{}", per_pixel(card)),
            _ => String::new(),
        }
    );
    Ok(())
}

fn per_pixel(card: &easel::package::ModelCard) -> &'static str {
    if card.z_per_pixel {
        " per pixel (regions can be re-rolled)"
    } else {
        ""
    }
}

pub fn generate(args: GenerateArgs) -> Result<()> {
    let session = args.runtime.open_session(&args.model)?;
    let card = session.package.card.clone();
    let z = match &args.z {
        Some(path) => Some(
            StyleSpec::parse_z(&read(path, "z")?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let style = StyleSpec::from_parts(StyleParts {
        image: match &args.style {
            Some(path) => Some(Bytes::from(read(path, "style image")?)),
            None => None,
        },
        seed: args.seed,
        z,
        preset: args.style_preset.clone(),
    })
    .map_err(|e| match e {
        StyleConflict::PresetAndOther => {
            anyhow::anyhow!("--style-preset names the style: give it without --style or --z")
        }
        StyleConflict::ZAndOther => {
            anyhow::anyhow!("--z gives the style vector itself: give it without --style or --seed")
        }
    })?;
    let request = SynthesisRequest {
        label: Bytes::from(read(&args.label, "label map")?),
        instance: match &args.instance {
            Some(path) => Some(Bytes::from(read(path, "instance map")?)),
            None => None,
        },
        style,
        noise: NoiseSpec {
            regions: args
                .region
                .iter()
                .map(|r| read_region(r))
                .collect::<Result<_>>()?,
        },
        size: args.size,
        edges: args.edges,
        ..SynthesisRequest::default()
    };
    let default_style = request.style == StyleSpec::Default;
    let uses_class_edges = card.uses_instances && request.instance.is_none();
    // One image, through the model's own thread and queue as any other.
    let config = WorkerConfig {
        max_batch: 1,
        max_queue: 1,
        pad_batches: false,
        shed_after: None,
    };
    let (worker, thread) = ModelWorker::spawn(session, config, Arc::new(|_, _, _| {}))?;
    let limits = Limits {
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let synthesizer = Synthesizer::new(worker, limits, Patience::Unbounded);
    let made = tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(synthesizer.synthesize(request));
    drop(synthesizer);
    let _ = thread.join();
    let made = made?;
    if uses_class_edges && args.edges == EdgesMode::Classes {
        eprintln!("note: no --instance given; using the edges between classes as instance edges");
    }
    if let Some((w, h)) = made.finish.resize_to {
        let (mh, mw) = (made.output.shape[2], made.output.shape[3]);
        eprintln!(
            "note: model {} cannot make {w}×{h}; made at {mw}×{mh} and scaled back (--size native or fit keeps {mw}×{mh})",
            card.name
        );
    }
    if default_style {
        match default_style_of(&card) {
            Some(StyleSpec::Preset { name, .. }) => eprintln!(
                "note: no --seed, --style or --style-preset given; using the first preset, {name}"
            ),
            Some(_) => eprintln!("note: no --seed or --style given; using seed 0"),
            None => {}
        }
    }
    made.image
        .save(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    if let Some(raw) = &args.raw {
        let output = &made.output;
        std::fs::write(
            raw,
            easel::package::npy::encode(&output.shape, &output.data),
        )
        .with_context(|| format!("cannot write {}", raw.display()))?;
    }
    println!(
        "wrote {} ({}×{})",
        args.output.display(),
        made.image.width(),
        made.image.height()
    );
    Ok(())
}

/// One z vector from a .npy file: (z_dim) or (1, z_dim) float32.
fn read_z(path: &Path) -> Result<ZVector> {
    let bytes = read(path, "z vector")?;
    ZVector::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `--region MASK=SEED` or `--region MASK=Z.npy`.
fn read_region(text: &str) -> Result<NoiseRegion> {
    let Some((mask, z)) = text.rsplit_once('=') else {
        bail!("--region {text}: expected MASK.png=SEED or MASK.png=Z.npy");
    };
    let z = match z.parse::<u64>() {
        Ok(seed) => RegionZ::Seed(seed),
        Err(_) => RegionZ::Vector(read_z(Path::new(z))?),
    };
    Ok(NoiseRegion {
        mask: Bytes::from(read(Path::new(mask), "region mask")?),
        z,
    })
}
