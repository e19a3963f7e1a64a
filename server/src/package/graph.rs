//! The contract between a package's graphs and whoever runs them: the names
//! of their inputs and outputs. The importer writes graphs with these names
//! and the runtime feeds them; neither knows the other.

/// Generator input: class indices, (N, H, W) int64.
pub const LABEL_INPUT: &str = "label";
/// Generator input: 0/1 instance edges, (N, H, W) int64, for models that use them.
pub const EDGES_INPUT: &str = "instance_edges";
/// Generator input: the style vector, (N, z_dim) float32, for models that take one.
pub const Z_INPUT: &str = "z";
/// Generator input: CLADE-ICPE's intra-class positional encoding, (N, 2, H,
/// W) float32 (row and column offsets), for models whose card says so.
pub const POSITION_INPUT: &str = "positional_encoding";
/// Generator input: OASIS's noise, (N, z_dim, H, W) float32, for models
/// whose card says `z_per_pixel`: z for each pixel (broadcast, or redrawn in
/// regions).
pub const NOISE_INPUT: &str = "noise";
/// Generator output: RGB in [-1, 1], (N, 3, H, W) float32.
pub const IMAGE_OUTPUT: &str = "image";
/// Encoder input: an RGB style image in [-1, 1], (N, 3, H, W) float32.
pub const STYLE_INPUT: &str = "style";
/// Encoder outputs: the style distribution's mean and log-variance, (N, z_dim).
pub const MU_OUTPUT: &str = "mu";
pub const LOGVAR_OUTPUT: &str = "logvar";
/// Segmenter input: an RGB photo in [-1, 1], (N, 3, H, W) float32, any size.
pub const PHOTO_INPUT: &str = "photo";
/// Segmenter output: the package's class index of every pixel, (N, H, W) int64.
pub const CLASSES_OUTPUT: &str = "classes";
/// Photo segmenter head input (`photo_segmenter.onnx.head_file`): the
/// scores of a segmenter brought as ONNX, as its card's `onnx` says, (1, C,
/// h, w) or (1, h, w, C) float32; its output is `classes` at the
/// segmenter's input size.
pub const SCORES_INPUT: &str = "scores";
