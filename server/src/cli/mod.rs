//! The command line: the argument types (`Cli`, `Command`) and the flag
//! groups several commands share, defined once and flattened; each command
//! group's arguments and body live in its own module.

pub mod bench;
pub mod dataset;
pub mod load;
pub mod models;
pub mod runs;
pub mod segment;
pub mod serve;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use easel::dataset::workers::WorkOptions;
use easel::inference::compute::{self, Execution};
use easel::inference::device::{ConvSearch, Device, GpuOptions};
use easel::inference::openvino;
use easel::inference::request::Compute;
use easel::inference::runtime::{self, ModelSession, SessionOptions};
use easel::package::ModelPackage;

#[derive(Parser)]
#[command(
    name = "easel",
    version,
    about = "Import, run and serve SPADE (GauGAN) semantic image synthesis models"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Import a reference SPADE checkpoint folder into a model package.
    Import(models::ImportArgs),
    /// Make one image from a label map.
    Generate(models::GenerateArgs),
    /// Attach the trainer's segmenter (photo to classes) to a model package.
    ImportSegmenter(segment::ImportSegmenterArgs),
    /// Attach a segmenter of real photographs (TFLite, e.g. the shared
    /// DeepLabV3 on ADE20K) to a model package, its classes mapped to the package's.
    AttachPhotoSegmenter(segment::AttachPhotoSegmenterArgs),
    /// Print how a segmenter's classes map to a package's (which ADE20K
    /// classes become sky, water, …, and which have no counterpart).
    ClassMap(segment::ClassMapArgs),
    /// Turn a photo into a label map with a package's segmenter.
    Segment(segment::SegmentArgs),
    /// Time a model package, or a full-size random-weight generator.
    Bench(bench::BenchArgs),
    /// Prepare training data: convert colour annotations, make instance maps, split, check; or render synthetic landscapes.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Serve the REST API for every model package under a folder.
    Serve(serve::ServeArgs),
    /// Print the API's OpenAPI document (docs/openapi.json is this output).
    Openapi,
    /// Load-test a running server's synthesize endpoint (closed loop).
    Load(load::LoadArgs),
    /// Run a model over a folder of label maps into a result gallery
    /// (results/<name>/test_<epoch>/index.html), resuming an interrupted run.
    Test(runs::TestArgs),
    /// Exit 0 when a server answers 200 at --url (the containers' health check).
    Health(serve::HealthArgs),
}

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Render procedural landscapes (label maps in the built-in `landscapes`
    /// classes and matching images) in the SPADE custom-dataset layout.
    Synth(dataset::SynthArgs),
    /// Render a photo for each label map of a folder (painted, simplified,
    /// laid out like photographs) with the map-first renderer: training
    /// pairs for maps the composer never draws, in synth's layout.
    RenderMaps(dataset::RenderMapsArgs),
    /// Turn RGB colour annotations into single-channel maps of class indices
    /// (8-bit PNG, 16-bit for more than 255 classes), with classes.tsv beside them.
    Convert(dataset::ConvertArgs),
    /// Make 16-bit instance maps: from instance annotations, from the connected
    /// regions of each class of label maps, or both.
    Instances(dataset::InstancesArgs),
    /// Pair photos, label maps and instance maps by name and split them into
    /// train_*/test_* folders, the same way for the same seed.
    Split(dataset::SplitArgs),
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
    Check(dataset::CheckArgs),
}

