//! The HTTP API as a client sees it, without a socket: the full router over
//! a fake generator (microseconds per image) and over the tiny real models,
//! through `tower::ServiceExt::oneshot`.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod bad_inputs;
mod batches;
mod cache;
mod models;
mod pages;
mod queue;
mod segment;
mod styles;
mod synthesis;
