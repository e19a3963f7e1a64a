//! The `easel` command line: import checkpoints, generate images, benchmark.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use easel::dataset::synth::{self as dataset_synth, SynthOptions};
use easel::maps::{InstanceMap, LabelMap, DEFAULT_MAX_PIXELS};
use easel::package::ModelPackage;
use easel::runtime::{self, GeneratorInput, ModelSession, SessionOptions};
use easel::spade::arch::{ArchFlags, GeneratorNorm, GeneratorSpec, Upsampling};
use easel::spade::export::ExportOptions;
use easel::spade::{self, ImportRequest};
use easel::synthesis::{self, Style};

#[derive(Parser)]
#[command(
    name = "easel",
    version,
    about = "Import, run and serve SPADE (GauGAN) semantic image synthesis models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct RuntimeArgs {
    /// Path to libonnxruntime.so (1.22.x). Default: the project's .venv.
    #[arg(long, env = "ORT_DYLIB_PATH", global = true)]
    ort_lib: Option<PathBuf>,
    /// Intra-op threads for inference; 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0, global = true)]
    threads: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Import a reference SPADE checkpoint folder into a model package.
    Import(ImportArgs),
    /// Make one image from a label map.
    Generate(GenerateArgs),
    /// Time a model package, or a full-size random-weight generator.
    Bench(BenchArgs),
    /// Prepare training data: convert colour annotations, make instance maps, split, check; or render synthetic landscapes.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Serve the REST API for every model package under a folder.
    Serve(ServeArgs),
    /// Print the API's OpenAPI document (docs/openapi.json is this output).
    Openapi,
    /// Load-test a running server's synthesize endpoint (closed loop).
    Load(LoadArgs),
    /// Run a model over a folder of label maps into a result gallery
    /// (results/<name>/test_<epoch>/index.html), resuming an interrupted run.
    Test(TestArgs),
    /// Exit 0 when a server answers 200 at --url (the containers' health check).
    Health(HealthArgs),
}

#[derive(Args)]
struct HealthArgs {
    /// An http:// URL (no TLS).
    #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
    url: String,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
}

/// The reference test.py's flags; each also takes the kebab-case spelling.
#[derive(Args)]
struct TestArgs {
    /// Run name: the folder under --results_dir.
    #[arg(long)]
    name: String,
    /// Model package folder.
    #[arg(long)]
    model: PathBuf,
    /// Label maps (PNG class indices).
    #[arg(long = "label_dir", visible_alias = "label-dir")]
    label_dir: PathBuf,
    /// Photos paired with the maps by name, shown beside the results.
    #[arg(long = "image_dir", visible_alias = "image-dir")]
    image_dir: Option<PathBuf>,
    /// Instance maps paired with the maps by name.
    #[arg(long = "instance_dir", visible_alias = "instance-dir")]
    instance_dir: Option<PathBuf>,
    /// At most this many maps (in name order).
    #[arg(long = "how_many", visible_alias = "how-many")]
    how_many: Option<usize>,
    #[arg(
        long = "results_dir",
        visible_alias = "results-dir",
        default_value = "./results"
    )]
    results_dir: PathBuf,
    /// Names the run's folder test_<epoch>. Default: the epoch the package was imported from.
    #[arg(long = "which_epoch", visible_alias = "which-epoch")]
    which_epoch: Option<String>,
    /// Maps per inference batch.
    #[arg(long, visible_alias = "batchSize", default_value_t = 4)]
    batch: usize,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(Args)]
