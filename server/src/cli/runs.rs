//! `easel test`: the reference test.py as a command. The run goes through the
//! same model queue and pipeline as the server's batch runs; this module only
//! opens the session, draws the progress bar and prints the summary.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Args;

use super::RuntimeArgs;
use easel::inference::queue::{ModelWorker, WorkerConfig};
use easel::package::maps::DEFAULT_MAX_PIXELS;
use easel::progress::ProgressBar;
use easel::runs::{Progress, Run, RunSpec};

/// The reference test.py's flags; each also takes the kebab-case spelling.
#[derive(Args)]
pub struct TestArgs {
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

pub fn test(args: TestArgs) -> Result<()> {
    let session = args.runtime.open_session(&args.model)?;
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
    // The queue batches up to --batch maps; the run keeps that many in it.
    let batch = args.batch.max(1);
    let config = WorkerConfig {
        max_batch: batch,
        max_queue: 2 * batch,
        pad_batches: false,
        shed_after: None,
    };
    let (worker, thread) = ModelWorker::spawn(session, config, Arc::new(|_, _, _| {}))?;
    let bar = ProgressBar::resuming(run.samples.len(), already, "images");
    let mut progress = |p: Progress| bar.set(p.done + p.failed);
    let result = run.execute(&worker, batch, &mut progress);
    bar.finish();
    drop(worker);
    let _ = thread.join();
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
