//! What a SPADE-family generator and its style encoder are: the specs the
//! exporter builds graphs from, the normalisation names (`norm_G`, `norm_E`)
//! as the reference spells them, the importer's flags and the error of
//! reading them. `from_weights` and `oasis` read a spec from a checkpoint.

use std::fmt;
use std::str::FromStr;

use super::opt::OptError;
use super::weights::WeightsError;

#[derive(Debug, thiserror::Error)]
pub enum ArchError {
    #[error(transparent)]
    Opt(#[from] OptError),
    /// The weights are of a network this architecture is not.
    #[error("{0}")]
    Weights(String),
    /// A tensor the architecture needs is missing or of another shape.
    #[error(transparent)]
    Tensor(#[from] WeightsError),
    #[error(transparent)]
    Upsampling(#[from] UnknownUpsampling),
    #[error("{0}")]
    Contradiction(String),
    #[error("{0}")]
    Ambiguous(String),
    #[error("{0}")]
    Unsupported(String),

    #[error("norm_G `{0}` is not a generator normalisation the reference trains: expected [spectral]spade{{instance,batch,syncbatch}}<k>x<k>, for example spectralspadesyncbatch3x3 or spadeinstance5x5")]
    UnknownNorm(String),
    #[error("norm_E `{0}` is not an encoder normalisation the reference trains: expected [spectral]{{instance,batch,syncbatch,none}}, for example spectralinstance")]
    UnknownEncoderNorm(String),
}

pub use crate::package::card::{UnknownUpsampling, Upsampling};

/// The parameter-free normalisation inside SPADE (or after an encoder conv).
/// Batch and sync-batch are the same computation at inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamFreeNorm {
    Instance,
    Batch,
    SyncBatch,
}

impl ParamFreeNorm {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "instance" => Some(Self::Instance),
            "batch" => Some(Self::Batch),
            // The reference spells it sync_batch in norm_E and syncbatch in norm_G.
            "syncbatch" | "sync_batch" => Some(Self::SyncBatch),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Batch => "batch",
            Self::SyncBatch => "syncbatch",
        }
    }
    pub fn uses_running_stats(self) -> bool {
        self != Self::Instance
    }
}

/// `norm_G`, e.g. `spectralspadesyncbatch3x3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorNorm {
    pub spectral: bool,
    pub param_free: ParamFreeNorm,
    pub kernel: usize,
}

impl FromStr for GeneratorNorm {
    type Err = ArchError;
    fn from_str(s: &str) -> Result<Self, ArchError> {
        let unknown = || ArchError::UnknownNorm(s.to_string());
        let (spectral, rest) = match s.strip_prefix("spectral") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let rest = rest.strip_prefix("spade").ok_or_else(unknown)?;
        let split = rest
            .find(|c: char| c.is_ascii_digit())
            .ok_or_else(unknown)?;
        let param_free = ParamFreeNorm::parse(&rest[..split]).ok_or_else(unknown)?;
        let (k1, k2) = rest[split..].split_once('x').ok_or_else(unknown)?;
        let kernel: usize = k1.parse().map_err(|_| unknown())?;
        if k1 != k2 || kernel.is_multiple_of(2) {
            return Err(unknown());
        }
        Ok(Self {
            spectral,
            param_free,
            kernel,
        })
    }
}

impl fmt::Display for GeneratorNorm {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let spectral = if self.spectral { "spectral" } else { "" };
        let k = self.kernel;
        write!(f, "{spectral}spade{}{k}x{k}", self.param_free.name())
    }
}

/// `norm_E`, e.g. `spectralinstance`: optional spectral norm, then an optional norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderNorm {
    pub spectral: bool,
    pub norm: Option<ParamFreeNorm>,
}

impl FromStr for EncoderNorm {
    type Err = ArchError;
    fn from_str(s: &str) -> Result<Self, ArchError> {
        let (spectral, rest) = match s.strip_prefix("spectral") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let norm = match rest {
            "" | "none" => None,
            other => Some(
                ParamFreeNorm::parse(other)
                    .ok_or_else(|| ArchError::UnknownEncoderNorm(s.to_string()))?,
            ),
        };
        Ok(Self { spectral, norm })
    }
}

