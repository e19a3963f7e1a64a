//! `easel dataset`: the dataset tools (convert, instances, split, check) and
//! the synthetic landscape renderer (synth). Each command turns its flags into
//! the tool's options and prints the tool's report.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{DatasetCommand, ThreadsArgs};
use easel::landscapes::synth::{self, SynthOptions};
use easel::package::maps::DEFAULT_MAX_PIXELS;

pub fn run(command: DatasetCommand) -> Result<()> {
    match command {
        DatasetCommand::Synth(args) => landscapes(args),
        DatasetCommand::RenderMaps(args) => render_maps(args),
        DatasetCommand::Convert(args) => convert(args),
        DatasetCommand::Instances(args) => instances(args),
        DatasetCommand::Split(args) => split(args),
        DatasetCommand::Check(args) => check(args),
    }
}

#[derive(Args)]
pub struct ConvertArgs {
    /// Class colours, the class index being the line or list order: a CamVid
    /// label_colors.txt (`R G B<TAB>name`), a TSV (`id<TAB>name<TAB>#rrggbb`),
    /// a model.json or JSON list of {"name", "color"}, or a built-in table
    /// (coco-stuff, ade20k, cityscapes, landscapes).
    #[arg(long)]
    palette: String,
    /// Folder of colour annotations (RGB, RGBA or paletted PNG).
    rgb_dir: PathBuf,
    /// Folder for the class maps (<name>.png) and classes.tsv.
    out_dir: PathBuf,
    /// Pixels whose colour is not in the palette. error: report the file,
    /// write nothing for it, and fail at the end; dontcare: write 255 (train
    /// with --contain_dontcare_label; needs at most 255 classes); nearest:
    /// write the class of the closest colour. Every file with such pixels is
    /// reported with their count and first position.
    #[arg(long, default_value = "error")]
    unknown: easel::dataset::colour_lookup::UnknownColours,
    /// Taken off the end of each name for the output name: `_L` turns
    /// CamVid's 0001TP_006690_L.png into 0001TP_006690.png.
    #[arg(long, visible_alias = "strip_suffix", default_value = "")]
    strip_suffix: String,
    #[command(flatten)]
    threads: ThreadsArgs,
}

#[derive(Args)]
pub struct InstancesArgs {
    /// Label maps (8/16-bit grayscale class indices). Alone: every 4-connected
    /// region of each class becomes one instance, ids 1..n in raster order.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Instance annotations: 8/16-bit grayscale or RGB ids, 0 (black) where
    /// there is no instance. Alone: ids renumbered 1..n, 0 kept. With
    /// --labels: annotated instances, and the regions of each class elsewhere.
    #[arg(long)]
    annotations: Option<PathBuf>,
    /// Folder for the instance maps: 16-bit grayscale PNG, <name>.png.
    #[arg(long)]
    out: PathBuf,
    /// Cityscapes numbering: the n-th instance of class c is c·1000 + n (n
    /// from 0) and other pixels keep their class c. Annotations already so
    /// numbered (Cityscapes' *_instanceIds.png) are kept as they are; others
    /// (0 where there is no instance) are numbered with the classes of --labels.
    #[arg(long)]
    cityscapes: bool,
    /// Taken off label map names before pairing and naming the output
    /// (Cityscapes: _gtFine_labelIds).
    #[arg(long, default_value = "")]
    label_suffix: String,
    /// Taken off annotation names before pairing and naming the output
    /// (Cityscapes: _gtFine_instanceIds).
    #[arg(long, default_value = "")]
    annotation_suffix: String,
    #[command(flatten)]
    threads: ThreadsArgs,
}

