//! `easel test`: the reference test.py as a command. The run goes through the
//! same model queue and pipeline as the server's batch runs; this module only
//! opens the session, draws the progress bar and prints the summary.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Args;

use super::RuntimeArgs;
use easel::inference::queue::{ModelWorker, WorkerConfig};
use easel::inference::runtime::{SegmenterSession, SessionOptions};
use easel::inference::segment::SegmenterWorker;
use easel::package::maps::DEFAULT_MAX_PIXELS;
use easel::package::{ModelCard, ModelPackage};
use easel::progress::ProgressBar;
use easel::runs::inception::Inception;
use easel::runs::scores::Judge;
use easel::runs::shard::Shard;
use easel::runs::{Manifest, Progress, Run, RunDir, RunScores, RunSpec};

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
    #[arg(
        long = "label_dir",
        visible_alias = "label-dir",
        required_unless_present = "pages_only"
    )]
    label_dir: Option<PathBuf>,
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
    /// Make only part I of N of the maps (I from 0, as Kubernetes'
    /// JOB_COMPLETION_INDEX counts): N processes, on N machines if need be,
    /// fill one run folder on a shared volume; the gallery merges them.
    #[arg(long, value_name = "I/N", default_value = "0/1", value_parser = clap::value_parser!(Shard))]
    shard: Shard,
    /// Write run.json and the gallery pages again from what is on disk (every
    /// shard's record), and make nothing.
    #[arg(long = "pages_only", visible_alias = "pages-only")]
    pages_only: bool,
    /// Score the run: each synthesized image (and real photo) read back by
    /// a segmenter against its map: pixel accuracy, mIoU, per-class IoU, in
    /// run.json and the gallery. The model's own segmenter unless --segmenter.
    #[arg(long)]
    evaluate: bool,
    /// A package whose segmenter scores the run (implies --evaluate); its
    /// classes are matched to the model's by name.
    #[arg(long, value_name = "PACKAGE")]
    segmenter: Option<PathBuf>,
    /// FID and KID of the synthesized images against the real photos
    /// (--image_dir), from an Inception-v3 pool-feature graph you export
    /// (README, "Scores"); its input convention in FILE.json beside it,
    /// else pytorch-fid's (299×299, values 0 to 1, bilinear resize).
    #[arg(long, value_name = "FILE.onnx")]
    inception: Option<PathBuf>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