impl fmt::Display for EncoderNorm {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let spectral = if self.spectral { "spectral" } else { "" };
        write!(
            f,
            "{spectral}{}",
            self.norm.map_or("none", ParamFreeNorm::name)
        )
    }
}

/// What the importer's command line says, overriding opt.txt.
#[derive(Debug, Clone, Default)]
pub struct ArchFlags {
    pub label_nc: Option<usize>,
    pub contain_dontcare_label: Option<bool>,
    pub no_instance: Option<bool>,
    pub num_upsampling_layers: Option<Upsampling>,
    pub crop_size: Option<usize>,
    pub aspect_ratio: Option<f64>,
    /// Classes in the table given with `--classes`, a hint for label_nc.
    pub class_table_len: Option<usize>,
}

/// How a generator's normalisation layers modulate the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modulation {
    /// SPADE: γ and β from convolutions of the semantic map; n·(1 + γ) + β.
    Spade,
    /// CLADE (`--norm_mode clade`): γ and β looked up per class; n·γ + β,
    /// with instance models adding a 1×1 conv of the edge map as one more
    /// channel.
    Clade,
}

/// How a generator's blocks are laid out and named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// SPADE and CLADE: fc, head_0, G_middle_0/1, up_0…up_3 (up_4), with the
    /// normalisation's parameter-free part named `param_free_norm`.
    Spade,
    /// OASIS: fc, body.0…body.5, conv_img, `first_norm`; its semantic map is
    /// the noise channels followed by the one-hot map.
    Oasis,
}

/// A fully determined SPADE-family generator.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorSpec {
    pub layout: Layout,
    /// OASIS: noise channels concatenated before the one-hot map at the first
    /// layer and at every normalisation (0: none).
    pub noise_dim: usize,
    pub label_nc: usize,
    pub dontcare: bool,
    pub instance: bool,
    pub ngf: usize,
    pub modulation: Modulation,
    /// CLADE-ICPE: every layer also takes the intra-class positional encoding.
    pub positional_encoding: bool,
    /// SPADE's hidden width (0 for CLADE, which has no convolutions there).
    pub spade_hidden: usize,
    pub norm: GeneratorNorm,
    pub upsampling: Upsampling,
    /// Some(z_dim) when the generator starts from z through a linear layer.
    pub z_dim: Option<usize>,
    /// Latent map size (height, width) at the native image size.
    pub latent: (usize, usize),
}

impl GeneratorSpec {
    /// Label values the graph accepts: the classes plus the dontcare class.
    pub fn classes(&self) -> usize {
        self.label_nc + self.dontcare as usize
    }
    pub fn semantic_nc(&self) -> usize {
        self.classes() + self.instance as usize
    }
    /// Channels of the map the normalisation layers see: noise, then semantics.
    pub fn seg_nc(&self) -> usize {
        self.noise_dim + self.semantic_nc()
    }
    /// Native image (height, width).
    pub fn native(&self) -> (usize, usize) {
        let f = 1 << self.upsampling.steps();
        (self.latent.0 * f, self.latent.1 * f)
    }
    /// Height and width must be multiples of this (models without z only).
    pub fn size_multiple(&self) -> usize {
        1 << self.upsampling.steps()
    }
}

/// The style encoder that maps an RGB image to mu and logvar.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSpec {
    pub ndf: usize,
    pub layers: usize,
    pub norm: EncoderNorm,
    pub z_dim: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_reference_norm_variant() {
        for text in [
            "spectralspadesyncbatch3x3",
            "spadebatch5x5",
            "spectralspadeinstance3x3",
            "spadeinstance5x5",
        ] {
            let norm: GeneratorNorm = text.parse().unwrap();
            assert_eq!(norm.to_string(), text);
        }
    }

    #[test]
    fn rejects_unknown_norm_variants() {
        for text in [
            "spectralspadegroup3x3",
            "spadeinstance3x5",
            "instance",
            "spadebatch4x4",
            "spectralspadebatch",
        ] {
            let err = text.parse::<GeneratorNorm>().unwrap_err().to_string();
            assert!(err.contains(text) && err.contains("expected"), "{err}");
        }
    }
}
