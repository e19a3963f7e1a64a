//! Where inference runs: `--device cpu | cuda[:N] | tensorrt[:N]` and the
//! execution provider options. A GPU provider is registered so that failing
//! to start it is an error: easel never quietly runs a GPU deployment on the
//! CPU. GPU sessions also pad batches to a few fixed sizes, each warmed up
//! at start, so cuDNN's algorithm search runs once per size, not per request.

use std::path::Path;
use std::str::FromStr;

use ort::execution_providers::cuda::CuDNNConvAlgorithmSearch;
use ort::execution_providers::{
    CUDAExecutionProvider, ExecutionProviderDispatch, TensorRTExecutionProvider,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    #[default]
    Cpu,
    Cuda,
    TensorRt,
}

/// A parsed `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Device {
    pub provider: Provider,
    /// GPU index (0 for the CPU).
    pub id: i32,
}

impl Device {
    pub fn is_gpu(self) -> bool {
        self.provider != Provider::Cpu
    }
}

/// A `--device` or `--cudnn-search` that easel does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceFlagError {
    #[error("--device {device}: `{index}` is not a GPU index (0, 1, …)")]
    GpuIndex { device: String, index: String },
    #[error("--device {0} is not one of cpu, cuda, cuda:N, tensorrt, tensorrt:N")]
    Device(String),
    #[error("--cudnn-search {0} is not one of exhaustive, heuristic, default")]
    ConvSearch(String),
}

impl FromStr for Device {
    type Err = DeviceFlagError;
    fn from_str(s: &str) -> Result<Self, DeviceFlagError> {
        let (name, id) = match s.split_once(':') {
            Some((n, i)) => (
                n,
                i.parse::<i32>().ok().filter(|i| *i >= 0).ok_or_else(|| {
                    DeviceFlagError::GpuIndex {
                        device: s.to_string(),
                        index: i.to_string(),
                    }
                })?,
            ),
            None => (s, 0),
        };
        let provider = match name {
            "cpu" if s == "cpu" => Provider::Cpu,
            "cuda" | "gpu" => Provider::Cuda,
            "tensorrt" | "trt" => Provider::TensorRt,
            _ => return Err(DeviceFlagError::Device(s.to_string())),
        };
        Ok(Self { provider, id })
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.provider {
            Provider::Cpu => write!(f, "cpu"),
            Provider::Cuda => write!(f, "cuda:{}", self.id),
            Provider::TensorRt => write!(f, "tensorrt:{}", self.id),
        }
    }
}

/// cuDNN's convolution algorithm search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvSearch {
    /// Time every algorithm for each new shape (the fastest kernels; the
    /// first run of each shape is slow, which warm-up absorbs).
    #[default]
    Exhaustive,
    /// cuDNN's heuristics: no timing, usually close.
    Heuristic,
    /// One fixed algorithm: least memory.
    Default,
}

impl FromStr for ConvSearch {
    type Err = DeviceFlagError;
    fn from_str(s: &str) -> Result<Self, DeviceFlagError> {
        match s {
            "exhaustive" => Ok(Self::Exhaustive),
            "heuristic" => Ok(Self::Heuristic),
            "default" => Ok(Self::Default),
            _ => Err(DeviceFlagError::ConvSearch(s.to_string())),
        }
    }
}

/// GPU execution provider settings; ignored on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuOptions {
    pub conv_search: ConvSearch,
    /// Let cuDNN use NHWC layouts (faster on tensor cores).
    pub prefer_nhwc: bool,
    /// Cap on the GPU memory arena, in MiB; None: as much as needed.
    pub memory_limit_mib: Option<usize>,
    /// TF32 matrix maths on Ampere and later: faster, but results differ from
    /// fp32 in the 3rd–4th digit; off by default so GPU and CPU images agree.
    pub tf32: bool,
    /// TensorRT: build fp16 engines.
    pub trt_fp16: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            conv_search: ConvSearch::Exhaustive,
            prefer_nhwc: true,
            memory_limit_mib: None,
            tf32: false,
            trt_fp16: false,
        }
    }
}

/// The execution providers for `device`, each failing loudly. TensorRT
/// comes with CUDA behind it for the nodes TensorRT does not take.
pub fn execution_providers(
    device: Device,
    options: &GpuOptions,
    engine_cache: Option<&Path>,
) -> Vec<ExecutionProviderDispatch> {
    let cuda = || {
        let mut ep = CUDAExecutionProvider::default()
            .with_device_id(device.id)
            .with_conv_algorithm_search(match options.conv_search {
                ConvSearch::Exhaustive => CuDNNConvAlgorithmSearch::Exhaustive,
                ConvSearch::Heuristic => CuDNNConvAlgorithmSearch::Heuristic,
                ConvSearch::Default => CuDNNConvAlgorithmSearch::Default,
            })
            .with_conv_max_workspace(true)
            .with_prefer_nhwc(options.prefer_nhwc)
            .with_tf32(options.tf32);
        if let Some(mib) = options.memory_limit_mib {
            ep = ep.with_memory_limit(mib << 20);
        }
        ep.build().error_on_failure()
    };
    match device.provider {
        Provider::Cpu => Vec::new(),
        Provider::Cuda => vec![cuda()],
        Provider::TensorRt => {
            let mut trt = TensorRTExecutionProvider::default()
                .with_device_id(device.id)
                .with_fp16(options.trt_fp16);
            if let Some(dir) = engine_cache {
                trt = trt
                    .with_engine_cache(true)
                    .with_engine_cache_path(dir.display().to_string())
                    .with_timing_cache(true)
                    .with_timing_cache_path(dir.display().to_string());
            }
            vec![trt.build().error_on_failure(), cuda()]
        }
    }
}

