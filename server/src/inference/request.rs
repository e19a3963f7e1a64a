//! What a caller asks of a model, as one type: the `SynthesisRequest` the
//! HTTP handlers, batch runs and `easel generate` all build. Requests that
//! are equal give the same image, so it is also a response cache's key.

use bytes::Bytes;

use crate::package::maps::LabelEncoding;

/// How to choose the style of models that take one (a z input).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum StyleSpec {
    /// Seed 0 for models with z; nothing for the others.
    #[default]
    Default,
    /// z drawn from N(0, 1) with this seed.
    Seed(u64),
    /// z = mu of this photo (PNG, JPEG, WebP…) through the style encoder;
    /// with `sample`, z = mu + σ·ε with ε from that seed, as the reference samples.
    Image { image: Bytes, sample: Option<u64> },
    /// A style the package ships, by name; with `sample`, drawn around it.
    Preset { name: String, sample: Option<u64> },
    /// An explicit z (for example from `easel generate --z FILE.npy`).
    Vector(ZVector),
    /// An explicit z for every pixel of the label map as sent, for models
    /// that take z per pixel (OASIS's 3D noise).
    Map(ZMap),
}

/// z for every pixel: (channels, height, width), C order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZMap {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub values: ZVector,
}

/// What a caller gave to choose the style (the API's fields, `easel
/// generate`'s flags), before it is checked.
#[derive(Debug, Clone, Default)]
pub struct StyleParts {
    /// A style image's bytes.
    pub image: Option<Bytes>,
    pub seed: Option<u64>,
    /// An explicit z (`StyleSpec::parse_z`).
    pub z: Option<StyleSpec>,
    pub preset: Option<String>,
}

/// Style parts that cannot go together; each edge names them as its
/// callers give them (fields, flags).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StyleConflict {
    #[error("a style preset names the style: give it without a style image or z")]
    PresetAndOther,
    #[error("z gives the style vector itself: give it without a style image or seed")]
    ZAndOther,
}

impl StyleSpec {
    /// The style `parts` ask for: a preset (with a seed, drawn around it),
    /// z, a style image (with a seed, sampled around it), a seed, or the
    /// model's default.
    pub fn from_parts(parts: StyleParts) -> Result<Self, StyleConflict> {
        let StyleParts {
            image,
            seed,
            z,
            preset,
        } = parts;
        Ok(match (image, seed, z, preset) {
            (Some(_), _, _, Some(_)) | (_, _, Some(_), Some(_)) => {
                return Err(StyleConflict::PresetAndOther)
            }
            (Some(_), _, Some(_), None) | (None, Some(_), Some(_), None) => {
                return Err(StyleConflict::ZAndOther)
            }
            (None, sample, None, Some(name)) => StyleSpec::Preset { name, sample },
            (None, None, Some(z), None) => z,
            (Some(image), sample, None, None) => StyleSpec::Image { image, sample },
            (None, Some(seed), None, None) => StyleSpec::Seed(seed),
            (None, None, None, None) => StyleSpec::Default,
        })
    }

    /// An explicit z from a .npy file of float32, either one vector, shape
    /// (z_dim) or (1, z_dim), or one per pixel, shape (z_dim, H, W) or
    /// (1, z_dim, H, W); or one vector as a JSON array of numbers.
    pub fn parse_z(bytes: &[u8]) -> Result<Self, ZError> {
        if bytes.starts_with(b"\x93NUMPY") {
            let array = crate::package::npy::parse(bytes)?;
            if let [channels, height, width] | [1, channels, height, width] = array.shape[..] {
                return Ok(Self::Map(ZMap {
                    channels,
                    height,
                    width,
                    values: ZVector(array.data),
                }));
            }
        }
        ZVector::parse(bytes).map(Self::Vector)
    }
}

/// A z vector that can be compared and hashed (by its bits).
#[derive(Debug, Clone)]
pub struct ZVector(pub Vec<f32>);

