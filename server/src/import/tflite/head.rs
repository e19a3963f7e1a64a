//! The head of a translated segmenter: how its scores become a package's
//! classes (the mapped classes' argmax, or a linear head trained on easel's
//! side), inside the graph.

use super::to_onnx::{damaged, resize_mode, unsupported, Translator};
use super::{Operator, Options, TfliteError};
use crate::import::onnx::{int, ints};

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
}

impl Translator<'_> {
    /// Scores → package classes: the head's scores, their argmax, and the
    /// package class of each.
    pub(super) fn head(&mut self, scores: &str, classes: usize, head: &Head) -> String {
        let narrowed = self.linear(scores, classes, head);
        self.argmax(&narrowed, head)
    }

    /// The head's scores: the kept classes' own, or its linear function.
    pub(super) fn linear(&mut self, scores: &str, classes: usize, head: &Head) -> String {
        match head {
            Head::Mapped { kept, .. } if kept.iter().copied().eq(0..classes) => scores.to_string(),
            Head::Mapped { kept, .. } => {
                let kept: Vec<i64> = kept.iter().map(|&k| k as i64).collect();
                let kept = self.b.vec_i64("kept", &kept);
                self.b.node(
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
                let w = self
                    .b
                    .const_f32("head_weight", &[package.len(), classes, 1, 1], weight);
                let b = self.b.const_f32("head_bias", &[package.len()], bias);
                self.b.node(
                    "Conv",
                    &[scores, &w, &b],
                    vec![ints("kernel_shape", &[1, 1])],
                    "head",
                )
            }
        }
    }

    pub(super) fn argmax(&mut self, scores: &str, head: &Head) -> String {
        let best = self.b.node(
            "ArgMax",
            &[scores],
            vec![int("axis", 1), int("keepdims", 0)],
            "best",
        );
        let package = head.package();
        if package.iter().copied().eq(0..package.len() as i64) {
            return best;
        }
        let table = self.b.vec_i64("package_class", package);
        self.b.node(
            "Gather",
            &[&table, &best],
            vec![int("axis", 0)],
            "package_class",
        )
    }

    /// A RESIZE_BILINEAR operator applied to `x` of `channels` channels.
    pub(super) fn resize_op(
        &mut self,
        op: &Operator,
        x: &str,
        channels: usize,
    ) -> Result<String, TfliteError> {
        let Options::ResizeBilinear {
            align_corners,
            half_pixel_centers,
        } = op.options
        else {
            return Err(damaged("a resize without its options"));
        };
        let size = self.ints(op.inputs[1])?;
        let &[h, w] = size.as_slice() else {
            return Err(damaged(&format!("the final resize is to {size:?}")));
        };
        Ok(self.resize(
            x,
            [1, channels as i64, h, w],
            resize_mode(align_corners, half_pixel_centers),
        ))
    }
}

impl Head {
    pub(super) fn package(&self) -> &[i64] {
        match self {
            Head::Mapped { package, .. } | Head::Linear { package, .. } => package,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.package().len()
    }

    /// Fits a segmenter of `classes` classes.
    pub(super) fn check(&self, classes: usize) -> Result<(), TfliteError> {
        match self {
            Head::Mapped { kept, package } => {
                if let Some(&bad) = kept.iter().find(|&&k| k >= classes) {
                    return Err(unsupported(format!(
                        "scores {classes} classes, not class {bad} of the mapping"
                    )));
                }
                if kept.len() != package.len() || kept.is_empty() {
                    return Err(unsupported("a mapping with no classes".into()));
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
                    return Err(unsupported(format!(
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
