//! `easel load`: the closed-loop load generator (`easel::client`) at several
//! concurrencies, interleaved over rounds, so that a machine whose speed
//! drifts (shared cloud cores do) affects every concurrency alike.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use easel::client::{client, report, run, LoadConfig, Run};

#[derive(Args)]
pub struct LoadArgs {
    /// The server, host:port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Model to ask for.
    #[arg(long)]
    model: String,
    /// Label map PNG every request sends.
    #[arg(long)]
    label: PathBuf,
    /// Concurrent clients; one run per value.
    #[arg(long, num_args = 1.., default_values_t = [1usize, 8, 32])]
    concurrency: Vec<usize>,
    /// Seconds per run.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Percent of requests sent invalid on purpose (each must get a 4xx), for soak tests.
    #[arg(long, default_value_t = 0)]
    invalid_percent: u32,
    /// Rounds: each runs every concurrency once, in turn, and the report
    /// adds the rounds up (interleaving evens out a machine's drift).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Each request asks for a seed not asked before and lets the server's
    /// answer cache keep the answer (by default every request bypasses the
    /// cache): a soak of the cache's memory bound.
    #[arg(long)]
    distinct: bool,
}

pub fn load(args: LoadArgs) -> Result<()> {
    let body = std::fs::read(&args.label)
        .with_context(|| format!("cannot read the label map {}", args.label.display()))?;
    let body = Arc::new(body);
    let client = client()?;
    let seeds = args.distinct.then(|| Arc::new(AtomicU64::new(1)));
    let runtime = tokio::runtime::Runtime::new()?;
    let mut runs: Vec<Vec<Run>> = args.concurrency.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.rounds.max(1) {
        for (i, &concurrency) in args.concurrency.iter().enumerate() {
            let config = LoadConfig {
                addr: args.addr.clone(),
                model: args.model.clone(),
                body: body.clone(),
                concurrency,
                duration: Duration::from_secs_f64(args.seconds),
                invalid_percent: args.invalid_percent,
                distinct: seeds.clone(),
            };
            let run = runtime.block_on(run(&client, &config));
            let one = report(concurrency, std::slice::from_ref(&run));
            eprintln!(
                "round {round}: {concurrency} clients, {:.3} images/s",
                one.images_per_second
            );
            runs[i].push(run);
        }
    }
    for (&concurrency, runs) in args.concurrency.iter().zip(&runs) {
        println!("{}", serde_json::to_string(&report(concurrency, runs))?);
    }
    Ok(())
}
