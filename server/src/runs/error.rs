//! What stops a run, or refuses one: one enum for the runs layer, with
//! what to do about a full or read-only results folder.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{what} `{value}` is not allowed: use 1 to 64 letters, digits, `.`, `-` or `_`, starting with a letter or digit (no `/`, no `..`)")]
    BadName { what: &'static str, value: String },
    #[error(
        "run {name} was made with model {was}, not {now}; pick another --name or remove {dir}"
    )]
    OtherModel {
        name: String,
        was: String,
        now: String,
        dir: String,
    },
    #[error(
        "run {name} is made in {compute} on {provider} and this process computes {now}: one gallery never mixes them. \
         Run it as it was made, with {}, or pick another --name, or remove {dir}",
        how_to_run(compute, provider)
    )]
    OtherCompute {
        name: String,
        compute: String,
        provider: String,
        now: String,
        dir: String,
    },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("the manifest {path} is unreadable ({reason}); remove it to start the run again")]
    BadManifest { path: String, reason: String },
    #[error(transparent)]
    Pairing(#[from] crate::dataset::pairing::PairingError),
    #[error("{0}")]
    Inference(#[source] crate::inference::pipeline::SynthesisError),
    #[error("{stem}: the image cannot be encoded: {source}")]
    Encode {
        stem: String,
        #[source]
        source: image::ImageError,
    },
    #[error("scoring {stem}: {source}")]
    Scoring {
        stem: String,
        #[source]
        source: super::scores::ScoreError,
    },
    #[error("the features of {stem}: {source}")]
    Features {
        stem: String,
        #[source]
        source: super::inception::InceptionError,
    },
    #[error("FID and KID: {0}")]
    Fidelity(#[source] super::fid::FidError),
}

/// The flags that run a model in `compute` on `provider` (as a run records
/// them).
fn how_to_run(compute: &str, provider: &str) -> &'static str {
    match (compute, provider) {
        ("bf16", _) => "--compute bf16 (on a CPU with native bf16, AMX or AVX512-BF16)",
        (_, "openvino") => {
            "--compute auto on a CPU without native bf16 and with OpenVINO installed (`make venv`)"
        }
        _ => "--compute fp32",
    }
}

pub(super) fn io(path: &Path) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Io {
        path: path.display().to_string(),
        reason: io_reason(&e),
    }
}

/// What went wrong with a file, and for a full or read-only results folder
/// what to do: the run stopped there and resumes once it can write again.
pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::StorageFull => format!(
            "the results folder's disk is full ({e}): the run stopped here; free space and run the same command again to resume it"
        ),
        std::io::ErrorKind::ReadOnlyFilesystem => format!(
            "the results folder is read-only ({e}): the run stopped here; make it writable and run the same command again to resume it"
        ),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::how_to_run;

    #[test]
    fn a_run_in_other_arithmetic_says_the_flags_that_run_it_as_it_was_made() {
        assert!(how_to_run("bf16", "openvino").starts_with("--compute bf16"));
        assert!(how_to_run("fp32", "openvino").starts_with("--compute auto on a CPU without"));
        assert_eq!(how_to_run("fp32", "onnxruntime"), "--compute fp32");
    }
}
