//! The importer: reads reference checkpoints (`checkpoint`), builds the
//! generator and encoder graphs (`spade`) and writes them with `onnx` into a
//! model package. Nothing here runs a model.

pub mod checkpoint;
pub mod onnx;
pub mod spade;
