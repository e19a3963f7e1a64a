//! The `easel` binary: parses the command line and hands each command to its
//! module under `cli/`; an error is printed once, with its causes, and exits 1.

mod cli;

use clap::Parser;

use cli::{Cli, Command};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EASEL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Import(args) => cli::models::import(args),
        Command::Generate(args) => cli::models::generate(args),
        Command::ImportSegmenter(args) => cli::segment::import_segmenter(args),
        Command::AttachPhotoSegmenter(args) => cli::segment::attach_photo_segmenter(args),
        Command::ClassMap(args) => cli::segment::class_map(args),
        Command::Segment(args) => cli::segment::segment(args),
        Command::Bench(args) => cli::bench::bench(args),
        Command::Dataset(command) => cli::dataset::run(command),
        Command::Serve(args) => cli::serve::serve(args),
        Command::Openapi => cli::serve::openapi(),
        Command::Load(args) => cli::load::load(args),
        Command::Test(args) => cli::runs::test(args),
        Command::Health(args) => cli::serve::health(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