pub fn test(args: TestArgs) -> Result<()> {
    if args.pages_only {
        return pages_only(&args);
    }
    let session = args.runtime.open_session(&args.model)?;
    let card = session.package.card.clone();
    let epoch = args
        .which_epoch
        .clone()
        .unwrap_or_else(|| card.source.epoch.clone());
    let label_dir = args
        .label_dir
        .clone()
        .expect("clap requires --label_dir without --pages_only");
    let execution = session.execution().clone();
    let spec = RunSpec {
        results: &args.results_dir,
        name: &args.name,
        epoch: &epoch,
        label_dir: &label_dir,
        image_dir: args.image_dir.as_deref(),
        instance_dir: args.instance_dir.as_deref(),
        how_many: args.how_many,
        max_pixels: DEFAULT_MAX_PIXELS,
        shard: args.shard,
        execution: &execution,
    };
    // Everything that can refuse the run does so before anything is written.
    // The judge and the feature graph run on ONNX Runtime in fp32 whatever
    // --compute says; these options give them the threads and device.
    let options = args.runtime.session_options(args.runtime.execution()?);
    let external = args
        .segmenter
        .as_deref()
        .map(|dir| open_segmenter(dir, &options))
        .transpose()?;
    let evaluate = args.evaluate || external.is_some();
    if evaluate && external.is_none() && session.package.segmenter_path().is_none() {
        bail!(
            "model {} has no segmenter to score the run with: pass --segmenter PACKAGE (a package \
             with a segmenter.onnx, e.g. models/landscapes), or attach one to the model with \
             `easel import-segmenter SEGMENTER.pth --package {}`",
            card.name,
            args.model.display()
        );
    }
    let inception = match &args.inception {
        None => None,
        Some(_) if args.image_dir.is_none() => bail!(
            "--inception scores the synthesized images against the real photos: give them with --image_dir"
        ),
        Some(path) => Some(Inception::load(path, &options)?),
    };
    // The queue batches up to --batch maps; the run keeps that many in it.
    let batch = args.batch.max(1);
    let config = WorkerConfig {
        max_batch: batch,
        max_queue: 2 * batch,
        pad_batches: false,
        shed_after: None,
    };
    let (worker, thread) = ModelWorker::spawn(session, config, Arc::new(|_, _, _| {}))?;
    let judge = match (evaluate, external) {
        (false, _) => None,
        (true, Some((segmenter, segmenter_card))) => {
            let (judged_by, _) = SegmenterWorker::spawn(segmenter, &segmenter_card.name, 1)?;
            Some(Judge::new(judged_by, &segmenter_card, &card)?)
        }
        (true, None) => {
            let own = worker
                .segmenter()
                .cloned()
                .expect("checked above: the model has a segmenter");
            Some(Judge::new(own, &card, &card)?)
        }
    };
    let mut run = Run::open(&spec, &card)?;
    if let Some(judge) = judge {
        run.evaluate_with(judge);
    }
    if let Some(inception) = inception {
        run.features_with(inception)?;
    }
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
    if run.shard() != Shard::WHOLE {
        eprintln!(
            "shard {}: {} of the run's maps",
            run.shard(),
            run.samples.len()
        );
    }
    let bar = ProgressBar::resuming(run.samples.len(), already, "images");
    let mut progress = |p: Progress| bar.set(p.done + p.failed);
    // The run waits for its images on this runtime, from this thread.
    let runtime = tokio::runtime::Runtime::new()?;
    let result = run.execute(&worker, runtime.handle(), batch, &mut progress);
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
    // The whole run as every shard's record tells it (this shard's alone
    // when the run is not sharded).
    let whole = run.dir.read_manifest()?;
    if run.shard() != Shard::WHOLE {
        if let Some(w) = &whole {
            let p = w.progress();
            println!(
                "shard {} done; the whole run: {} of {} made",
                run.shard(),
                p.done,
                p.total
            );
        }
    }
    if let Some(w) = &whole {
        describe_figures(w);
    }
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

/// `--pages_only`: the run's pages and run.json from its records.
fn pages_only(args: &TestArgs) -> Result<()> {
    let card = ModelPackage::open(&args.model)?.card;
    let epoch = args
        .which_epoch
        .clone()
        .unwrap_or_else(|| card.source.epoch.clone());
    let dir = RunDir::new(&args.results_dir, &args.name, &epoch)?;
    let mut merged = Run::rebuild(&dir, &card)?;
    merged.fidelity = Run::finish_figures(&dir, &card)?;
    let p = merged.progress();
    println!(
        "{} of {} images made{}; gallery: {}",
        p.done,
        p.total,
        if p.failed > 0 {
            format!(", {} failed", p.failed)
        } else {
            String::new()
        },
        dir.root.join("index.html").display()
    );
    describe_figures(&merged);
    Ok(())
}

/// The segmenter of the package in `dir`, with its card.
fn open_segmenter(
    dir: &std::path::Path,
    options: &SessionOptions,
) -> Result<(SegmenterSession, ModelCard)> {
    let package = ModelPackage::open(dir)
        .map_err(|e| anyhow::anyhow!("--segmenter {}: {e}", dir.display()))?;
    match SegmenterSession::load(&package, options)? {
        Some(session) => Ok((session, package.card)),
        None => bail!(
            "--segmenter {}: package {} has no segmenter; give a package with a segmenter.onnx \
             (e.g. models/landscapes), or attach one with `easel import-segmenter SEGMENTER.pth --package {}`",
            dir.display(),
            package.card.name,
            dir.display()
        ),
    }
}

/// A run's scores and FID/KID, for the terminal.
fn describe_figures(manifest: &Manifest) {
    if let Some(scores) = &manifest.scores {
        println!("{}", describe_scores(scores));
    }
    if let Some(f) = &manifest.fidelity {
        println!(
            "FID {:.4}, KID {:.6} ± {:.6} ({} synthesized against {} real images, {}-dimensional features of {})",
            f.fid, f.kid, f.kid_std, f.synthesized_images, f.real_images, f.dim, f.inception
        );
    }
}

/// One line of a run's scores, for the terminal.
fn describe_scores(scores: &RunScores) -> String {
    let mut line = format!(
        "scores (segmenter of {}): synthesized pixel accuracy {:.4}, mIoU {:.4} over {} images",
        scores.segmenter, scores.generated.pixel_accuracy, scores.generated.mean_iou, scores.images
    );
    if let Some(judge) = &scores.judge {
        line += &format!(" (judge {judge})");
    }
    if let Some(real) = &scores.real {
        line += &format!(
            "; real photos {:.4}, mIoU {:.4} over {}",
            real.pixel_accuracy, real.mean_iou, scores.real_images
        );
    }
    line
}