/// What to say when a GPU provider cannot start.
pub fn gpu_failure(device: Device, library: &Path, reason: &str) -> String {
    format!(
        "--device {device}: ONNX Runtime at {} could not start the {} execution provider ({reason}). \
         The `onnxruntime` wheel is CPU-only: install onnxruntime-gpu 1.22 with its CUDA 12 and cuDNN 9 \
         libraries (`make venv-gpu`, then --ort-lib .venv-gpu/…/libonnxruntime.so.1.22.1 or ORT_DYLIB_PATH), \
         on a machine with an NVIDIA driver. easel does not fall back to the CPU; use --device cpu for that.",
        library.display(),
        match device.provider {
            Provider::TensorRt => "TensorRT",
            _ => "CUDA",
        }
    )
}

/// The batch size a batch of `n` runs at on a GPU: the next power of two,
/// capped at `max` (itself allowed when it is not a power of two).
pub fn padded_batch(n: usize, max: usize) -> usize {
    n.max(1).next_power_of_two().min(max.max(n))
}

/// Every size `padded_batch` can give up to `max`, for warm-up.
pub fn padded_sizes(max: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (1..=max.max(1)).map(|n| padded_batch(n, max)).collect();
    sizes.dedup();
    sizes
}

/// Preloads the CUDA and cuDNN libraries that the `onnxruntime-gpu` wheel's
/// `[cuda,cudnn]` extras put under `site-packages/nvidia/*/lib`, beside the
/// ONNX Runtime library, so that no LD_LIBRARY_PATH is needed. Returns how
/// many were loaded.
pub fn preload_cuda_libraries(onnxruntime_library: &Path) -> usize {
    // …/site-packages/onnxruntime/capi/libonnxruntime.so → …/site-packages/nvidia
    let Some(site) = onnxruntime_library.ancestors().nth(3) else {
        return 0;
    };
    // Dependencies first: the runtime, then BLAS, then cuDNN's parts.
    let order = [
        "cuda_runtime",
        "cuda_nvrtc",
        "cublas",
        "curand",
        "cufft",
        "cudnn",
        "nvjitlink",
    ];
    let mut loaded = 0;
    for package in order {
        let lib = site.join("nvidia").join(package).join("lib");
        let Ok(entries) = std::fs::read_dir(&lib) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".so"))
            .collect();
        // cuDNN's sub-libraries before libcudnn.so itself.
        files.sort_by_key(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name.starts_with("libcudnn.so"), name)
        });
        for file in files {
            if ort::util::preload_dylib(&file).is_ok() {
                loaded += 1;
            }
        }
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_refuses_others_with_the_choices() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::default());
        assert_eq!(
            "cuda".parse::<Device>().unwrap(),
            Device {
                provider: Provider::Cuda,
                id: 0
            }
        );
        assert_eq!(
            "cuda:3".parse::<Device>().unwrap(),
            Device {
                provider: Provider::Cuda,
                id: 3
            }
        );
        assert_eq!(
            "tensorrt:1".parse::<Device>().unwrap().provider,
            Provider::TensorRt
        );
        for bad in ["gpu:x", "cuda:-1", "metal", "cpu:1", ""] {
            let e = bad.parse::<Device>().unwrap_err().to_string();
            assert!(e.contains("--device"), "{bad}: {e}");
        }
        assert_eq!("cuda:2".parse::<Device>().unwrap().to_string(), "cuda:2");
    }

    #[test]
    fn a_bad_gpu_index_is_named_with_the_device() {
        assert_eq!(
            "cuda:x".parse::<Device>().unwrap_err().to_string(),
            "--device cuda:x: `x` is not a GPU index (0, 1, …)"
        );
    }

    #[test]
    fn gpu_batches_pad_to_powers_of_two_up_to_the_cap() {
        let padded: Vec<usize> = (1..=8).map(|n| padded_batch(n, 8)).collect();
        assert_eq!(padded, [1, 2, 4, 4, 8, 8, 8, 8]);
        assert_eq!(
            padded_batch(5, 6),
            6,
            "a cap that is not a power of two is a size"
        );
        assert_eq!(padded_sizes(8), [1, 2, 4, 8]);
        assert_eq!(padded_sizes(6), [1, 2, 4, 6]);
        assert_eq!(padded_sizes(1), [1]);
    }

    #[test]
    fn the_cpu_has_no_execution_provider_to_register_and_gpus_have_explicit_ones() {
        assert!(execution_providers(Device::default(), &GpuOptions::default(), None).is_empty());
        let cuda = Device {
            provider: Provider::Cuda,
            id: 1,
        };
        assert_eq!(
            execution_providers(cuda, &GpuOptions::default(), None).len(),
            1
        );
        let trt = Device {
            provider: Provider::TensorRt,
            id: 0,
        };
        assert_eq!(
            execution_providers(trt, &GpuOptions::default(), Some(Path::new("/tmp/trt"))).len(),
            2,
            "TensorRT with CUDA behind it"
        );
    }

    #[test]
    fn search_modes_parse() {
        assert_eq!(
            "heuristic".parse::<ConvSearch>().unwrap(),
            ConvSearch::Heuristic
        );
        assert!("fast"
            .parse::<ConvSearch>()
            .unwrap_err()
            .to_string()
            .contains("exhaustive"));
    }
}
