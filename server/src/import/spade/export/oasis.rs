//! OASIS's generator: six SPADE ResNet blocks (body.0…body.5) whose
//! normalisation layers, like the first layer, see the noise channels
//! followed by the one-hot map: one convolution of both for small class
//! tables (onehot.rs); otherwise the one-hot part stays k² lookups and the
//! noise part is a real convolution of the noise input resized to the level.

use super::{ExportError, GeneratorGraph, Layer, SLOPE};
use crate::import::onnx::int;
use crate::import::spade::oasis::{BLOCKS, CHANNELS};

impl GeneratorGraph<'_> {
    pub(super) fn build_oasis(&mut self) -> Result<String, ExportError> {
        let ch = self.spec.ngf;
        let fc = self
            .w
            .layer("fc", &[CHANNELS[0] * ch, self.spec.seg_nc(), 3, 3], true)?;
        let mut x = self.seg_conv(0, &fc, false);
        for i in 0..BLOCKS {
            let (fin, fout) = (CHANNELS[i] * ch, CHANNELS[i + 1] * ch);
            x = self.resnet_block(&x, i, &format!("body.{i}"), fin, fout)?;
            if i + 1 < BLOCKS {
                x = self.upsample(&x);
            }
        }
        let conv_img = self
            .w
            .layer("conv_img", &[3, CHANNELS[BLOCKS] * ch, 3, 3], true)?;
        let a = self.g.leaky_relu(&x, SLOPE);
        let y = self.conv(&a, &conv_img, 1, "conv_img");
        Ok(self.g.node("Tanh", &[&y], vec![], "tanh"))
    }

    /// A convolution of the map the normalisation layers see at `level`: the
    /// noise channels, then the one-hot map. With a small class table, one
    /// real convolution of both, concatenated; otherwise the noise part is a
    /// convolution of the noise and the one-hot part lookups, summed.
    pub(super) fn seg_conv(&mut self, level: usize, layer: &Layer, relu: bool) -> String {
        let Some(noise) = self.noise.clone() else {
            return self.onehot_conv(level, layer, relu);
        };
        if self.onehot_by_conv() {
            let cond = self.level_cond(level, &noise);
            return self.conv_then(&cond, layer, relu);
        }
        let (noise_layer, onehot_layer) = split_input_channels(layer, self.spec.noise_dim);
        let onehot = self.onehot_conv(level, &onehot_layer, false);
        let resized = self.level_map(level, &noise);
        let from_noise = self.conv(&resized, &noise_layer, 1, "noise_conv");
        let sum = self.g.binary("Add", &onehot, &from_noise);
        if relu {
            self.g.node("Relu", &[&sum], vec![], "relu")
        } else {
            sum
        }
    }

    /// The noise and the one-hot map at `level`, concatenated as the layers'
    /// input channels are: (N, noise_dim + classes, H, W).
    fn level_cond(&mut self, level: usize, noise: &str) -> String {
        if let Some(v) = self.conds.get(&level) {
            return v.clone();
        }
        let resized = self.level_map(level, noise);
        let onehot = self.onehot_map(level);
        let v = self
            .g
            .node("Concat", &[&resized, &onehot], vec![int("axis", 1)], "cond");
        self.conds.insert(level, v.clone());
        v
    }
}

/// A conv layer split at input channel `at`: (the first `at` channels without
/// bias, the rest with the bias).
fn split_input_channels(layer: &Layer, at: usize) -> (Layer, Layer) {
    let (out, cin, kh, kw) = (
        layer.shape[0],
        layer.shape[1],
        layer.shape[2],
        layer.shape[3],
    );
    let taps = kh * kw;
    let mut first = Vec::with_capacity(out * at * taps);
    let mut rest = Vec::with_capacity(out * (cin - at) * taps);
    for o in 0..out {
        let row = &layer.weight[o * cin * taps..(o + 1) * cin * taps];
        first.extend_from_slice(&row[..at * taps]);
        rest.extend_from_slice(&row[at * taps..]);
    }
    (
        Layer {
            shape: vec![out, at, kh, kw],
            weight: first,
            bias: None,
        },
        Layer {
            shape: vec![out, cin - at, kh, kw],
            weight: rest,
            bias: layer.bias.clone(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_input_channels_keeps_each_weight_and_the_bias_once() {
        // 2 outputs, 3 inputs, 1×2 kernel: weight value = 100·o + 10·c + tap.
        let weight = (0..2)
            .flat_map(|o| {
                (0..3).flat_map(move |c| (0..2).map(move |t| (100 * o + 10 * c + t) as f32))
            })
            .collect();
        let layer = Layer {
            shape: vec![2, 3, 1, 2],
            weight,
            bias: Some(vec![7.0, 8.0]),
        };
        let (noise, onehot) = split_input_channels(&layer, 1);
        assert_eq!(noise.shape, [2, 1, 1, 2]);
        assert_eq!(noise.weight, [0.0, 1.0, 100.0, 101.0]);
        assert_eq!(noise.bias, None);
        assert_eq!(onehot.shape, [2, 2, 1, 2]);
        assert_eq!(
            onehot.weight,
            [10.0, 11.0, 20.0, 21.0, 110.0, 111.0, 120.0, 121.0]
        );
        assert_eq!(onehot.bias, Some(vec![7.0, 8.0]));
    }
}