struct LoadArgs {
    /// The server, host:port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Model to ask for.
    #[arg(long)]
    model: String,
    /// Label map PNG every request sends.
    #[arg(long)]
    label: PathBuf,
    /// Concurrent clients; one run per value.
    #[arg(long, num_args = 1.., default_values_t = [1usize, 8, 32])]
    concurrency: Vec<usize>,
    /// Seconds per run.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Percent of requests sent invalid on purpose (each must get a 4xx), for soak tests.
    #[arg(long, default_value_t = 0)]
    invalid_percent: u32,
    /// Rounds: each runs every concurrency once, in turn, and the report
    /// adds the rounds up (interleaving evens out a machine's drift).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

#[derive(Args)]
struct ServeArgs {
    /// Folder of model packages (each a folder with model.json), or one package.
    #[arg(long, env = "EASEL_MODELS", default_value = "models")]
    models: PathBuf,
    /// The model the painting page opens with. Default: `landscapes` when loaded, else the first by name.
    #[arg(long = "default", env = "EASEL_DEFAULT_MODEL")]
    default_model: Option<String>,
    /// Address to listen on. Binds to loopback unless told otherwise.
    #[arg(long, env = "EASEL_BIND", default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
    /// cpu, cuda / cuda:N, or tensorrt / tensorrt:N (GPUs need the onnxruntime-gpu
    /// library: `make venv-gpu`). A GPU that cannot start is an error, never a CPU fallback.
    #[arg(long, env = "EASEL_DEVICE", default_value = "cpu")]
    device: easel::device::Device,
    /// GPU: cuDNN convolution algorithm search: exhaustive (timed once per batch size, at warm-up), heuristic or default.
    #[arg(long, env = "EASEL_CUDNN_SEARCH", default_value = "exhaustive")]
    cudnn_search: easel::device::ConvSearch,
    /// GPU: let cuDNN prefer NHWC layouts (faster on tensor cores).
    #[arg(long, env = "EASEL_PREFER_NHWC", default_value_t = true, action = clap::ArgAction::Set)]
    prefer_nhwc: bool,
    /// GPU: cap on the memory arena, in MiB (default: as needed).
    #[arg(long, env = "EASEL_GPU_MEMORY_LIMIT_MIB")]
    gpu_memory_limit_mib: Option<usize>,
    /// GPU: allow TF32 maths (faster on Ampere and later, results differ from fp32 in the 3rd-4th digit).
    #[arg(long, env = "EASEL_TF32", default_value_t = false, action = clap::ArgAction::Set)]
    tf32: bool,
    /// TensorRT: build fp16 engines.
    #[arg(long, env = "EASEL_TRT_FP16", default_value_t = false, action = clap::ArgAction::Set)]
    trt_fp16: bool,
    /// TensorRT: engine and timing cache folder (kept between starts).
    #[arg(long, env = "EASEL_TRT_CACHE")]
    trt_cache: Option<PathBuf>,
    /// Run batches only at sizes 1, 2, 4, … up to --max-batch, each warmed up at start:
    /// auto (on for GPUs), on or off.
    #[arg(long, env = "EASEL_PAD_BATCHES", default_value = "auto")]
    pad_batches: String,
    /// Most requests of one size run together in one inference batch.
    #[arg(long, env = "EASEL_MAX_BATCH", default_value_t = 8)]
    max_batch: usize,
    /// Requests that may wait per model; beyond it the server answers 503 at once.
    #[arg(long, env = "EASEL_MAX_QUEUE", default_value_t = 64)]
    max_queue: usize,
    /// Largest request body, in bytes.
    #[arg(long, env = "EASEL_MAX_BODY_BYTES", default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Largest decoded map or image, in pixels (guards against decompression bombs).
    #[arg(long, env = "EASEL_MAX_PIXELS", default_value_t = 16 << 20)]
    max_pixels: u64,
    /// Longest a request may wait for its image, in milliseconds.
    #[arg(long, env = "EASEL_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Where batch runs and their galleries live (shared with `easel test --results_dir`).
    #[arg(long, env = "EASEL_RESULTS_DIR", default_value = "results")]
    results_dir: PathBuf,
    /// Largest batch upload (POST /api/v1/batches), in bytes.
    #[arg(long, env = "EASEL_MAX_BATCH_BYTES", default_value_t = 512 << 20)]
    max_batch_bytes: usize,
    /// Let batches read server folders under this root (the `folder` field); unset: never.
    #[arg(long, env = "EASEL_BATCH_ROOT")]
    batch_root: Option<PathBuf>,
    /// Require `Authorization: Bearer <token>` on /api/v1 (pages, galleries and health stay open).
    #[arg(long, env = "EASEL_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Origins that may call the API from other sites (CORS), comma-separated; unset: CORS off.
    #[arg(long, env = "EASEL_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(Subcommand)]
enum DatasetCommand {
    /// Render procedural landscapes (label maps in the built-in `landscapes`
    /// classes and matching images) in the SPADE custom-dataset layout.
    Synth(SynthArgs),
    /// Turn RGB colour annotations into single-channel maps of class indices
    /// (8-bit PNG, 16-bit for more than 255 classes), with classes.tsv beside them.
    Convert(ConvertArgs),
    /// Make 16-bit instance maps: from instance annotations, from the connected
    /// regions of each class of label maps, or both.
    Instances(InstancesArgs),
    /// Pair photos, label maps and instance maps by name and split them into
    /// train_*/test_* folders, the same way for the same seed.
    Split(SplitArgs),
    /// Read a dataset in the reference's custom layout, report its problems,
    /// and print the training flags that fit it.
    ///
    /// Problems that break training (unpaired or unreadable files, colour label
    /// maps, sizes that differ in shape, values at or above --label_nc) make it
    /// exit non-zero. Preprocessing, from the label maps' sizes: all square:
    /// resize_and_crop (load 286, crop 256, as the reference); all one other
    /// shape: fixed at that --aspect_ratio, since the reference's crops are
    /// square, with the widest crop up to 512 whose height is a multiple of 32;
    /// mixed shapes: scale_shortside_and_crop, which keeps each shape and
    /// leaves room for every square crop. Smaller maps get smaller crops.
    Check(CheckArgs),
}

#[derive(Args)]
struct ConvertArgs {
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
    unknown: easel::dataset::convert::UnknownColours,
    /// Taken off the end of each name for the output name: `_L` turns
    /// CamVid's 0001TP_006690_L.png into 0001TP_006690.png.
    #[arg(long, visible_alias = "strip_suffix", default_value = "")]
    strip_suffix: String,
    /// Worker threads; 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0)]
    threads: usize,
}

#[derive(Args)]
struct InstancesArgs {
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
    /// Worker threads; 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0)]
    threads: usize,
}

#[derive(Args)]
struct SplitArgs {
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
    /// Worker threads; 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0)]
    threads: usize,
}

/// The reference's flag spellings; each also takes the kebab-case one.
#[derive(Args)]
struct CheckArgs {
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
    /// Worker threads; 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0)]
    threads: usize,
}

#[derive(Args)]
struct SynthArgs {
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
    /// Rendering threads; 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0)]
    threads: usize,
    /// Also write a PNG grid of the first 12 label maps beside their images.
    #[arg(long)]
    contact_sheet: Option<PathBuf>,
}

#[derive(Args)]
struct ImportArgs {
    /// The folder training wrote: checkpoints/<name>/ with <epoch>_net_G.pth and opt.txt.
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
    #[arg(long, default_value = "fp32", value_parser = ["fp32", "fp16"])]
    precision: String,
}

#[derive(Args)]
struct GenerateArgs {
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
    #[arg(long, conflicts_with = "seed")]
    style: Option<PathBuf>,
    /// Seed for the style vector z of models that take one.
    #[arg(long)]
    seed: Option<u64>,
    /// Output image (PNG).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Also write the raw generator output, (1, 3, H, W) float32 in [-1, 1], as .npy.
    #[arg(long)]
    raw: Option<PathBuf>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(Args)]
struct BenchArgs {
    /// Package to time. Without it, a full-size COCO-Stuff generator with random
    /// weights (ngf 64, 184 semantic channels, 256×256) is built and timed.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Batch sizes to time.
    #[arg(long, num_args = 1.., default_values_t = [1usize, 8])]
    batch: Vec<usize>,
    /// Timed runs per batch size (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Keep the random-weight package here (for comparing with PyTorch).
    #[arg(long)]
    keep: Option<PathBuf>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EASEL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => import(args),
        Command::Generate(args) => generate(args),
        Command::Bench(args) => bench(args),
        Command::Dataset(DatasetCommand::Synth(args)) => synth(args),
        Command::Dataset(DatasetCommand::Convert(args)) => dataset_convert(args),
        Command::Dataset(DatasetCommand::Instances(args)) => dataset_instances(args),
        Command::Dataset(DatasetCommand::Split(args)) => dataset_split(args),
        Command::Dataset(DatasetCommand::Check(args)) => dataset_check(args),
        Command::Serve(args) => serve(args),
        Command::Load(args) => load(args),
        Command::Test(args) => test_run(args),
        Command::Health(args) => health(args),
        Command::Openapi => {
            println!("{}", easel::serve::openapi_json());
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn import(args: ImportArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| {
        let name = args
            .checkpoint_dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_owned()));
        Path::new("models").join(name.unwrap_or_else(|| "model".into()))
    });
    let req = ImportRequest {
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
            half_weights: args.precision == "fp16",
        },
    };
    let report = spade::import(&req)?;
    let card = &report.card;
    for note in &report.notes {
        println!("note: {note}");
    }
    println!(
        "imported {} → {}\n  {} classes{}{}, {}, ngf {}, {} upsampling, native {}×{}{}",
        card.name,
        out.display(),
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
            (Some(z), true) => format!(", z {z} with style encoder"),
            (Some(z), false) => format!(", z {z}"),
            _ => String::new(),
        }
    );
    Ok(())
}

