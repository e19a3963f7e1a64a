//! ONNX Runtime: finding its shared library, and sessions for a package's
//! generator, encoder and segmenter. The library is loaded at run time (`ort`'s
//! `load-dynamic`), so easel builds without it and says how to get it.

mod segmenters;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use crate::inference::compute::{Execution, Provider};
use crate::inference::device::{self, Device, GpuOptions};
pub use crate::inference::graph_io::{GraphInput, InputData, Output};
use crate::inference::openvino::{OpenVinoError, OpenVinoGraph, Precision};
use crate::inference::request::Compute;
use crate::package::graph::{
    EDGES_INPUT, IMAGE_OUTPUT, LABEL_INPUT, LOGVAR_OUTPUT, MU_OUTPUT, NOISE_INPUT, POSITION_INPUT,
    STYLE_INPUT, Z_INPUT,
};
use crate::package::ModelPackage;
pub use segmenters::{Classes, ClassesGraph, SegmenterSession};

/// The ONNX Runtime minor version this build's `ort` speaks (1.22.x).
pub const ORT_MINOR: u32 = 22;
/// The wheel `make` installs; keep in step with the Makefile.
pub const ORT_WHEEL: &str = "onnxruntime==1.22.1";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime was not found (looked for {looked}).\n  Install it into the project virtualenv with `make venv`\n  \
         (or: python3 -m venv .venv && .venv/bin/pip install {ORT_WHEEL}),\n  \
         or point easel at a libonnxruntime.so 1.{ORT_MINOR}.x with --ort-lib PATH or ORT_DYLIB_PATH=PATH"
    )]
    NotFound { looked: String },
    #[error("{path} could not be loaded as ONNX Runtime: {reason}. Install {ORT_WHEEL} (`make venv`) or pass --ort-lib with a working libonnxruntime.so 1.{ORT_MINOR}.x")]
    Unloadable { path: String, reason: String },
    #[error("{path} is ONNX Runtime {version}, but easel needs 1.{ORT_MINOR}.x; install {ORT_WHEEL} (`make venv`) or pass --ort-lib with that version")]
    WrongVersion { path: String, version: String },
    #[error("ONNX Runtime: {0}")]
    Ort(#[from] ort::Error),
    #[error("the model's graph gave {0}")]
    BadOutput(String),
    #[error("{0}")]
    Gpu(String),
    #[error(transparent)]
    OpenVino(#[from] OpenVinoError),
    #[error("{0}")]
    Unsupported(String),
}

/// Where the library was found, and its version.
#[derive(Debug, Clone)]
pub struct OrtLibrary {
    pub path: PathBuf,
    pub version: String,
}

/// Candidate library paths, in order: flag, ORT_DYLIB_PATH, project virtualenvs.
pub fn candidate_paths(flag: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = flag {
        return vec![p.to_path_buf()];
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(p)];
    }
    super::graph_io::venv_libraries(".venv", "onnxruntime/capi", "libonnxruntime.so")
}

/// Checks that `path` is an ONNX Runtime of the right version, without `ort`
/// (which panics on a bad library).
fn probe(path: &Path) -> Result<String, RuntimeError> {
    let unloadable = |reason: String| RuntimeError::Unloadable {
        path: path.display().to_string(),
        reason,
    };
    // SAFETY: loading a shared library runs its initialisers; ONNX Runtime's are benign.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| unloadable(e.to_string()))?;
    type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
    // SAFETY: the symbol has this signature in every ONNX Runtime release.
    let version = unsafe {
        let get: libloading::Symbol<GetApiBase> = lib
            .get(b"OrtGetApiBase")
            .map_err(|e| unloadable(e.to_string()))?;
        let base = get();
        if base.is_null() {
            return Err(unloadable("OrtGetApiBase returned null".into()));
        }
        std::ffi::CStr::from_ptr(((*base).GetVersionString)())
            .to_string_lossy()
            .into_owned()
    };
    let minor: Option<u32> = version.split('.').nth(1).and_then(|m| m.parse().ok());
    if !version.starts_with("1.") || minor != Some(ORT_MINOR) {
        return Err(RuntimeError::WrongVersion {
            path: path.display().to_string(),
            version,
        });
    }
    // Keep it loaded: ort will open the same file again.
    std::mem::forget(lib);
    Ok(version)
}

