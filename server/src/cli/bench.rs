//! `easel bench`: times the generator of a package, or of a full-size
//! random-weight COCO-Stuff generator built on the spot, at several batch
//! sizes; one JSON line per batch size.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::RuntimeArgs;
use easel::import::spade::arch::{GeneratorNorm, GeneratorSpec, Layout, Modulation, Upsampling};
use easel::import::spade::export::ExportOptions;
use easel::inference::runtime::GeneratorInput;
use easel::random::normal_samples;

#[derive(Args)]
pub struct BenchArgs {
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
    /// The random-weight generator (without --model): spade, clade (per-class
    /// tables, same sizes otherwise), or oasis (OASIS's ADE20K generator:
    /// 151 classes, channels_G 64, z 64 per pixel, 3×3 SPADE kernels, 256×256).
    #[arg(long, value_enum, default_value_t = Family::Spade)]
    family: Family,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Family {
    Spade,
    Clade,
    Oasis,
}

/// The full-size COCO-Stuff generator of the SPADE paper (or its CLADE
/// twin), or OASIS's published ADE20K generator.
fn coco_full_spec(family: Family) -> Result<GeneratorSpec> {
    let clade = family == Family::Clade;
    if family == Family::Oasis {
        return Ok(GeneratorSpec {
            layout: Layout::Oasis,
            noise_dim: 64,
            label_nc: 151,
            dontcare: false,
            instance: false,
            ngf: 64,
            modulation: Modulation::Spade,
            positional_encoding: false,
            spade_hidden: 128,
            norm: "spectralspadesyncbatch3x3".parse::<GeneratorNorm>()?,
            upsampling: Upsampling::Normal,
            z_dim: None,
            latent: (8, 8),
        });
    }
    Ok(GeneratorSpec {
        layout: Layout::Spade,
        noise_dim: 0,
        label_nc: 182,
        dontcare: true,
        instance: true,
        ngf: 64,
        modulation: if clade {
            Modulation::Clade
        } else {
            Modulation::Spade
        },
        positional_encoding: false,
        spade_hidden: if clade { 0 } else { 128 },
        norm: "spectralspadesyncbatch3x3".parse::<GeneratorNorm>()?,
        upsampling: Upsampling::Normal,
        z_dim: None,
        latent: (8, 8),
    })
}

/// Writes the random-weight generator's package to `dir`.
fn build_random_package(dir: &std::path::Path, family: Family) -> Result<()> {
    let started = Instant::now();
    let spec = coco_full_spec(family)?;
    let weights = easel::import::spade::weights::Weights::new(
        easel::import::spade::synthetic::random_generator(&spec, 1),
        "random weights",
    );
    let model = easel::import::spade::export::generator(&spec, &weights, ExportOptions::default())
        .map_err(anyhow::Error::msg)?;
    easel::import::spade::write_random_package(dir, &spec, model)?;
    eprintln!(
        "built the full-size generator in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn bench(args: BenchArgs) -> Result<()> {
    let dir = match (&args.model, &args.keep) {
        (Some(model), _) => model.clone(),
        (None, keep) => {
            let dir = keep.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("easel-bench-{}", std::process::id()))
            });
            build_random_package(&dir, args.family)?;
            dir
        }
    };
    let mut session = args.runtime.open_session(&dir)?;
    let card = session.package.card.clone();
    let (h, w) = (card.native.height, card.native.width);
    let threads = easel::cores::threads(args.runtime.threads.threads);
    let execution = session.execution().clone();
    for &n in &args.batch {
        let labels: Vec<i64> = (0..n * h * w)
            .map(|i| ((i / 16 + i / (16 * w)) % card.classes.len()) as i64)
            .collect();
        let edges: Vec<i64> = (0..n * h * w)
            .map(|i| ((i % 16 == 0) || (i / w) % 16 == 0) as i64)
            .collect();
        let per_image = if card.z_per_pixel { h * w } else { 1 };
        let z: Vec<f32> = card
            .z_dim
            .map(|z| normal_samples(1, n * z * per_image))
            .unwrap_or_default();
        let position = vec![0f32; n * 2 * h * w];
        let input = GeneratorInput {
            batch: n,
            height: h,
            width: w,
            labels: &labels,
            edges: card.uses_instances.then_some(edges.as_slice()),
            position: card.uses_positional_encoding.then_some(position.as_slice()),
            z: card
                .z_dim
                .filter(|_| !card.z_per_pixel)
                .map(|_| z.as_slice()),
            noise: card.z_per_pixel.then_some(z.as_slice()),
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
            "{{\"impl\":\"easel-{}-{}\",\"model\":\"{}\",\"family\":\"{}\",\"batch\":{n},\"size\":\"{w}x{h}\",\"ms_per_image\":{:.1},\"ms_per_batch_median\":{median:.1},\"threads\":{threads}}}",
            execution.provider,
            execution.compute,
            card.name,
            serde_json::to_value(card.family)?.as_str().unwrap_or("?"),
            median / n as f64
        );
    }
    if args.model.is_none() && args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
