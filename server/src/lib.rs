//! easel: import, run and serve SPADE (GauGAN) semantic image synthesis models.

pub mod checkpoint;
pub mod classes;
pub mod dataset;
pub mod device;
pub mod gallery;
pub mod loadtest;
pub mod maps;
pub mod npy;
pub mod onnx;
pub mod package;
pub mod runtime;
pub mod serve;
pub mod spade;
pub mod synthesis;