static LIBRARY: OnceLock<OrtLibrary> = OnceLock::new();

/// Finds, checks and initialises ONNX Runtime once per process.
pub fn init(flag: Option<&Path>) -> Result<&'static OrtLibrary, RuntimeError> {
    if let Some(lib) = LIBRARY.get() {
        return Ok(lib);
    }
    let candidates = candidate_paths(flag);
    let path = match candidates.iter().find(|p| p.is_file()) {
        Some(p) => p.clone(),
        None => {
            let looked = if candidates.is_empty() {
                "--ort-lib, ORT_DYLIB_PATH and .venv/lib/python*/site-packages/onnxruntime/capi above the working folder and the binary".to_string()
            } else {
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(RuntimeError::NotFound { looked });
        }
    };
    let path = path.canonicalize().unwrap_or(path);
    let version = probe(&path)?;
    let _ = ort::init_from(path.display().to_string())
        .with_name("easel")
        .commit();
    Ok(LIBRARY.get_or_init(|| OrtLibrary { path, version }))
}

/// Session settings; one per model session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Intra-op threads; 0 means one per core.
    pub threads: usize,
    pub device: Device,
    pub gpu: GpuOptions,
    /// Where TensorRT keeps its engines between runs.
    pub engine_cache: Option<PathBuf>,
    /// Where and in what arithmetic models run, as `compute::choose`
    /// settled it: fp32 on ONNX Runtime, or bf16 on OpenVINO.
    pub execution: Execution,
}

/// Starts `opts.device`'s execution providers without a model, so that a
/// GPU that cannot start stops the server once, before any model loads.
pub fn check_device(opts: &SessionOptions) -> Result<(), RuntimeError> {
    if opts.device.is_gpu() {
        builder(opts)?;
    }
    Ok(())
}

pub(crate) fn session(path: &Path, opts: &SessionOptions) -> Result<Session, RuntimeError> {
    Ok(builder(opts)?.commit_from_file(path)?)
}

fn builder(opts: &SessionOptions) -> Result<ort::session::builder::SessionBuilder, RuntimeError> {
    let threads = crate::cores::threads(opts.threads);
    let mut builder = Session::builder()?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads)?;
    if opts.device.is_gpu() {
        let library = LIBRARY
            .get()
            .map_or_else(|| PathBuf::from("(not initialised)"), |l| l.path.clone());
        static PRELOADED: OnceLock<usize> = OnceLock::new();
        let preloaded = *PRELOADED.get_or_init(|| device::preload_cuda_libraries(&library));
        tracing::info!(
            "preloaded {preloaded} CUDA/cuDNN libraries from the onnxruntime-gpu wheel's folder"
        );
        let providers =
            device::execution_providers(opts.device, &opts.gpu, opts.engine_cache.as_deref());
        builder = builder.with_execution_providers(providers).map_err(|e| {
            RuntimeError::Gpu(device::gpu_failure(opts.device, &library, &e.to_string()))
        })?;
    }
    Ok(builder)
}

/// Inputs for a batch of N maps of one size, already validated.
pub struct GeneratorInput<'a> {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    /// N·H·W class indices.
    pub labels: &'a [i64],
    /// N·H·W 0/1 instance edges, when the model uses them.
    pub edges: Option<&'a [i64]>,
    /// N·2·H·W positional encoding, when the model takes it (CLADE-ICPE).
    pub position: Option<&'a [f32]>,
    /// N·z_dim, when the model takes z as a vector.
    pub z: Option<&'a [f32]>,
    /// N·z_dim·H·W, when the model takes z per pixel (OASIS's noise).
    pub noise: Option<&'a [f32]>,
}

