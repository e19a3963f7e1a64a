//! `easel serve` (the flags, checked into the server's typed config), `easel
//! openapi` (the API document) and `easel health` (the containers' health
//! check, an HTTP GET with a deadline).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use super::RuntimeArgs;
use easel::http::ServeConfig;
use easel::inference::queue::WorkerConfig;

#[derive(Args)]
pub struct ServeArgs {
    /// Folder of model packages (each a folder with model.json), or one package.
    #[arg(long, env = "EASEL_MODELS", default_value = "models")]
    models: PathBuf,
    /// The model the painting page opens with. Default: `landscapes` when loaded, else the first by name.
    #[arg(long = "default", env = "EASEL_DEFAULT_MODEL")]
    default_model: Option<String>,
    /// Address to listen on. Binds to loopback unless told otherwise.
    #[arg(long, env = "EASEL_BIND", default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
    #[command(flatten)]
    runtime: RuntimeArgs,
    /// Run batches only at sizes 1, 2, 4, … up to --max-batch, each warmed up at start:
    /// auto (on for GPUs), on or off.
    #[arg(long, env = "EASEL_PAD_BATCHES", value_enum, default_value_t = PadBatches::Auto)]
    pad_batches: PadBatches,
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
    /// Put /results (galleries, images, comparisons) behind --api-token too: a
    /// browser enters the token once on a form, which sets a cookie.
    #[arg(long, env = "EASEL_PROTECT_RESULTS")]
    protect_results: bool,
    /// Origins that may call the API from other sites (CORS), comma-separated; unset: CORS off.
    #[arg(long, env = "EASEL_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Memory for the answer cache, in MiB: an identical synthesis request is answered from it,
    /// and identical requests in flight share one inference; 0 turns both off.
    #[arg(long, env = "EASEL_CACHE_MB", default_value_t = 64)]
    cache_mb: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PadBatches {
    Auto,
    On,
    Off,
}

#[derive(Args)]
pub struct HealthArgs {
    /// An http:// URL (no TLS).
    #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
    url: String,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
}

impl ServeArgs {
    /// The server's config; refuses limits that would refuse every request.
    fn config(self) -> Result<ServeConfig> {
        for (flag, value) in [
            ("--max-batch", self.max_batch),
            ("--max-queue", self.max_queue),
            ("--max-body-bytes", self.max_body_bytes),
            ("--max-batch-bytes", self.max_batch_bytes),
        ] {
            if value == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        let execution = self.runtime.execution()?;
        if self.protect_results && self.api_token.as_deref().is_none_or(str::is_empty) {
            bail!("--protect-results puts /results behind the API token: give one with --api-token TOKEN");
        }
        let pad_batches = match self.pad_batches {
            PadBatches::Auto => self.runtime.device.is_gpu(),
            PadBatches::On => true,
            PadBatches::Off => false,
        };
        let default_model = self.default_model.or_else(|| {
            self.models
                .join("landscapes")
                .join("model.json")
                .is_file()
                .then(|| "landscapes".to_string())
        });
        let request_timeout = Duration::from_millis(self.request_timeout_ms);
        Ok(ServeConfig {
            models_dir: self.models,
            default_model,
            bind: self.bind,
            worker: WorkerConfig {
                max_batch: self.max_batch,
                max_queue: self.max_queue,
                pad_batches,
                shed_after: Some(request_timeout),
            },
            max_body_bytes: self.max_body_bytes,
            max_batch_bytes: self.max_batch_bytes,
            results_dir: self.results_dir,
            cors_origins: self.cors_origins,
            protect_results: self.protect_results,
            api_token: self.api_token.filter(|t| !t.is_empty()),
            batch_root: self.batch_root,
            cache_bytes: self.cache_mb.saturating_mul(1 << 20),
            max_pixels: self.max_pixels,
            request_timeout,
            session: self.runtime.session_options(execution),
            ort_lib: self.runtime.ort_lib,
        })
    }
}

pub fn serve(args: ServeArgs) -> Result<()> {
    let config = args.config()?;
    tokio::runtime::Runtime::new()?.block_on(easel::http::run(config))
}

pub fn openapi() -> Result<()> {
    println!("{}", easel::http::openapi_json());
    Ok(())
}

pub fn health(args: HealthArgs) -> Result<()> {
    let url = &args.url;
    if !url.starts_with("http://") {
        bail!("--url {url}: only plain http:// URLs are checked (no TLS); give the server's http://host:port/readyz");
    }
    let timeout = Duration::from_millis(args.timeout_ms);
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()?;
    let response = match client.get(url).send() {
        Ok(response) => response,
        Err(e) => bail!("{url}: not answering ({})", root_cause(&e)),
    };
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("{url}: status {}", status.as_u16());
    }
    Ok(())
}

/// The innermost cause (connection refused, timed out…), which says more
/// than the client's own wrapping.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