impl ZVector {
    /// One vector from a .npy file of float32, shape (z_dim) or (1, z_dim),
    /// or from a JSON array of numbers.
    pub fn parse(bytes: &[u8]) -> Result<Self, ZError> {
        if bytes.starts_with(b"\x93NUMPY") {
            let array = crate::package::npy::parse(bytes)?;
            return match array.shape[..] {
                [_] | [1, _] => Ok(Self(array.data)),
                _ => Err(ZError::Shape(array.shape)),
            };
        }
        let values: Vec<f32> = serde_json::from_slice(bytes).map_err(ZError::NotAnArray)?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(ZError::NotFinite);
        }
        Ok(Self(values))
    }
}

/// Why a z file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ZError {
    #[error(transparent)]
    Npy(#[from] crate::package::npy::FormatError),
    #[error("it holds an array of shape {0:?}; z is one vector, (z_dim) or (1, z_dim), or for models that take z per pixel one per pixel, (z_dim, H, W) or (1, z_dim, H, W)")]
    Shape(Vec<usize>),
    #[error("it is neither a .npy file nor a JSON array of numbers ({0})")]
    NotAnArray(#[source] serde_json::Error),
    #[error("it holds a value that is not a finite number")]
    NotFinite,
}

impl PartialEq for ZVector {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}
impl Eq for ZVector {}
impl std::hash::Hash for ZVector {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The length first, as slices hash: the answer cache digests whole
        // requests, and no two requests may feed it the same bytes.
        self.0.len().hash(state);
        for v in &self.0 {
            v.to_bits().hash(state);
        }
    }
}

/// Per-pixel noise for models that take z per pixel: regions (a mask PNG of
/// the label map's size, nonzero inside) that take their own z, later ones
/// over earlier ones. A pixel's z depends only on the last region that
/// covers it, so it does not change when the map is resized or batched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NoiseSpec {
    pub regions: Vec<NoiseRegion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoiseRegion {
    pub mask: Bytes,
    pub z: RegionZ,
}

/// The z of a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegionZ {
    /// Drawn from N(0, 1) with this seed (as a style seed draws z).
    Seed(u64),
    /// Given.
    Vector(ZVector),
}

/// The arithmetic a request may ask for.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Compute {
    /// bf16 where the CPU has native bf16 and OpenVINO is installed, else
    /// fp32 (on OpenVINO where installed) (in a request: whatever the
    /// server runs the model in).
    #[default]
    Auto,
    /// fp32 on ONNX Runtime, on every machine.
    Fp32,
    /// bf16 on OpenVINO, on CPUs with native bf16 (AMX or AVX512-BF16).
    Bf16,
}

impl Compute {
    /// Its names, as requests and the command line give them.
    pub const NAMES: [&str; 3] = ["auto", "fp32", "bf16"];
}

impl std::fmt::Display for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            Compute::Auto => "auto",
            Compute::Fp32 => "fp32",
            Compute::Bf16 => "bf16",
        })
    }
}

/// Which size the image has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeMode {
    /// The map's size: made at it when the model takes it, else made at the
    /// native size and scaled back.
    #[default]
    Input,
    /// The model's native size (the map is resized to it).
    Native,
    /// The size it was made at: the map's when the model takes it, else the
    /// native size (what test runs store, as the reference does).
    Fit,
}

impl SizeMode {
    /// Its names, as requests and the command line give them.
    pub const NAMES: [&str; 3] = ["input", "native", "fit"];
}

/// Instance edges of models that use them, when no instance map is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgesMode {
    /// The edges between classes (every region of a class one instance).
    #[default]
    Classes,
    /// No edges.
    None,
}

impl EdgesMode {
    /// Its names, as requests and the command line give them.
    pub const NAMES: [&str; 2] = ["classes", "none"];
}

/// A synthesis request, however it arrived. Requests that are equal give the
/// same image, so this is also the key of a response cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SynthesisRequest {
    /// The label map, a PNG.
    pub label: Bytes,
    pub encoding: LabelEncoding,
    /// An instance map (PNG) of the label map's size.
    pub instance: Option<Bytes>,
    pub style: StyleSpec,
    pub noise: NoiseSpec,
    pub compute: Compute,
    pub size: SizeMode,
    pub edges: EdgesMode,
}

/// Limits the caller enforces on decoded images.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pixels: u64,
}