impl GeneratorInput<'_> {
    /// The graph's named inputs, as views of the caller's buffers.
    fn graph_inputs(&self) -> Vec<GraphInput<'_>> {
        let (n, h, w) = (self.batch, self.height, self.width);
        let per = |values: usize, of: usize| values / of.max(1);
        let mut inputs = vec![GraphInput::i64(LABEL_INPUT, vec![n, h, w], self.labels)];
        if let Some(edges) = self.edges {
            inputs.push(GraphInput::i64(EDGES_INPUT, vec![n, h, w], edges));
        }
        if let Some(position) = self.position {
            inputs.push(GraphInput::f32(POSITION_INPUT, vec![n, 2, h, w], position));
        }
        if let Some(z) = self.z {
            inputs.push(GraphInput::f32(Z_INPUT, vec![n, per(z.len(), n)], z));
        }
        if let Some(noise) = self.noise {
            let channels = per(noise.len(), n * h * w);
            inputs.push(GraphInput::f32(NOISE_INPUT, vec![n, channels, h, w], noise));
        }
        inputs
    }
}

/// A generator or encoder graph on the runtime its compute asks for.
pub enum Graph {
    /// fp32, CPU or GPU.
    OnnxRuntime(Session),
    /// bf16 on the CPU.
    OpenVino(OpenVinoGraph),
}

impl Graph {
    pub fn load(path: &Path, opts: &SessionOptions) -> Result<Self, RuntimeError> {
        let threads = crate::cores::threads(opts.threads);
        Ok(match (opts.execution.provider, opts.execution.compute) {
            (Provider::OpenVino, Compute::Bf16) => {
                Graph::OpenVino(OpenVinoGraph::load(path, Precision::Bf16, threads)?)
            }
            (Provider::OpenVino, _) => {
                Graph::OpenVino(OpenVinoGraph::load(path, Precision::F32, threads)?)
            }
            (Provider::OnnxRuntime, Compute::Bf16) => {
                return Err(RuntimeError::Unsupported(
                    "bf16 runs on OpenVINO, not ONNX Runtime".into(),
                ))
            }
            (Provider::OnnxRuntime, _) => Graph::OnnxRuntime(session(path, opts)?),
        })
    }

    /// Runs the graph; the float tensors named `outputs`, in order.
    pub fn run(
        &mut self,
        inputs: &[GraphInput],
        outputs: &[&str],
    ) -> Result<Vec<Output>, RuntimeError> {
        match self {
            Graph::OpenVino(graph) => Ok(graph.run(inputs, outputs)?),
            Graph::OnnxRuntime(session) => {
                // Views of the caller's buffers: ONNX Runtime reads them in place.
                let values = inputs
                    .iter()
                    .map(|input| {
                        let shape = input.shape.clone();
                        let value = match input.data {
                            InputData::F32(v) => TensorRef::from_array_view((shape, v))?.into_dyn(),
                            InputData::I64(v) => TensorRef::from_array_view((shape, v))?.into_dyn(),
                        };
                        Ok((input.name, value))
                    })
                    .collect::<Result<Vec<_>, ort::Error>>()?;
                let results = session.run(values)?;
                outputs
                    .iter()
                    .map(|name| extract(&results[*name]))
                    .collect()
            }
        }
    }
}

/// A package's generator (and encoder, and segmenter) loaded to run in the
/// compute its options ask for (the segmenter always on ONNX Runtime, fp32:
/// it answers classes, not pixels).
pub struct ModelSession {
    pub package: ModelPackage,
    generator: Graph,
    encoder: Option<Graph>,
    /// Until a model's worker takes it to run on a thread of its own.
    segmenter: Option<SegmenterSession>,
    execution: Execution,
}

impl ModelSession {
    pub fn load(package: ModelPackage, opts: SessionOptions) -> Result<Self, RuntimeError> {
        let generator = Graph::load(&package.generator_path(), &opts)?;
        let encoder = package
            .encoder_path()
            .map(|p| Graph::load(&p, &opts))
            .transpose()?;
        let segmenter = SegmenterSession::load(&package, &opts)?;
        Ok(Self {
            package,
            generator,
            encoder,
            segmenter,
            execution: opts.execution,
        })
    }