/// Where and how models run: the ONNX Runtime library, threads and device.
/// Shared by every command that runs a model.
#[derive(Args, Clone)]
pub struct RuntimeArgs {
    /// cpu, cuda / cuda:N, or tensorrt / tensorrt:N (GPUs need the onnxruntime-gpu
    /// library: `make venv-gpu`). A GPU that cannot start is an error, never a CPU fallback.
    #[arg(long, env = "EASEL_DEVICE", default_value = "cpu")]
    pub device: Device,
    /// GPU: cuDNN convolution algorithm search: exhaustive (timed once per batch size, at warm-up), heuristic or default.
    #[arg(long, env = "EASEL_CUDNN_SEARCH", default_value = "exhaustive")]
    cudnn_search: ConvSearch,
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
    /// Arithmetic: auto (where OpenVINO is installed, bf16 on it if the CPU
    /// has native bf16, AMX or AVX512-BF16, else fp32 on it, faster than
    /// ONNX Runtime's there; without OpenVINO, ONNX Runtime's fp32), fp32
    /// (ONNX Runtime, every machine) or bf16 (OpenVINO; refused on a CPU
    /// without native bf16). bf16 took the default model from 97 to 20.5 ms on a
    /// 2-core AMX CPU and from 149 to 69 ms on an AVX512-BF16 one; its images
    /// differ from fp32 by a few grey levels (default model: max 0.03, mean
    /// 0.002 on [-1, 1]).
    #[arg(long, env = "EASEL_COMPUTE", value_parser = named::<Compute>(&Compute::NAMES), default_value = "auto")]
    pub compute: Compute,
    /// Path to libonnxruntime.so (1.22.x). Default: the project's .venv.
    #[arg(long, env = "ORT_DYLIB_PATH", global = true)]
    pub ort_lib: Option<PathBuf>,
    /// Path to OpenVINO's libopenvino_c.so (2025.1 or later), for bf16.
    /// Default: the project's .venv-openvino (`make venv-openvino`).
    #[arg(long, env = "EASEL_OPENVINO_LIB", global = true)]
    pub openvino_lib: Option<PathBuf>,
    #[command(flatten)]
    pub threads: ThreadsArgs,
}

impl RuntimeArgs {
    /// Where and in what arithmetic models will run: `--compute` against
    /// this CPU and the OpenVINO library (looked for unless fp32 on ONNX
    /// Runtime is asked or bf16 is impossible). An impossible ask is an
    /// error that says why.
    pub fn execution(&self) -> Result<Execution> {
        compute::choose(self.compute, self.device, &compute::this_cpu_bf16(), || {
            openvino::init(self.openvino_lib.as_deref()).cloned()
        })
        .map_err(anyhow::Error::msg)
    }

    /// Session settings for models that run as `execution` says.
    pub fn session_options(&self, execution: Execution) -> SessionOptions {
        SessionOptions {
            threads: self.threads.threads,
            device: self.device,
            gpu: GpuOptions {
                conv_search: self.cudnn_search,
                prefer_nhwc: self.prefer_nhwc,
                memory_limit_mib: self.gpu_memory_limit_mib,
                tf32: self.tf32,
                trt_fp16: self.trt_fp16,
            },
            engine_cache: self.trt_cache.clone(),
            execution,
        }
    }

    /// Loads the package in `dir` on the chosen device. A GPU that cannot
    /// start fails here, with the device's own message, before the model loads.
    pub fn open_session(&self, dir: &Path) -> Result<ModelSession> {
        runtime::init(self.ort_lib.as_deref())?;
        let options = self.session_options(self.execution()?);
        runtime::check_device(&options)?;
        let execution = &options.execution;
        eprintln!(
            "compute: {} on {} ({})",
            execution.compute, execution.provider, execution.reason
        );
        let package = ModelPackage::open(dir)?;
        Ok(ModelSession::load(package, options)?)
    }
}

/// How many threads work: inference's intra-op threads, or the dataset
/// tools' workers (one flag, one variable, for every command).
#[derive(Args, Clone)]
pub struct ThreadsArgs {
    /// Threads to work on (inference: intra-op threads; dataset tools:
    /// files at a time); 0 means one per core.
    #[arg(long, env = "EASEL_THREADS", default_value_t = 0)]
    pub threads: usize,
}

impl ThreadsArgs {
    /// Per-file work on these threads, with a progress bar.
    pub fn work(&self) -> WorkOptions {
        WorkOptions {
            threads: self.threads,
            progress: true,
        }
    }
}

/// A parser for one of the library's closed sets of names (`SizeMode`,
/// `EdgesMode`, `Compute`), which the API reads by serde: the command line
/// reads them the same way, so a name means the same in both, and the
/// library needs no command-line derives.
pub fn named<T>(names: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names)
        .try_map(|name| serde_json::from_value::<T>(serde_json::Value::String(name)))
}

/// The bytes of `path`; the error names the file and what it was meant to be.
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}
