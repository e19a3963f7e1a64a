//! Which arithmetic the models run in (`--compute`), and on which runtime:
//! fp32 on ONNX Runtime, on every machine; bf16 on OpenVINO, where the CPU
//! has native bf16 (AMX or AVX512-BF16). `auto` decides by a rule from the
//! CPU's flags, never by timing (the answer cache and sharded runs key on
//! the choice): bf16 on OpenVINO where the CPU has native bf16 (it halved
//! the default model's time on an AVX512-BF16 CPU without AMX), else fp32
//! on OpenVINO, faster than ONNX Runtime's on such CPUs; ONNX Runtime's
//! fp32 where OpenVINO is not installed.

use super::device::Device;
use super::openvino::{OpenVinoError, OpenVinoLibrary};
use super::request::Compute;

/// The /proc/cpuinfo flags that mean native bf16 arithmetic, best first.
pub const BF16_FLAGS: [&str; 2] = ["amx_bf16", "avx512_bf16"];

/// Which of `BF16_FLAGS` the `flags` lines of a /proc/cpuinfo text carry.
pub fn native_bf16(cpuinfo: &str) -> Vec<&'static str> {
    let flags: std::collections::HashSet<&str> = cpuinfo
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "flags").then_some(value)
        })
        .flat_map(str::split_whitespace)
        .collect();
    BF16_FLAGS
        .into_iter()
        .filter(|f| flags.contains(f))
        .collect()
}

/// This machine's native bf16 flags (none where /proc/cpuinfo is missing).
pub fn this_cpu_bf16() -> Vec<&'static str> {
    native_bf16(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default())
}

/// The runtime that runs a model's generator and encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    OnnxRuntime,
    OpenVino,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::OnnxRuntime => "onnxruntime",
            Provider::OpenVino => "openvino",
        })
    }
}

/// How a model runs: what /api/v1/models and the start-up log say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Execution {
    /// cpu, cuda:N or tensorrt:N.
    pub device: String,
    /// fp32 or bf16.
    #[schema(value_type = String)]
    pub compute: Compute,
    /// onnxruntime or openvino.
    pub provider: Provider,
    /// Why this arithmetic: what was asked and what the machine has.
    pub reason: String,
}

impl Execution {
    /// Whether each new input shape costs a compile (OpenVINO compiles the
    /// graph for static shapes), so that the shapes in use are warmed up.
    pub fn compiles_per_shape(&self) -> bool {
        self.provider == Provider::OpenVino
    }
}

impl Default for Execution {
    fn default() -> Self {
        Self {
            device: "cpu".into(),
            compute: Compute::Fp32,
            provider: Provider::OnnxRuntime,
            reason: "fp32 by default".into(),
        }
    }
}

/// Why `--compute` cannot be had on this machine, and what to ask instead.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ComputeError {
    #[error(
        "--compute bf16 is the CPU's path (OpenVINO); on {0} easel runs fp32: use --compute fp32 or auto, or --device cpu"
    )]
    Bf16OnGpu(Device),
    #[error(
        "--compute bf16 needs a CPU with native bf16 arithmetic, and this one has none (looked for {looked} in /proc/cpuinfo's flags): use --compute fp32 or auto"
    )]
    NoNativeBf16 { looked: String },
    #[error("--compute bf16 runs on OpenVINO: {0}")]
    OpenVino(#[source] OpenVinoError),
}

