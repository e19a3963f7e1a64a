//! The `easel` binary as users and operators run it: import and generate,
//! the dataset tools, photos into maps, and the container images that ship
//! it.

#[path = "../support/mod.rs"]
mod support;

mod dataset;
mod deploy;
mod import_generate;
mod photo_segmenter;
mod segment;