#[derive(Args)]
pub struct SplitArgs {
    /// Photos (jpg, jpeg, png, webp, bmp).
    #[arg(long)]
    images: PathBuf,
    /// Label maps (PNG).
    #[arg(long)]
    labels: PathBuf,
    /// Instance maps (PNG), when the dataset has them.
    #[arg(long)]
    instances: Option<PathBuf>,
    /// Folder for train_img, train_label, test_img, test_label (and
    /// train_inst, test_inst) and split.json, which lists where each name
    /// went. An earlier split there is refused unless --force.
    #[arg(long)]
    out: PathBuf,
    /// Share of pairs for training, in percent (rounded to whole pairs).
    #[arg(long, default_value_t = 90.0)]
    train: f64,
    /// The names are sorted, then shuffled from this seed: the same files and
    /// seed always give the same split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Hard-link the files instead of copying (the split then shares the
    /// files with the sources; across file systems it copies, and says so).
    #[arg(long, conflicts_with = "copy")]
    link: bool,
    /// Copy the files (the default).
    #[arg(long)]
    copy: bool,
    /// Taken off photo names before pairing (Cityscapes: _leftImg8bit).
    #[arg(long, default_value = "")]
    image_suffix: String,
    /// Taken off label map names before pairing: `_L` for CamVid. The split's
    /// files are named by what is left, as the reference's pairing check needs.
    #[arg(long, default_value = "")]
    label_suffix: String,
    /// Taken off instance map names before pairing.
    #[arg(long, default_value = "")]
    instance_suffix: String,
    /// Replace an earlier split in --out: its train_*/test_* folders and
    /// split.json are removed first (other files are left alone).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    threads: ThreadsArgs,
}

/// The reference's flag spellings; each also takes the kebab-case one.
#[derive(Args)]
pub struct CheckArgs {
    /// Label maps (PNG class indices).
    #[arg(long = "label_dir", visible_alias = "label-dir")]
    label_dir: PathBuf,
    /// Photos paired with the label maps by name.
    #[arg(long = "image_dir", visible_alias = "image-dir")]
    image_dir: PathBuf,
    /// Instance maps paired by name; without them the flags include --no_instance.
    #[arg(long = "instance_dir", visible_alias = "instance-dir")]
    instance_dir: Option<PathBuf>,
    /// The class count training will use: values at or above it are errors
    /// (255 is the dontcare label when label_nc ≤ 255). Default: the classes
    /// table, else the largest value + 1.
    #[arg(long = "label_nc", visible_alias = "label-nc")]
    label_nc: Option<usize>,
    /// Class names for the histogram (a palette file or built-in table).
    /// Default: classes.tsv in or beside --label_dir, as convert and split write it.
    #[arg(long)]
    classes: Option<String>,
    #[command(flatten)]
    threads: ThreadsArgs,
}

#[derive(Args)]
pub struct SynthArgs {
    /// Dataset folder to write: train_label/, train_img/, test_label/, test_img/,
    /// classes.tsv and README.txt.
    #[arg(long)]
    out: PathBuf,
    /// Number of scenes (label + image pairs), ids 000000 onwards.
    #[arg(long)]
    count: usize,
    /// Width and height of every scene in pixels.
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Dataset seed; scene i is a pure function of (seed, i).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Share of scenes for the test split: the last round(count × fraction) ids.
    #[arg(long, default_value_t = 0.1)]
    test_fraction: f64,
    #[command(flatten)]
    threads: ThreadsArgs,
    /// Also write a PNG grid of the first 12 label maps beside their images.
    #[arg(long)]
    contact_sheet: Option<PathBuf>,
    /// Cut each image as a WxH window out of its scene (e.g. 512x256 for
    /// the page's 2:1 canvas) instead of the whole square frame.
    #[arg(long)]
    crop: Option<super::segment::MapSize>,
    /// Close-ups: render each scene up to ZOOM times larger than the window
    /// (a factor drawn per scene in 1..=ZOOM) before cutting it, e.g. 3.
    #[arg(long, default_value_t = 1.0)]
    zoom: f32,
}

#[derive(Args)]
pub struct RenderMapsArgs {
    /// A folder of label maps (8-bit PNGs of landscapes class indices, any
    /// size): painted, simplified, laid out like photographs.
    #[arg(long)]
    maps: PathBuf,
    /// Dataset folder to write, as `synth` writes one (names kept from the maps).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the photos' light and materials; photo i is a pure function
    /// of (seed, its map, i).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Share of maps for the test split: the last round(count × fraction) by name.
    #[arg(long, default_value_t = 0.0)]
    test_fraction: f64,
    #[command(flatten)]
    threads: ThreadsArgs,
}

