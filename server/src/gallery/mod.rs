//! Test runs over folders of label maps and their galleries, in the
//! reference's `results/<name>/test_<epoch>/` layout; shared by `easel test`
//! and the server's batch API.

pub mod pages;
pub mod pairing;
pub mod run;
