//! easel: import, run and serve SPADE (GauGAN) semantic image synthesis models.
//!
//! The modules are layers, lowest first: `atomic`, `cores`, `random`,
//! `progress` | `package` | `import`, `inference`, `dataset`, `landscapes` |
//! `runs` | `http` | `client`. Each imports only lower layers
//! (docs/architecture.md; checked by `tests/layers.rs`). The command line
//! (`src/cli/`) sits on top, in the binary.

pub mod atomic;
pub mod client;
pub mod cores;
pub mod dataset;
pub mod http;
pub mod import;
pub mod inference;
pub mod landscapes;
pub mod package;
pub mod progress;
pub mod random;
pub mod runs;
