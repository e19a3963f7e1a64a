//! How a photo segmenter's class scores become a package's classes: the
//! mapped classes' argmax, or a linear head trained on easel's side, built
//! into ONNX. The TFLite translation appends it to the network it writes;
//! a segmenter brought as ONNX gets it as a graph of its own
//! (`head_graph`), run on the scores the user's graph answers.

use super::onnx::proto::{Dim, ElemType, Model};
use super::onnx::{int, ints, string, GraphBuilder};
use crate::package::card::Layout;
use crate::package::graph::{CLASSES_OUTPUT, SCORES_INPUT};

/// A head that does not fit a segmenter's scores: what does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeadMismatch(pub String);

/// How the segmenter's scores become a package's classes.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    /// The argmax over the `kept` classes' own scores (a pixel whose best
    /// class has no counterpart takes the best one that has), `kept[i]`
    /// answering `package[i]`.
    Mapped { kept: Vec<usize>, package: Vec<i64> },
    /// A head trained on easel's side: scores for each package class as a
    /// linear function of all the segmenter's (`weight`, one row of the
    /// segmenter's classes per entry of `package`, and `bias`), then the
    /// argmax, row i answering `package[i]`.
    Linear {
        weight: Vec<f32>,
        bias: Vec<f32>,
        package: Vec<i64>,
    },
}

impl Head {
    /// Every class answers its own index.
    pub fn identity(classes: usize) -> Self {
        Head::Mapped {
            kept: (0..classes).collect(),
            package: (0..classes as i64).collect(),
        }
    }

    /// The package class each of the head's scores answers.
    pub fn package(&self) -> &[i64] {
        match self {
            Head::Mapped { package, .. } | Head::Linear { package, .. } => package,
        }
    }

    /// How many scores the head leaves.
    pub fn len(&self) -> usize {
        self.package().len()
    }

    pub fn is_empty(&self) -> bool {
        self.package().is_empty()
    }

    /// Fits a segmenter of `classes` classes; else what does not fit.
    pub fn check(&self, classes: usize) -> Result<(), HeadMismatch> {
        match self {
            Head::Mapped { kept, package } => {
                if let Some(&bad) = kept.iter().find(|&&k| k >= classes) {
                    return Err(HeadMismatch(format!(
                        "scores {classes} classes, not class {bad} of the mapping"
                    )));
                }
                if kept.len() != package.len() || kept.is_empty() {
                    return Err(HeadMismatch("a mapping with no classes".into()));
                }
            }
            Head::Linear {
                weight,
                bias,
                package,
            } => {
                if package.is_empty()
                    || weight.len() != package.len() * classes
                    || bias.len() != package.len()
                {
                    return Err(HeadMismatch(format!(
                        "scores {classes} classes, but the trained head has {} weights and {} biases for {} classes",
                        weight.len(),
                        bias.len(),
                        package.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The head's scores from (1, C, h, w) `scores`: the kept classes' own, or
/// its linear function.
pub fn narrow(b: &mut GraphBuilder, scores: &str, classes: usize, head: &Head) -> String {
    match head {
        Head::Mapped { kept, .. } if kept.iter().copied().eq(0..classes) => scores.to_string(),
        Head::Mapped { kept, .. } => {
            let kept: Vec<i64> = kept.iter().map(|&k| k as i64).collect();
            let kept = b.vec_i64("kept", &kept);
            b.node(
                "Gather",
                &[scores, &kept],
                vec![int("axis", 1)],
                "kept_scores",
            )
        }
        Head::Linear {
            weight,
            bias,
            package,
        } => {
            let w = b.const_f32("head_weight", &[package.len(), classes, 1, 1], weight);
            let bias = b.const_f32("head_bias", &[package.len()], bias);
            b.node(
                "Conv",
                &[scores, &w, &bias],
                vec![ints("kernel_shape", &[1, 1])],
                "head",
            )
        }
    }
}

/// The package class of each pixel: the best of the head's scores.
pub fn pick(b: &mut GraphBuilder, scores: &str, head: &Head) -> String {
    let best = b.node(
        "ArgMax",
        &[scores],
        vec![int("axis", 1), int("keepdims", 0)],
        "best",
    );
    let package = head.package();
    if package.iter().copied().eq(0..package.len() as i64) {
        return best;
    }
    let table = b.vec_i64("package_class", package);
    b.node(
        "Gather",
        &[&table, &best],
        vec![int("axis", 0)],
        "package_class",
    )
}

/// Bilinear resize of `x` to `sizes`, coordinates as `mode` says
/// (`half_pixel`, `align_corners`, `asymmetric`).
pub fn resize(b: &mut GraphBuilder, x: &str, sizes: [i64; 4], mode: &str) -> String {
    let sizes = b.vec_i64("sizes", &sizes);
    b.node(
        "Resize",
        &[x, "", "", &sizes],
        vec![
            string("mode", "linear"),
            string("coordinate_transformation_mode", mode),
        ],
        "resize",
    )
}

/// A graph of its own: `scores` of `classes` classes at any resolution, in
/// `layout` → `classes` (1, height, width), the package class of each
/// pixel. The head runs at the scores' resolution, then its scores are
/// resized (bilinear, half-pixel centres) to the network's input size.
pub fn head_graph(head: &Head, classes: usize, layout: Layout, size: (usize, usize)) -> Model {
    let (width, height) = size;
    let mut b = GraphBuilder::new("photo_segmenter_head");
    let free = |name: &str| Dim::Named(name.into());
    let dims = match layout {
        Layout::Nchw => vec![
            Dim::Fixed(1),
            Dim::Fixed(classes as i64),
            free("h"),
            free("w"),
        ],
        Layout::Nhwc => vec![
            Dim::Fixed(1),
            free("h"),
            free("w"),
            Dim::Fixed(classes as i64),
        ],
    };
    let mut scores = b.input(SCORES_INPUT, ElemType::Float, dims);
    if layout == Layout::Nhwc {
        scores = b.node(
            "Transpose",
            &[&scores],
            vec![ints("perm", &[0, 3, 1, 2])],
            "nchw",
        );
    }
    let narrowed = narrow(&mut b, &scores, classes, head);
    let sizes = [1, head.len() as i64, height as i64, width as i64];
    let resized = resize(&mut b, &narrowed, sizes, "half_pixel");
    let map = pick(&mut b, &resized, head);
    b.output(
        &map,
        CLASSES_OUTPUT,
        ElemType::Int64,
        vec![
            Dim::Fixed(1),
            Dim::Fixed(height as i64),
            Dim::Fixed(width as i64),
        ],
    );
    let doc = format!("easel's head over a photo segmenter's {classes} class scores");
    b.finish(&doc, vec![])
}
