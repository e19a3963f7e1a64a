//! Running models: the ONNX Runtime sessions (`runtime`, `device`), bf16 on
//! OpenVINO where the CPU has it (`compute`, `openvino`), the
//! per-model queue and batcher (`queue`), the steps from a synthesis request
//! to images (`pipeline`) and the one caller that takes them in order
//! (`synthesizer`), and photos into maps through a package's segmenters
//! (`runtime::segmenters`, `segment`). Nothing here knows about HTTP.

pub mod compute;
pub mod deadline;
pub mod device;
pub mod error;
pub mod generator;
pub mod graph_io;
pub mod letterbox;
pub mod loading;
pub mod openvino;
pub mod pipeline;
pub mod queue;
pub mod request;
pub mod runtime;
pub mod segment;
pub mod style;
pub mod synthesizer;
