//! The importer: reads reference checkpoints (`checkpoint`), builds the
//! generator and encoder graphs (`spade`) and writes them with `onnx` into a
//! model package; attaches the trainer's segmenter to a package
//! (`segmenter`); reads TensorFlow Lite segmenters (`tflite`) and attaches
//! them or ONNX ones as photo segmenters (`photo_segmenter`, `scores_head`). Nothing
//! here runs a model.

pub mod checkpoint;
pub mod onnx;
pub mod photo_segmenter;
pub mod scores_head;
pub mod segmenter;
pub mod spade;
pub mod tflite;
