//! OpenVINO: the bf16 path on CPUs with native bf16. Its C library comes from
//! the `openvino` PyPI wheel in the project's `.venv-openvino` (`make
//! venv-openvino`) and is loaded at run time, as ONNX Runtime's is.
//!
//! A graph is compiled once per set of input shapes: with dynamic shapes
//! OpenVINO's bf16 runs the graph's nearest-resize index arithmetic in bf16,
//! which holds integers exactly only up to 256, and maps wider than 256
//! pixels came out wrong (max difference 1.4 on [-1, 1]). Static shapes fold
//! that arithmetic into constants in fp32. Compiling takes 0.2–0.35 s, so the
//! compiled shapes are kept, the least recently used dropped past a bound.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openvino::{Core, DeviceType, ElementType, PartialShape, RwPropertyKey, Shape, Tensor};

use super::graph_io::{GraphInput, InputData, Output};

/// The wheel `make venv-openvino` installs; keep in step with the Makefile.
pub const OPENVINO_WHEEL: &str = "openvino==2026.4.1";
/// Compiled shapes kept per graph: the server's padded batch sizes at the
/// native size and a few canvas sizes.
const COMPILED_SHAPES: usize = 12;

#[derive(Debug, Clone, thiserror::Error)]
pub enum OpenVinoError {
    #[error(
        "OpenVINO was not found (looked for {looked}).\n  Install it with `make venv-openvino` \
         (or: python3 -m venv .venv-openvino && .venv-openvino/bin/pip install --no-deps {OPENVINO_WHEEL}),\n  \
         or point easel at a libopenvino_c.so with --openvino-lib PATH or EASEL_OPENVINO_LIB=PATH"
    )]
    NotFound { looked: String },
    #[error("{path} could not be loaded as OpenVINO's C library: {reason}. Install {OPENVINO_WHEEL} (`make venv-openvino`) or pass --openvino-lib with a libopenvino_c.so of 2025.1 or later")]
    Unloadable { path: String, reason: String },
    #[error("OpenVINO: {0}")]
    Runtime(String),
}

fn runtime_error(e: impl std::fmt::Display) -> OpenVinoError {
    OpenVinoError::Runtime(e.to_string())
}

/// Where the library was found, and its version.
#[derive(Debug, Clone)]
pub struct OpenVinoLibrary {
    pub path: PathBuf,
    pub version: String,
}

/// Candidate library paths, in order: the flag (or EASEL_OPENVINO_LIB, which
/// clap puts there), then the project's `.venv-openvino`.
pub fn candidate_paths(flag: Option<&Path>) -> Vec<PathBuf> {
    match flag {
        Some(p) => vec![p.to_path_buf()],
        None => {
            super::graph_io::venv_libraries(".venv-openvino", "openvino/libs", "libopenvino_c.so")
        }
    }
}

static LIBRARY: OnceLock<Result<OpenVinoLibrary, OpenVinoError>> = OnceLock::new();

/// Finds and loads OpenVINO's C library, once per process; later calls
/// answer what the first found, whatever flag they pass.
pub fn init(flag: Option<&Path>) -> Result<&'static OpenVinoLibrary, OpenVinoError> {
    LIBRARY
        .get_or_init(|| load(flag))
        .as_ref()
        .map_err(Clone::clone)
}