fn open_session(dir: &Path, rt: &RuntimeArgs) -> Result<ModelSession> {
    runtime::init(rt.ort_lib.as_deref())?;
    let package = ModelPackage::open(dir)?;
    Ok(ModelSession::load(
        package,
        SessionOptions {
            threads: rt.threads,
            ..SessionOptions::default()
        },
    )?)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn generate(args: GenerateArgs) -> Result<()> {
    let mut session = open_session(&args.model, &args.runtime)?;
    let card = session.package.card.clone();
    let label = LabelMap::from_png(&read(&args.label, "label map")?, &card, DEFAULT_MAX_PIXELS)
        .with_context(|| format!("{}", args.label.display()))?;
    let instance = match &args.instance {
        Some(p) => Some(
            InstanceMap::from_png(&read(p, "instance map")?, DEFAULT_MAX_PIXELS)
                .with_context(|| format!("{}", p.display()))?,
        ),
        None => None,
    };
    if card.uses_instances && instance.is_none() {
        eprintln!("note: no --instance given; using the edges between classes as instance edges");
    }
    let style = match &args.style {
        Some(path) => {
            let img = image::open(path)
                .with_context(|| format!("cannot read the style image {}", path.display()))?;
            Style::from_image(&img.to_rgb8(), args.seed)
        }
        None => {
            let seed = args.seed.unwrap_or(0);
            if card.z_dim.is_some() && args.seed.is_none() {
                eprintln!("note: no --seed or --style given; using seed 0");
            }
            Style::Seed(seed)
        }
    };
    if card.z_dim.is_none() && (args.style.is_some() || args.seed.is_some()) {
        bail!(
            "model {} does not take a style (it has no z input); leave out --style and --seed",
            card.name
        );
    }
    let output = synthesis::synthesize(&mut session, &label, instance.as_ref(), &style)?;
    let (h, w) = (output.shape[2], output.shape[3]);
    let rgb = synthesis::chw_to_rgb(&output, 0);
    image::save_buffer(
        &args.output,
        &rgb,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgb8,
    )
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    if let Some(raw) = &args.raw {
        std::fs::write(raw, easel::npy::encode(&output.shape, &output.data))
            .with_context(|| format!("cannot write {}", raw.display()))?;
    }
    println!("wrote {} ({w}×{h})", args.output.display());
    Ok(())
}

/// The full-size COCO-Stuff generator of the SPADE paper.
fn coco_full_spec() -> GeneratorSpec {
    GeneratorSpec {
        label_nc: 182,
        dontcare: true,
        instance: true,
        ngf: 64,
        spade_hidden: 128,
        norm: "spectralspadesyncbatch3x3"
            .parse::<GeneratorNorm>()
            .expect("a valid norm name"),
        upsampling: Upsampling::Normal,
        z_dim: None,
        latent: (8, 8),
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let tmp;
    let dir = match &args.model {
        Some(m) => m.clone(),
        None => {
            let dir = match &args.keep {
                Some(k) => k.clone(),
                None => {
                    tmp = std::env::temp_dir().join(format!("easel-bench-{}", std::process::id()));
                    tmp.clone()
                }
            };
            let started = Instant::now();
            let spec = coco_full_spec();
            let weights = easel::spade::weights::Weights::new(
                easel::spade::synthetic::random_generator(&spec, 1),
                "random weights",
            );
            let model = easel::spade::export::generator(&spec, &weights, ExportOptions::default())
                .map_err(anyhow::Error::msg)?;
            easel::spade::write_random_package(&dir, &spec, model)?;
            eprintln!(
                "built the full-size generator in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            dir
        }
    };
    let mut session = open_session(&dir, &args.runtime)?;
    let card = session.package.card.clone();
    let (h, w) = (card.native.height, card.native.width);
    let threads = if args.runtime.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.runtime.threads
    };
    for &n in &args.batch {
        let labels: Vec<i64> = (0..n * h * w)
            .map(|i| ((i / 16 + i / (16 * w)) % card.classes.len()) as i64)
            .collect();
        let edges: Vec<i64> = (0..n * h * w)
            .map(|i| ((i % 16 == 0) || (i / w) % 16 == 0) as i64)
            .collect();
        let z: Vec<f32> = card
            .z_dim
            .map(|z| synthesis::normal_samples(1, n * z))
            .unwrap_or_default();
        let input = GeneratorInput {
            batch: n,
            height: h,
            width: w,
            labels: &labels,
            edges: card.uses_instances.then_some(edges.as_slice()),
            z: card.z_dim.map(|_| z.as_slice()),
        };
        session.generate(&input)?;
        let mut times = Vec::new();
        for _ in 0..args.iters.max(1) {
            let t = Instant::now();
            session.generate(&input)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{{\"impl\":\"easel-onnxruntime\",\"model\":\"{}\",\"batch\":{n},\"size\":\"{w}x{h}\",\"ms_per_image\":{:.1},\"ms_per_batch_median\":{median:.1},\"threads\":{threads}}}",
            card.name,
            median / n as f64
        );
    }
    if args.model.is_none() && args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn synth(args: SynthArgs) -> Result<()> {
    let opts = SynthOptions {
        out: args.out,
        count: args.count,
        size: args.size,
        seed: args.seed,
        test_fraction: args.test_fraction,
        threads: args.threads,
    };
    let report = dataset_synth::write_dataset(&opts)?;
    println!(
        "wrote {} scenes ({} train, {} test) of {}×{} to {} in {:.1} s ({:.1} scenes/s on {} threads)",
        opts.count,
        report.train,
        report.test,
        opts.size,
        opts.size,
        opts.out.display(),
        report.seconds,
        opts.count as f64 / report.seconds,
        report.threads
    );
    print!(
        "{}",
        report.stats.table(&dataset_synth::landscape_classes())
    );
    if let Some(path) = &args.contact_sheet {
        dataset_synth::contact_sheet(opts.seed, opts.size, 12)
            .save(path)
            .with_context(|| format!("cannot write the contact sheet {}", path.display()))?;
        println!("contact sheet: {}", path.display());
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    let pad_batches = match args.pad_batches.as_str() {
        "auto" => args.device.is_gpu(),
        "on" => true,
        "off" => false,
        other => bail!("--pad-batches {other} is not one of auto, on, off"),
    };
    for (flag, value) in [
        ("--max-batch", args.max_batch),
        ("--max-queue", args.max_queue),
        ("--max-body-bytes", args.max_body_bytes),
        ("--max-batch-bytes", args.max_batch_bytes),
    ] {
        if value == 0 {
            bail!("{flag} must be at least 1");
        }
    }
    let default_model = args.default_model.or_else(|| {
        args.models
            .join("landscapes")
            .join("model.json")
            .is_file()
            .then(|| "landscapes".to_string())
    });
    let config = easel::serve::ServeConfig {
        models_dir: args.models,
        default_model,
        bind: args.bind,
        worker: easel::serve::worker::WorkerConfig {
            max_batch: args.max_batch,
            max_queue: args.max_queue,
            pad_batches,
            shed_after: Some(std::time::Duration::from_millis(args.request_timeout_ms)),
        },
        max_body_bytes: args.max_body_bytes,
        max_batch_bytes: args.max_batch_bytes,
        results_dir: args.results_dir,
        cors_origins: args.cors_origins,
        api_token: args.api_token.filter(|t| !t.is_empty()),
        batch_root: args.batch_root,
        max_pixels: args.max_pixels,
        request_timeout: std::time::Duration::from_millis(args.request_timeout_ms),
        session: SessionOptions {
            threads: args.runtime.threads,
            device: args.device,
            gpu: easel::device::GpuOptions {
                conv_search: args.cudnn_search,
                prefer_nhwc: args.prefer_nhwc,
                memory_limit_mib: args.gpu_memory_limit_mib,
                tf32: args.tf32,
                trt_fp16: args.trt_fp16,
            },
            engine_cache: args.trt_cache,
        },
        ort_lib: args.runtime.ort_lib,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(easel::serve::run(config))
}

fn load(args: LoadArgs) -> Result<()> {
    let body = std::sync::Arc::new(read(&args.label, "label map")?);
    let runtime = tokio::runtime::Runtime::new()?;
    let mut runs: Vec<Vec<easel::loadtest::Run>> =
        args.concurrency.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.rounds.max(1) {
        for (i, &concurrency) in args.concurrency.iter().enumerate() {
            let config = easel::loadtest::LoadConfig {
                addr: args.addr.clone(),
                model: args.model.clone(),
                body: body.clone(),
                concurrency,
                duration: std::time::Duration::from_secs_f64(args.seconds),
                invalid_percent: args.invalid_percent,
            };
            let run = runtime.block_on(easel::loadtest::run(&config));
            let one = easel::loadtest::report(concurrency, std::slice::from_ref(&run));
            eprintln!(
                "round {round}: {concurrency} clients, {:.3} images/s",
                one.images_per_second
            );
            runs[i].push(run);
        }
    }
    for (&concurrency, runs) in args.concurrency.iter().zip(&runs) {
        let report = easel::loadtest::report(concurrency, runs);
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

fn test_run(args: TestArgs) -> Result<()> {
    use easel::gallery::run::{Run, RunSpec};
    let mut session = open_session(&args.model, &args.runtime)?;
    let card = session.package.card.clone();
    let epoch = args
        .which_epoch
        .clone()
        .unwrap_or_else(|| card.source.epoch.clone());
    let spec = RunSpec {
        results: &args.results_dir,
        name: &args.name,
        epoch: &epoch,
        label_dir: &args.label_dir,
        image_dir: args.image_dir.as_deref(),
        instance_dir: args.instance_dir.as_deref(),
        how_many: args.how_many,
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let mut run = Run::open(&spec, &card)?;
    let already = run.manifest.done.len();
    if already > 0 {
        eprintln!(
            "resuming {}: {already} of {} already made{}",
            run.dir.root.display(),
            run.samples.len(),
            if run.cleaned > 0 {
                format!(
                    ", {} partial files of the interrupted run removed",
                    run.cleaned
                )
            } else {
                String::new()
            }
        );
    }
    let started = std::time::Instant::now();
    let mut bar =
        easel::dataset::workers::ProgressBar::resuming(run.samples.len(), already, "images");
    let mut progress = |p: easel::gallery::run::Progress| bar.set(p.done + p.failed);
    let mut generate = |jobs: Vec<easel::synthesis::Job>| {
        synthesis::generate_batch(&mut session, &jobs).map_err(|e| e.to_string())
    };
    let result = run.execute(args.batch, &mut generate, &mut progress);
    bar.finish();
    result?;
    let made = run.manifest.done.len() - already;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "made {made} images in {secs:.1} s ({:.2} images/s){}; gallery: {}",
        made as f64 / secs.max(1e-9),
        if already > 0 {
            format!(", {already} were already there")
        } else {
            String::new()
        },
        run.dir.root.join("index.html").display()
    );
    if !run.manifest.failed.is_empty() {
        for (stem, reason) in &run.manifest.failed {
            eprintln!("not made: {stem}: {reason}");
        }
        bail!(
            "{} of {} maps could not be made (listed above and in the gallery)",
            run.manifest.failed.len(),
            run.samples.len()
        );
    }
    Ok(())
}

fn health(args: HealthArgs) -> Result<()> {
    use std::io::{Read, Write};
    let rest = args
        .url
        .strip_prefix("http://")
        .with_context(|| format!("--url {}: only http:// URLs", args.url))?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let timeout = std::time::Duration::from_millis(args.timeout_ms);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .with_context(|| format!("--url {}: cannot resolve {host}", args.url))?
        .next()
        .with_context(|| format!("--url {}: {host} has no address", args.url))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("{}: not answering", args.url))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).unwrap_or("none");
    if status != "200" {
        bail!("{}: status {status}", args.url);
    }
    Ok(())
}

fn work(threads: usize) -> easel::dataset::workers::WorkOptions {
    easel::dataset::workers::WorkOptions {
        threads,
        progress: true,
    }
}

fn dataset_convert(args: ConvertArgs) -> Result<()> {
    use easel::dataset::convert::{self, ConvertOptions, UnknownColours};
    let palette = easel::classes::ClassTable::load(&args.palette)?;
    let options = ConvertOptions {
        palette,
        input: args.rgb_dir,
        out: args.out_dir,
        unknown: args.unknown,
        strip_suffix: args.strip_suffix,
        work: work(args.threads),
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

fn dataset_instances(args: InstancesArgs) -> Result<()> {
    use easel::dataset::instances::{self, InstanceOptions};
    let options = InstanceOptions {
        labels: args.labels,
        annotations: args.annotations,
        out: args.out,
        cityscapes: args.cityscapes,
        label_suffix: args.label_suffix,
        annotation_suffix: args.annotation_suffix,
        work: work(args.threads),
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let report = instances::make_instances(&options)?;
    let failed: Vec<_> = report.failed().collect();
    for f in &failed {
        eprintln!(
            "error: {}: {}",
            f.stem,
            f.failure.as_deref().unwrap_or_default()
        );
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

fn dataset_split(args: SplitArgs) -> Result<()> {
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
        work: work(args.threads),
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

fn dataset_check(args: CheckArgs) -> Result<()> {
    use easel::dataset::check::{self, CheckOptions};
    let classes = args
        .classes
        .as_deref()
        .map(easel::classes::ClassTable::load)
        .transpose()?;
    let options = CheckOptions {
        label_dir: args.label_dir,
        image_dir: args.image_dir,
        instance_dir: args.instance_dir,
        label_nc: args.label_nc,
        classes,
        work: work(args.threads),
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