fn render_maps(args: RenderMapsArgs) -> Result<()> {
    use easel::landscapes::from_maps::{write_rendered_maps, RenderMapsOptions};
    let opts = RenderMapsOptions {
        maps: args.maps,
        out: args.out,
        seed: args.seed,
        test_fraction: args.test_fraction,
        threads: args.threads.threads,
    };
    let report = write_rendered_maps(&opts, true)?;
    println!(
        "rendered {} photos ({} train, {} test) for the maps of {} into {} in {:.1} s on {} threads",
        report.train + report.test,
        report.train,
        report.test,
        opts.maps.display(),
        opts.out.display(),
        report.seconds,
        report.threads
    );
    Ok(())
}

fn landscapes(args: SynthArgs) -> Result<()> {
    let opts = SynthOptions {
        out: args.out,
        count: args.count,
        size: args.size,
        seed: args.seed,
        test_fraction: args.test_fraction,
        threads: args.threads.threads,
        framing: (args.crop.is_some() || args.zoom != 1.0).then(|| {
            let (width, height) = args.crop.map_or((args.size, args.size), |c| {
                (c.width() as u32, c.height() as u32)
            });
            synth::Framing {
                width,
                height,
                zoom: args.zoom,
            }
        }),
    };
    let report = synth::write_dataset_with_progress(&opts)?;
    println!(
        "wrote {} scenes ({} train, {} test) of {}×{} to {} in {:.1} s ({:.1} scenes/s on {} threads)",
        opts.count,
        report.train,
        report.test,
        opts.framing.map_or(opts.size, |f| f.width),
        opts.framing.map_or(opts.size, |f| f.height),
        opts.out.display(),
        report.seconds,
        opts.count as f64 / report.seconds,
        report.threads
    );
    print!("{}", report.stats.table(&synth::landscape_classes()));
    if let Some(path) = &args.contact_sheet {
        synth::contact_sheet(opts.seed, opts.size, 12)
            .save(path)
            .with_context(|| format!("cannot write the contact sheet {}", path.display()))?;
        println!("contact sheet: {}", path.display());
    }
    Ok(())
}

