//! A state dict as the exporter consumes it: tensors taken by name, with
//! spectral norm and batch norm folded into plain weights on the way out, and a
//! record of what was used so that unexpected leftovers are reported.

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::import::checkpoint::{StateDict, Tensor};

pub struct Weights {
    tensors: StateDict,
    /// Power iterations applied to the stored spectral-norm vectors: 0 for
    /// trained networks, 1 when the vectors were never updated by training.
    power_iterations: usize,
    used: RefCell<BTreeSet<String>>,
    /// Where these weights came from, for error messages.
    origin: String,
}

/// A convolution or linear layer with spectral norm already divided out.
pub struct Layer {
    /// (out, in, kh, kw) for convolutions, (out, in) for linear layers.
    pub shape: Vec<usize>,
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
}

/// Eval-mode batch norm as y = x·scale + shift, per channel.
pub struct BatchNorm {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

const BN_EPS: f64 = 1e-5;

/// Why a tensor the architecture needs cannot be taken from the weights;
/// each message starts with where the weights came from.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error(
        "{origin} has no tensor `{key}`: it is not the SPADE network this importer expected \
         (is it a discriminator or another model's checkpoint?)"
    )]
    Missing { origin: String, key: String },
    #[error("{origin}: `{key}` has shape {found:?} but this architecture needs {needed:?}")]
    Shape {
        origin: String,
        key: String,
        found: Vec<usize>,
        needed: Vec<usize>,
    },
    #[error("{origin}: `{prefix}` has an empty weight")]
    EmptyWeight { origin: String, prefix: String },
    #[error(
        "{origin}: spectral norm of `{prefix}` is {sigma} (from weight_u, weight_v); the checkpoint is damaged"
    )]
    SpectralNorm {
        origin: String,
        prefix: String,
        sigma: f64,
    },
    #[error("{origin}: `{prefix}` has a bias where the architecture has none")]
    UnexpectedBias { origin: String, prefix: String },
}

/// A spectral-normed weight as a matrix (out, in·kh·kw) with its vectors.
#[derive(Clone)]
struct Spectral<'a> {
    w: &'a [f32],
    rows: usize,
    cols: usize,
    u: Vec<f64>,
    v: Vec<f64>,
}

impl<'a> Spectral<'a> {
    fn new(w: &'a Tensor, u: &Tensor, v: &Tensor) -> Option<Self> {
        let rows = *w.shape.first()?;
        let cols = w.data.len() / rows.max(1);
        (rows > 0 && u.data.len() == rows && v.data.len() == cols).then(|| Self {
            w: &w.data,
            rows,
            cols,
            u: u.data.iter().map(|&x| x as f64).collect(),
            v: v.data.iter().map(|&x| x as f64).collect(),
        })
    }

    fn row(&self, r: usize) -> &[f32] {
        &self.w[r * self.cols..(r + 1) * self.cols]
    }

    fn times_v(&self, v: &[f64]) -> Vec<f64> {
        (0..self.rows)
            .map(|r| self.row(r).iter().zip(v).map(|(&a, b)| a as f64 * b).sum())
            .collect()
    }

    /// σ = u · (W v), as PyTorch's spectral norm computes it.
    fn sigma(&self) -> f64 {
        self.u
            .iter()
            .zip(self.times_v(&self.v))
            .map(|(a, b)| a * b)
            .sum()
    }

    /// One power iteration: v = normalize(Wᵀu), u = normalize(W v).
    fn iterate(mut self) -> Self {
        let mut wt_u = vec![0f64; self.cols];
        for r in 0..self.rows {
            let ur = self.u[r];
            self.row(r)
                .iter()
                .zip(wt_u.iter_mut())
                .for_each(|(&a, acc)| *acc += a as f64 * ur);
        }
        self.v = normalized(wt_u);
        self.u = normalized(self.times_v(&self.v));
        self
    }
}