fn load(flag: Option<&Path>) -> Result<OpenVinoLibrary, OpenVinoError> {
    let candidates = candidate_paths(flag);
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        let looked = if candidates.is_empty() {
            "--openvino-lib, EASEL_OPENVINO_LIB and .venv-openvino/lib/python*/site-packages/openvino/libs above the working folder and the binary".to_string()
        } else {
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(OpenVinoError::NotFound { looked });
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.clone());
    // Checks the library's version too (2025.1 or later).
    openvino_sys::library::load_from(&path).map_err(|reason| OpenVinoError::Unloadable {
        path: path.display().to_string(),
        reason,
    })?;
    let version = openvino::version();
    Ok(OpenVinoLibrary {
        path,
        // "2026.4.1-22982-e213a147257-releases/2026/4": the release is enough.
        version: version
            .build_number
            .split('-')
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

/// The arithmetic OpenVINO is asked for. It must be said outright: on CPUs
/// with native bf16 OpenVINO's default is bf16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    Bf16,
}

impl Precision {
    fn hint(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// The input shapes a compiled model was made for, by input name.
type ShapeKey = Vec<(&'static str, Vec<usize>)>;

struct Compiled {
    shapes: ShapeKey,
    /// The inference precision OpenVINO compiled it for (f32, bf16).
    precision: String,
    request: openvino::InferRequest,
    /// Kept alive for its request.
    _model: openvino::CompiledModel,
}

/// One ONNX graph on OpenVINO's CPU plugin, compiled per input shapes.
pub struct OpenVinoGraph {
    core: Core,
    /// Read once; reshaped to each new set of shapes before compiling.
    model: openvino::Model,
    /// Most recently used last.
    compiled: Vec<Compiled>,
}

impl OpenVinoGraph {
    /// Reads `path` and sets the CPU plugin up for `precision` on `threads`
    /// threads; nothing is compiled until a shape is run.
    pub fn load(path: &Path, precision: Precision, threads: usize) -> Result<Self, OpenVinoError> {
        let mut core = Core::new().map_err(runtime_error)?;
        let cpu = DeviceType::CPU;
        for (key, value) in [
            (RwPropertyKey::HintPerformanceMode, "LATENCY".to_string()),
            (RwPropertyKey::NumStreams, "1".to_string()),
            (RwPropertyKey::InferenceNumThreads, threads.to_string()),
            (
                RwPropertyKey::HintInferencePrecision,
                precision.hint().to_string(),
            ),
        ] {
            core.set_property(&cpu, &key, &value)
                .map_err(runtime_error)?;
        }
        let path_text = path.to_str().ok_or_else(|| {
            OpenVinoError::Runtime(format!("{} is not a UTF-8 path", path.display()))
        })?;
        // A graph OpenVINO cannot read fails here, at load, not at the first request.
        let model = core
            .read_model_from_file(path_text, "")
            .map_err(|e| OpenVinoError::Runtime(format!("cannot read {}: {e}", path.display())))?;
        Ok(Self {
            core,
            model,
            compiled: Vec::new(),
        })
    }

    /// The precision of the most recently run shape, as OpenVINO reports it.
    pub fn compiled_precision(&self) -> Option<&str> {
        self.compiled.last().map(|c| c.precision.as_str())
    }

    /// How many input shapes are compiled now.
    pub fn compiled_shapes(&self) -> usize {
        self.compiled.len()
    }

    /// Runs the graph on `inputs`, giving the float tensors named `outputs`
    /// in order; a batch (every input N first, N > 1)
    /// runs image by image on the one compiled shape: on the CPU, OpenVINO
    /// took longer per image in batches than alone (2 cores with AMX, bf16:
    /// the full-size generator 614 against 419 ms per image at batch 8 and
    /// 1, the default model 27 against 20 ms; docs/benchmarks.md).
    pub fn run(
        &mut self,
        inputs: &[GraphInput],
        outputs: &[&str],
    ) -> Result<Vec<Output>, OpenVinoError> {
        let n = inputs
            .first()
            .and_then(|i| i.shape.first().copied())
            .unwrap_or(1);
        if n <= 1 || !inputs.iter().all(|i| i.shape.first() == Some(&n)) {
            return self.run_whole(inputs, outputs);
        }
        let mut joined: Vec<Output> = Vec::new();
        for k in 0..n {
            let one: Vec<GraphInput> = inputs.iter().map(|i| i.item(k, n)).collect();
            let outs = self.run_whole(&one, outputs)?;
            if joined.is_empty() {
                joined = outs;
            } else {
                for (all, out) in joined.iter_mut().zip(outs) {
                    all.data.extend(out.data);
                }
            }
        }
        for out in &mut joined {
            if let Some(first) = out.shape.first_mut() {
                *first = n;
            }
        }
        Ok(joined)
    }

    fn run_whole(
        &mut self,
        inputs: &[GraphInput],
        outputs: &[&str],
    ) -> Result<Vec<Output>, OpenVinoError> {
        let shapes: ShapeKey = inputs.iter().map(|i| (i.name, i.shape.clone())).collect();
        let compiled = self.compiled_for(shapes)?;
        let compiled = &mut self.compiled[compiled];
        for input in inputs {
            let dims: Vec<i64> = input.shape.iter().map(|&d| d as i64).collect();
            let shape = Shape::new(&dims).map_err(runtime_error)?;
            let tensor = match input.data {
                InputData::F32(values) => {
                    let mut t = Tensor::new(ElementType::F32, &shape).map_err(runtime_error)?;
                    t.get_data_mut::<f32>()
                        .map_err(runtime_error)?
                        .copy_from_slice(values);
                    t
                }
                InputData::I64(values) => {
                    let mut t = Tensor::new(ElementType::I64, &shape).map_err(runtime_error)?;
                    t.get_data_mut::<i64>()
                        .map_err(runtime_error)?
                        .copy_from_slice(values);
                    t
                }
            };
            compiled
                .request
                .set_tensor(input.name, &tensor)
                .map_err(runtime_error)?;
        }
        compiled.request.infer().map_err(runtime_error)?;
        outputs
            .iter()
            .map(|name| {
                let tensor = compiled.request.get_tensor(name).map_err(runtime_error)?;
                let dims = tensor.get_shape().map_err(runtime_error)?;
                let shape: Vec<usize> = dims
                    .get_dimensions()
                    .iter()
                    .map(|&d| d.max(0) as usize)
                    .collect();
                let data = tensor.get_data::<f32>().map_err(runtime_error)?.to_vec();
                Ok(Output { shape, data })
            })
            .collect()
    }

    /// Where in `compiled` the model for `shapes` is, compiling it when it
    /// is new; it becomes the most recently used.
    fn compiled_for(&mut self, shapes: ShapeKey) -> Result<usize, OpenVinoError> {
        if let Some(i) = self.compiled.iter().position(|c| c.shapes == shapes) {
            let hit = self.compiled.remove(i);
            self.compiled.push(hit);
        } else {
            let compiled = self.compile(shapes)?;
            if self.compiled.len() >= COMPILED_SHAPES {
                self.compiled.remove(0);
            }
            self.compiled.push(compiled);
        }
        Ok(self.compiled.len() - 1)
    }

    fn compile(&mut self, shapes: ShapeKey) -> Result<Compiled, OpenVinoError> {
        let started = std::time::Instant::now();
        let partial: Vec<(&str, PartialShape)> = shapes
            .iter()
            .map(|(name, dims)| {
                let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
                Ok((
                    *name,
                    PartialShape::new_static(dims.len() as i64, &dims).map_err(runtime_error)?,
                ))
            })
            .collect::<Result<_, OpenVinoError>>()?;
        let refs: Vec<(&str, &PartialShape)> = partial.iter().map(|(n, s)| (*n, s)).collect();
        self.model.reshape(&refs).map_err(runtime_error)?;
        let mut compiled = self
            .core
            .compile_model(&self.model, DeviceType::CPU)
            .map_err(runtime_error)?;
        let request = compiled.create_infer_request().map_err(runtime_error)?;
        let precision = compiled
            .get_property(&RwPropertyKey::HintInferencePrecision.into())
            .map_err(runtime_error)?
            .into_owned();
        tracing::info!(
            "OpenVINO compiled {:?} for {precision} in {} ms",
            shapes,
            started.elapsed().as_millis()
        );
        Ok(Compiled {
            shapes,
            precision,
            request,
            _model: compiled,
        })
    }
}
