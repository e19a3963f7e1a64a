//! The landscape renderer: procedural scenes (label map + photo-like image
//! pairs) in the class numbering of the built-in `landscapes` table, the
//! training data of the default model (`easel dataset synth`); and photos
//! for maps drawn elsewhere (`mapfirst`, `easel dataset render-maps`).

mod color;
mod compose;
pub mod from_maps;
pub mod mapfirst;
mod noise;
mod paint;
mod scene;
pub mod synth;

pub use scene::{Kind, TimeOfDay};

/// Classes of the built-in `landscapes` table (server/data/classes/landscapes-12.tsv).
pub const SKY: u8 = 0;
pub const CLOUDS: u8 = 1;
pub const MOUNTAIN: u8 = 2;
pub const SNOW: u8 = 3;
pub const ROCK: u8 = 4;
pub const HILL: u8 = 5;
pub const GRASS: u8 = 6;
pub const TREE: u8 = 7;
pub const BUSH: u8 = 8;
pub const WATER: u8 = 9;
pub const SAND: u8 = 10;
pub const DIRT: u8 = 11;
pub const CLASS_COUNT: usize = 12;