fn convert(args: ConvertArgs) -> Result<()> {
    use easel::dataset::colour_lookup::UnknownColours;
    use easel::dataset::convert::{self, ConvertOptions};
    let palette = easel::package::classes::ClassTable::load(&args.palette)?;
    let options = ConvertOptions {
        palette,
        input: args.rgb_dir,
        out: args.out_dir,
        unknown: args.unknown,
        strip_suffix: args.strip_suffix,
        work: args.threads.work(),
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let report = convert::convert(&options)?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for file in &report.files {
        if let Some(line) = file.describe(options.unknown, &options.palette) {
            eprintln!("{}: {line}", if file.written { "note" } else { "error" });
        }
    }
    let written = report.written();
    println!(
        "converted {written} of {} annotations into {}-bit class maps in {} ({:.1} s, {:.1} files/s on {} threads); class table: {}",
        report.files.len(),
        report.depth.bits(),
        options.out.display(),
        report.seconds,
        written as f64 / report.seconds.max(1e-9),
        report.threads,
        report.classes_tsv.display()
    );
    let unknown = report
        .files
        .iter()
        .filter(|f| !f.unknown.is_empty())
        .count();
    if options.unknown == UnknownColours::Dontcare && unknown > 0 {
        println!(
            "{unknown} file(s) have pixels written as 255: train with --contain_dontcare_label"
        );
    }
    let unreadable = report.files.iter().filter(|f| f.failure.is_some()).count();
    let off_palette = report.refused() - unreadable;
    if off_palette > 0 {
        bail!(
            "{off_palette} of {} annotations have colours that are not in the palette {} (listed above); nothing was written for them. \
             Add the colours to the palette, or choose --unknown dontcare (write 255) or --unknown nearest (the closest class)",
            report.files.len(),
            options.palette.source
        );
    }
    if unreadable > 0 {
        bail!(
            "{unreadable} of {} annotations could not be converted (listed above)",
            report.files.len()
        );
    }
    Ok(())
}

fn instances(args: InstancesArgs) -> Result<()> {
    use easel::dataset::instances::{self, InstanceOptions};
    let options = InstanceOptions {
        labels: args.labels,
        annotations: args.annotations,
        out: args.out,
        cityscapes: args.cityscapes,
        label_suffix: args.label_suffix,
        annotation_suffix: args.annotation_suffix,
        work: args.threads.work(),
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let report = instances::make_instances(&options)?;
    let failed: Vec<_> = report.failed().collect();
    for f in &failed {
        if let Some(failure) = &f.failure {
            eprintln!("error: {}: {failure}", f.stem);
        }
    }
    let made = report.files.len() - failed.len();
    println!(
        "wrote {made} 16-bit instance maps ({}) to {} in {:.1} s on {} threads",
        match (
            options.cityscapes,
            options.labels.is_some(),
            options.annotations.is_some()
        ) {
            (true, _, _) => "Cityscapes ids: class·1000 + n, other pixels their class",
            (false, true, false) => "ids 1..n, one per 4-connected region of a class",
            (false, false, true) => "annotation ids renumbered 1..n, 0 where none",
            _ => "ids 1..n: annotated instances, then regions of a class elsewhere",
        },
        options.out.display(),
        report.seconds,
        report.threads
    );
    if !failed.is_empty() {
        bail!(
            "{} of {} maps could not be made (listed above)",
            failed.len(),
            report.files.len()
        );
    }
    Ok(())
}

fn split(args: SplitArgs) -> Result<()> {
    use easel::dataset::split::{self, SplitOptions, Transfer};
    let options = SplitOptions {
        images: args.images,
        labels: args.labels,
        instances: args.instances,
        out: args.out,
        train_percent: args.train,
        seed: args.seed,
        transfer: if args.link {
            Transfer::Link
        } else {
            Transfer::Copy
        },
        image_suffix: args.image_suffix,
        label_suffix: args.label_suffix,
        instance_suffix: args.instance_suffix,
        force: args.force,
        work: args.threads.work(),
    };
    let report = split::split(&options)?;
    if let Some(reason) = &report.link_fallback {
        eprintln!("note: {} file(s) were copied because hard links failed ({reason}); hard links work only within one file system", report.copied);
    }
    let a = &report.assignment;
    println!(
        "split {} pairs with seed {}: {} train, {} test ({} linked, {} copied) into {} in {:.1} s; {} lists them",
        a.train.len() + a.test.len(),
        options.seed,
        a.train.len(),
        a.test.len(),
        report.linked,
        report.copied,
        options.out.display(),
        report.seconds,
        report.manifest.display()
    );
    if let Some(tsv) = &report.classes_tsv {
        println!("class table copied to {}", tsv.display());
    }
    if a.test.is_empty() && options.train_percent < 100.0 {
        eprintln!(
            "note: the test split is empty: {}% of {} pairs rounds to all of them",
            options.train_percent,
            a.train.len()
        );
    }
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    use easel::dataset::check::{self, CheckOptions};
    let classes = args
        .classes
        .as_deref()
        .map(easel::package::classes::ClassTable::load)
        .transpose()?;
    let options = CheckOptions {
        label_dir: args.label_dir,
        image_dir: args.image_dir,
        instance_dir: args.instance_dir,
        label_nc: args.label_nc,
        classes,
        work: args.threads.work(),
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let report = check::check(&options)?;
    print!("{}", report.render());
    if !report.errors.is_empty() {
        bail!(
            "the dataset has {} problem(s) that would break training (listed above)",
            report.errors.len()
        );
    }
    Ok(())
}
