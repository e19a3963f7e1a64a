//! Test runs over folders of label maps and their galleries, in the
//! reference's `results/<name>/test_<epoch>/` layout; shared by `easel test`
//! and the server's batch API.

mod dir;
mod error;
pub mod fid;
pub mod inception;
mod kept;
mod make;
mod manifest;
pub mod pages;
mod run;
pub mod scores;
pub mod shard;

pub use dir::{check_name, write_atomic, RunDir, INPUT_LABEL, REAL, SYNTHESIZED};
pub use error::RunError;
pub use manifest::{
    now, Agreement, Manifest, Progress, RunScores, RunState, SampleRecord, MANIFEST_FILE, PAGE_SIZE,
};
pub use run::{Run, RunSpec};