/// The arithmetic `asked` resolves to on `device`, given the CPU's native
/// bf16 flags; `openvino` loads OpenVINO, called only when a CPU path other
/// than `--compute fp32` is open. An error says why bf16 cannot be had and
/// what to do instead.
pub fn choose(
    asked: Compute,
    device: Device,
    cpu_bf16: &[&str],
    openvino: impl FnOnce() -> Result<OpenVinoLibrary, OpenVinoError>,
) -> Result<Execution, ComputeError> {
    let fp32 = |reason: String| Execution {
        device: device.to_string(),
        compute: Compute::Fp32,
        provider: Provider::OnnxRuntime,
        reason,
    };
    if device.is_gpu() {
        return match asked {
            Compute::Bf16 => Err(ComputeError::Bf16OnGpu(device)),
            _ => Ok(fp32(format!("{device} runs fp32"))),
        };
    }
    if asked == Compute::Fp32 {
        return Ok(fp32("--compute fp32".into()));
    }
    let looked = BF16_FLAGS.join(" or ");
    let flag = cpu_bf16.first();
    if asked == Compute::Bf16 && flag.is_none() {
        return Err(ComputeError::NoNativeBf16 { looked });
    }
    // OpenVINO runs bf16 where the CPU has it, and fp32 elsewhere: there it
    // beats ONNX Runtime's, 188 against 236-278 ms for the default model and
    // 2.1 against 2.8 s for the full-size generator on a 2-core AVX2 EPYC
    // (measured when the issue "Live on every CPU" was filed).
    let (compute, on_openvino, without) = match flag {
        Some(flag) => (
            Compute::Bf16,
            format!(
                "{} on a CPU with {flag}",
                if asked == Compute::Bf16 { "--compute bf16" } else { "auto: bf16" }
            ),
            format!("auto: this CPU has {flag}, but OpenVINO is not installed (`make venv-openvino` gives bf16)"),
        ),
        None => (
            Compute::Fp32,
            format!("auto: fp32, faster than ONNX Runtime's on a CPU without native bf16 (no {looked})"),
            format!("auto: this CPU has no native bf16 ({looked}); OpenVINO is not installed (`make venv-openvino` gives its faster fp32)"),
        ),
    };
    match (openvino(), asked) {
        (Ok(library), _) => Ok(Execution {
            device: device.to_string(),
            compute,
            provider: Provider::OpenVino,
            reason: format!("{on_openvino} (OpenVINO {})", library.version),
        }),
        (Err(e), Compute::Bf16) => Err(ComputeError::OpenVino(e)),
        (Err(_), _) => Ok(fp32(without)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMD: &str = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n\nprocessor\t: 1\nflags\t\t: fpu avx2 avx512f avx512_bf16\n";
    const XEON: &str = "flags\t\t: avx512f amx_bf16 amx_tile avx512_bf16\n";
    const OLD: &str = "flags\t\t: fpu sse2 avx2 fma\nbugs\t\t: avx512_bf16_is_not_a_flag_here\n";

    fn library() -> OpenVinoLibrary {
        OpenVinoLibrary {
            path: "/x/libopenvino_c.so.2641".into(),
            version: "2026.4.1".into(),
        }
    }

    fn missing() -> OpenVinoError {
        OpenVinoError::NotFound {
            looked: "nowhere".into(),
        }
    }

    #[test]
    fn native_bf16_reads_the_flags_lines_only() {
        assert_eq!(native_bf16(AMD), vec!["avx512_bf16"]);
        assert_eq!(native_bf16(XEON), vec!["amx_bf16", "avx512_bf16"]);
        assert!(native_bf16(OLD).is_empty());
        assert!(native_bf16("").is_empty());
    }

    #[test]
    fn auto_takes_bf16_on_a_bf16_cpu_with_openvino() {
        let lib = library();
        let e = choose(Compute::Auto, Device::default(), &["avx512_bf16"], || {
            Ok(lib.clone())
        })
        .unwrap();
        assert_eq!((e.compute, e.provider), (Compute::Bf16, Provider::OpenVino));
        assert!(
            e.reason.contains("avx512_bf16") && e.reason.contains("2026.4.1"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn auto_takes_openvino_fp32_on_a_cpu_without_native_bf16() {
        let lib = library();
        for cpuinfo in [OLD, "flags\t\t: fpu avx2 avx512f avx512_vnni\n", ""] {
            let e = choose(
                Compute::Auto,
                Device::default(),
                &native_bf16(cpuinfo),
                || Ok(lib.clone()),
            )
            .unwrap();
            assert_eq!(
                (e.compute, e.provider),
                (Compute::Fp32, Provider::OpenVino),
                "{cpuinfo}"
            );
            assert!(
                e.reason.contains("no amx_bf16 or avx512_bf16") && e.reason.contains("2026.4.1"),
                "{}",
                e.reason
            );
        }
    }

    #[test]
    fn auto_runs_onnx_runtime_fp32_without_openvino() {
        for flags in [&[][..], &["amx_bf16"][..]] {
            let e = choose(Compute::Auto, Device::default(), flags, || Err(missing())).unwrap();
            assert_eq!(
                (e.compute, e.provider),
                (Compute::Fp32, Provider::OnnxRuntime),
                "{flags:?}"
            );
            assert!(e.reason.contains("make venv-openvino"), "{}", e.reason);
        }
    }

    #[test]
    fn bf16_is_refused_on_a_cpu_without_it_naming_the_flags_looked_for() {
        let lib = library();
        let e = choose(Compute::Bf16, Device::default(), &[], || Ok(lib.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("amx_bf16 or avx512_bf16") && e.contains("--compute fp32"),
            "{e}"
        );
    }

    #[test]
    fn bf16_without_openvino_says_how_to_install_it() {
        let e = choose(Compute::Bf16, Device::default(), &["avx512_bf16"], || {
            Err(missing())
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("make venv-openvino"), "{e}");
    }

    #[test]
    fn fp32_is_onnx_runtime_everywhere_and_gpus_refuse_bf16() {
        let lib = library();
        let e = choose(Compute::Fp32, Device::default(), &["amx_bf16"], || {
            Ok(lib.clone())
        })
        .unwrap();
        assert_eq!(
            (e.compute, e.provider),
            (Compute::Fp32, Provider::OnnxRuntime)
        );
        let e = choose(Compute::Fp32, Device::default(), &[], || Ok(lib.clone())).unwrap();
        assert_eq!(
            e.provider,
            Provider::OnnxRuntime,
            "asked fp32: the reference runtime"
        );
        let gpu: Device = "cuda".parse().unwrap();
        assert_eq!(
            choose(Compute::Auto, gpu, &["amx_bf16"], || Ok(lib.clone()))
                .unwrap()
                .compute,
            Compute::Fp32
        );
        assert!(
            choose(Compute::Bf16, gpu, &["amx_bf16"], || Ok(lib.clone()))
                .unwrap_err()
                .to_string()
                .contains("--device cpu")
        );
    }
}