/// x / max(|x|, 1e-12), as torch.nn.functional.normalize.
fn normalized(x: Vec<f64>) -> Vec<f64> {
    let norm = x.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
    x.into_iter().map(|a| a / norm).collect()
}

impl Weights {
    pub fn new(tensors: StateDict, origin: &str) -> Self {
        let untrained = tensors
            .keys()
            .filter_map(|k| k.strip_suffix(".weight_orig"))
            .any(|prefix| {
                let (Some(w), Some(u), Some(v)) = (
                    tensors.get(&format!("{prefix}.weight_orig")),
                    tensors.get(&format!("{prefix}.weight_u")),
                    tensors.get(&format!("{prefix}.weight_v")),
                ) else {
                    return false;
                };
                let Some(stored) = Spectral::new(w, u, v) else {
                    return false;
                };
                let iterated = stored.clone().iterate();
                // Trained vectors are a fixed point of the power iteration, so both
                // estimates of the largest singular value agree. Never-iterated
                // (random) vectors give a σ near zero or negative; a single
                // training step already brings it above 0.8 of the iterated
                // one, and such a checkpoint must be used as stored.
                stored.sigma() < 0.5 * iterated.sigma()
            });
        Self {
            tensors,
            power_iterations: untrained as usize,
            used: RefCell::default(),
            origin: origin.to_string(),
        }
    }

    /// 1 when the stored spectral-norm vectors were never trained (σ from them
    /// is far below the largest singular value, even negative): then the
    /// reference's output is that of one power iteration, as PyTorch runs in
    /// training mode. Trained vectors are used as stored, as in eval mode.
    pub fn power_iterations(&self) -> usize {
        self.power_iterations
    }

