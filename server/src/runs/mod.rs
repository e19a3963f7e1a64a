//! Test runs over folders of label maps and their galleries, in the
//! reference's `results/<name>/test_<epoch>/` layout; shared by `easel test`
//! and the server's batch API.

pub mod fid;
mod kept;
mod manifest;
pub mod pages;
mod run;
pub mod scores;
pub mod shard;

pub use manifest::{
    check_name, now, write_atomic, Agreement, Manifest, Progress, RunDir, RunError, RunScores,
    RunState, SampleRecord, INPUT_LABEL, MANIFEST_FILE, PAGE_SIZE, REAL, SYNTHESIZED,
};
pub use run::{Run, RunSpec};