    /// Where and in what arithmetic it runs.
    pub fn execution(&self) -> &Execution {
        &self.execution
    }

    /// The arithmetic OpenVINO says it compiled the generator in (bf16, or
    /// f32 on a CPU without native bf16); None on ONNX Runtime or before
    /// the first run.
    pub fn compiled_precision(&self) -> Option<&str> {
        match &self.generator {
            Graph::OpenVino(graph) => graph.compiled_precision(),
            Graph::OnnxRuntime(_) => None,
        }
    }

    /// How many input shapes OpenVINO has compiled the generator for; None
    /// on ONNX Runtime (which takes any shape).
    pub fn compiled_shapes(&self) -> Option<usize> {
        match &self.generator {
            Graph::OpenVino(graph) => Some(graph.compiled_shapes()),
            Graph::OnnxRuntime(_) => None,
        }
    }

    /// The package's segmenter, when it has one; it can be taken once.
    pub fn take_segmenter_session(&mut self) -> Option<SegmenterSession> {
        self.segmenter.take()
    }

    pub fn generate(&mut self, input: &GeneratorInput) -> Result<Output, RuntimeError> {
        let outputs = self.generator.run(&input.graph_inputs(), &[IMAGE_OUTPUT])?;
        outputs
            .into_iter()
            .next()
            .ok_or_else(|| RuntimeError::BadOutput("no image".into()))
    }

    /// mu and logvar for N RGB images in [-1, 1], (N, 3, H, W).
    pub fn encode(
        &mut self,
        shape: [usize; 4],
        pixels: &[f32],
    ) -> Result<Option<(Output, Output)>, RuntimeError> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Ok(None);
        };
        let input = GraphInput::f32(STYLE_INPUT, shape.to_vec(), pixels);
        let outputs = encoder.run(&[input], &[MU_OUTPUT, LOGVAR_OUTPUT])?;
        let [mu, logvar]: [Output; 2] = outputs.try_into().map_err(|o: Vec<Output>| {
            RuntimeError::BadOutput(format!("{} outputs for two", o.len()))
        })?;
        Ok(Some((mu, logvar)))
    }
}

pub(crate) fn extract(value: &ort::value::DynValue) -> Result<Output, RuntimeError> {
    let (shape, data) = value.try_extract_tensor::<f32>()?;
    let shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if shape.iter().product::<usize>() != data.len() {
        return Err(RuntimeError::BadOutput(format!(
            "a tensor of shape {shape:?} with {} values",
            data.len()
        )));
    }
    Ok(Output {
        shape,
        data: data.to_vec(),
    })
}

/// A feature network (an Inception-v3 pool-feature graph for FID and KID):
/// its first input takes images (N, 3, H, W), its first output is the
/// features. Always ONNX Runtime, fp32: the features are compared across
/// runs and machines.
pub struct FeatureSession {
    session: Session,
    input: String,
    output: String,
}

impl FeatureSession {
    pub fn load(path: &Path, opts: &SessionOptions) -> Result<Self, RuntimeError> {
        let session = session(path, opts)?;
        let first = |names: Vec<String>, what: &str| {
            names
                .into_iter()
                .next()
                .ok_or_else(|| RuntimeError::BadOutput(format!("the graph has no {what}")))
        };
        let input = first(
            session.inputs.iter().map(|i| i.name.clone()).collect(),
            "input",
        )?;
        let output = first(
            session.outputs.iter().map(|o| o.name.clone()).collect(),
            "output",
        )?;
        Ok(Self {
            session,
            input,
            output,
        })
    }

    /// The first output for images `pixels` of `shape` (N, 3, H, W).
    pub fn run(&mut self, shape: [usize; 4], pixels: &[f32]) -> Result<Output, RuntimeError> {
        let outputs = self.session.run(vec![(
            self.input.as_str(),
            TensorRef::from_array_view((shape, pixels))?.into_dyn(),
        )])?;
        extract(&outputs[self.output.as_str()])
    }
}
