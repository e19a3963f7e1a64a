//! Dataset tools for the reference's custom dataset mode: `convert` (colour
//! annotations to class indices), `instances`, `split` and `check`, with the
//! file pairing they share with test runs.

pub mod check;
pub mod check_report;
pub mod colour_lookup;
pub mod convert;
pub mod files;
pub mod instances;
pub mod pairing;
pub mod split;
pub mod training_flags;
pub mod workers;