    pub fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// The tensor names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.tensors
            .range(prefix.to_string()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(prefix))
    }

    pub fn shape(&self, key: &str) -> Result<&[usize], WeightsError> {
        self.tensors
            .get(key)
            .map(|t| t.shape.as_slice())
            .ok_or_else(|| self.missing(key))
    }

    /// The shape of a layer's weight, whether spectral-normed or not.
    pub fn conv_shape(&self, prefix: &str) -> Result<&[usize], WeightsError> {
        let orig = format!("{prefix}.weight_orig");
        if self.has(&orig) {
            self.shape(&orig)
        } else {
            self.shape(&format!("{prefix}.weight"))
        }
    }

    fn missing(&self, key: &str) -> WeightsError {
        WeightsError::Missing {
            origin: self.origin.clone(),
            key: key.to_string(),
        }
    }

    pub fn take(&self, key: &str) -> Result<&Tensor, WeightsError> {
        let t = self.tensors.get(key).ok_or_else(|| self.missing(key))?;
        self.used.borrow_mut().insert(key.to_string());
        Ok(t)
    }

    fn take_shaped(&self, key: &str, shape: &[usize]) -> Result<&[f32], WeightsError> {
        let t = self.take(key)?;
        if t.shape != shape {
            return Err(WeightsError::Shape {
                origin: self.origin.clone(),
                key: key.to_string(),
                found: t.shape.clone(),
                needed: shape.to_vec(),
            });
        }
        Ok(&t.data)
    }

    /// A conv or linear layer `prefix` with the given weight shape; spectral
    /// norm is folded with the stored u and v: W = W_orig / (u · W_mat v).
    pub fn layer(&self, prefix: &str, shape: &[usize], bias: bool) -> Result<Layer, WeightsError> {
        let orig_key = format!("{prefix}.weight_orig");
        let weight = if self.has(&orig_key) {
            let cols = shape[1..].iter().product();
            let (u_key, v_key) = (format!("{prefix}.weight_u"), format!("{prefix}.weight_v"));
            self.take_shaped(&orig_key, shape)?;
            self.take_shaped(&u_key, &shape[..1])?;
            self.take_shaped(&v_key, &[cols])?;
            let mut spectral = Spectral::new(
                &self.tensors[&orig_key],
                &self.tensors[&u_key],
                &self.tensors[&v_key],
            )
            .ok_or_else(|| WeightsError::EmptyWeight {
                origin: self.origin.clone(),
                prefix: prefix.to_string(),
            })?;
            for _ in 0..self.power_iterations {
                spectral = spectral.iterate();
            }
            let sigma = spectral.sigma();
            if !sigma.is_finite() || sigma.abs() < 1e-12 {
                return Err(WeightsError::SpectralNorm {
                    origin: self.origin.clone(),
                    prefix: prefix.to_string(),
                    sigma,
                });
            }
            spectral
                .w
                .iter()
                .map(|&x| (x as f64 / sigma) as f32)
                .collect()
        } else {
            self.take_shaped(&format!("{prefix}.weight"), shape)?
                .to_vec()
        };
        let bias = if bias {
            Some(
                self.take_shaped(&format!("{prefix}.bias"), &shape[..1])?
                    .to_vec(),
            )
        } else {
            if self.has(&format!("{prefix}.bias")) {
                return Err(WeightsError::UnexpectedBias {
                    origin: self.origin.clone(),
                    prefix: prefix.to_string(),
                });
            }
            None
        };
        Ok(Layer {
            shape: shape.to_vec(),
            weight,
            bias,
        })
    }

    /// Running statistics of batch norm `prefix`: (mean, 1/sqrt(var + eps)).
    pub fn running_stats(
        &self,
        prefix: &str,
        channels: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), WeightsError> {
        let mean = self
            .take_shaped(&format!("{prefix}.running_mean"), &[channels])?
            .to_vec();
        let var = self.take_shaped(&format!("{prefix}.running_var"), &[channels])?;
        // Older checkpoints lack the counter; it plays no part at inference.
        if self.has(&format!("{prefix}.num_batches_tracked")) {
            self.take(&format!("{prefix}.num_batches_tracked"))?;
        }
        let inv_std = var
            .iter()
            .map(|&v| (1.0 / (v as f64 + BN_EPS).sqrt()) as f32)
            .collect();
        Ok((mean, inv_std))
    }

    /// Eval-mode affine batch norm `prefix` as y = x·scale + shift.
    pub fn batch_norm(&self, prefix: &str, channels: usize) -> Result<BatchNorm, WeightsError> {
        let (mean, inv_std) = self.running_stats(prefix, channels)?;
        let gamma = self.take_shaped(&format!("{prefix}.weight"), &[channels])?;
        let beta = self.take_shaped(&format!("{prefix}.bias"), &[channels])?;
        let scale: Vec<f32> = (0..channels).map(|c| gamma[c] * inv_std[c]).collect();
        let shift = (0..channels)
            .map(|c| beta[c] - mean[c] * scale[c])
            .collect();
        Ok(BatchNorm { scale, shift })
    }

    /// Keys nobody took: a sign that the checkpoint is a different architecture.
    pub fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.tensors
            .keys()
            .filter(|k| !used.contains(*k) && !k.ends_with("num_batches_tracked"))
            .cloned()
            .collect()
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights() -> Weights {
        let tensors = [(
            "fc.weight".to_string(),
            Tensor {
                shape: vec![2, 3],
                data: vec![0.5; 6],
            },
        )];
        Weights::new(tensors.into_iter().collect(), "net_G.pth")
    }

    #[test]
    fn a_missing_tensor_names_the_file_and_the_tensor() {
        let e = weights().take("head_0.conv_0.weight").unwrap_err();
        assert_eq!(
            e.to_string(),
            "net_G.pth has no tensor `head_0.conv_0.weight`: it is not the SPADE network this \
             importer expected (is it a discriminator or another model's checkpoint?)"
        );
    }

    #[test]
    fn a_tensor_of_another_shape_gives_both_shapes() {
        let e = weights().layer("fc", &[3, 2], false).err().unwrap();
        assert_eq!(
            e.to_string(),
            "net_G.pth: `fc.weight` has shape [2, 3] but this architecture needs [3, 2]"
        );
    }
}
