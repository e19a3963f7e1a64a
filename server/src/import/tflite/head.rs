//! The head of a translated segmenter (`crate::import::scores_head`)
//! appended to the network the translation writes, inside the graph.

use super::to_onnx::{damaged, resize_mode, Translator};
use super::{Operator, Options, TfliteError};
use crate::import::scores_head::{self, Head};

impl Translator<'_> {
    /// Scores → package classes: the head's scores, their argmax, and the
    /// package class of each.
    pub(super) fn head(&mut self, scores: &str, classes: usize, head: &Head) -> String {
        let narrowed = self.linear(scores, classes, head);
        self.argmax(&narrowed, head)
    }

    /// The head's scores: the kept classes' own, or its linear function.
    pub(super) fn linear(&mut self, scores: &str, classes: usize, head: &Head) -> String {
        scores_head::narrow(&mut self.b, scores, classes, head)
    }

    pub(super) fn argmax(&mut self, scores: &str, head: &Head) -> String {
        scores_head::pick(&mut self.b, scores, head)
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
