//! The feature graph FID and KID are computed from: an Inception-v3
//! pool-feature graph the user exports (`--inception FILE.onnx`, its input
//! convention in `FILE.json` beside it, pytorch-fid's by default), each
//! image turned into its input and into one feature vector, and where a run
//! keeps the vectors.

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::inference::runtime::{FeatureSession, RuntimeError, SessionOptions};

/// Why the feature graph cannot be loaded or give an image's features.
#[derive(Debug, thiserror::Error)]
pub enum InceptionError {
    #[error("{path}: {source}; it may hold width, height (pixels), range ([low, high]: what 0 and 255 become) and resize (\"bilinear\" or \"none\")")]
    Convention {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the image is {width}×{height}, but the Inception graph takes {takes_width}×{takes_height} and its JSON says resize \"none\"")]
    WrongSize {
        width: usize,
        height: usize,
        takes_width: usize,
        takes_height: usize,
    },
    #[error("--inception {path}: {source}")]
    Load {
        path: String,
        #[source]
        source: RuntimeError,
    },
    #[error("--inception {path}: running it on a {width}×{height} image: {source}")]
    Probe {
        path: String,
        width: usize,
        height: usize,
        #[source]
        source: RuntimeError,
    },
    #[error("--inception {path}: its first output has shape {shape:?} for one image; FID and KID need one feature vector per image, (N, D) or (N, D, 1, 1) with D ≥ 2: export the network up to its last pooling layer (pytorch-fid's InceptionV3 block 3: 2048 features), not its classifier or a spatial map")]
    NotAVector { path: String, shape: Vec<usize> },
    #[error("the Inception graph: {0}")]
    Run(#[source] RuntimeError),
    #[error("the Inception graph gave {got} values for an image, {dim} before")]
    Length { got: usize, dim: usize },
}

/// How the feature graph wants its images: pytorch-fid's convention unless
/// the JSON beside the graph says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InceptionInput {
    #[serde(default = "default_side")]
    pub width: usize,
    #[serde(default = "default_side")]
    pub height: usize,
    /// What pixel values 0 and 255 become.
    #[serde(default = "default_range")]
    pub range: [f32; 2],
    /// How an image of another size is brought to width×height.
    #[serde(default)]
    pub resize: Resize,
}

fn default_side() -> usize {
    299
}

fn default_range() -> [f32; 2] {
    [0.0, 1.0]
}

impl Default for InceptionInput {
    fn default() -> Self {
        Self {
            width: default_side(),
            height: default_side(),
            range: default_range(),
            resize: Resize::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resize {
    /// Bilinear without antialiasing, pixel centres aligned
    /// (`F.interpolate(…, mode="bilinear", align_corners=False)`, as
    /// pytorch-fid resizes inside its network).
    #[default]
    Bilinear,
    /// None: every image must already be width×height.
    None,
}

impl InceptionInput {
    /// The convention of `graph`: `graph` with the extension `.json`, when
    /// there is one.
    pub fn beside(graph: &Path) -> Result<Self, InceptionError> {
        let path = graph.with_extension("json");
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| InceptionError::Convention {
                path: path.display().to_string(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(InceptionError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// `image` as the graph's input: (3, height, width), in `range`.
    pub fn pixels(&self, image: &RgbImage) -> Result<Vec<f32>, InceptionError> {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let (ow, oh) = (self.width, self.height);
        if self.resize == Resize::None && (w, h) != (ow, oh) {
            return Err(InceptionError::WrongSize {
                width: w,
                height: h,
                takes_width: ow,
                takes_height: oh,
            });
        }
        let [low, high] = self.range;
        let scale = (high - low) / 255.0;
        let raw = image.as_raw();
        let value = |x: usize, y: usize, c: usize| raw[(y * w + x) * 3 + c] as f32;
        let mut out = vec![0f32; 3 * oh * ow];
        // Source coordinate and weights of each output column and row.
        let taps = |out_len: usize, in_len: usize| -> Vec<(usize, usize, f32)> {
            let ratio = in_len as f32 / out_len as f32;
            (0..out_len)
                .map(|o| {
                    let s = ((o as f32 + 0.5) * ratio - 0.5).max(0.0);
                    let i0 = (s.floor() as usize).min(in_len - 1);
                    let i1 = (i0 + 1).min(in_len - 1);
                    (i0, i1, s - i0 as f32)
                })
                .collect()
        };
        let (xs, ys) = (taps(ow, w), taps(oh, h));
        for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
            for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
                for c in 0..3 {
                    let top = value(x0, y0, c) * (1.0 - fx) + value(x1, y0, c) * fx;
                    let bottom = value(x0, y1, c) * (1.0 - fx) + value(x1, y1, c) * fx;
                    let v = top * (1.0 - fy) + bottom * fy;
                    out[(c * oh + oy) * ow + ox] = low + v * scale;
                }
            }
        }
        Ok(out)
    }
}

/// The feature graph and its input convention.
pub struct Inception {
    session: FeatureSession,
    pub input: InceptionInput,
    /// Features per image.
    pub dim: usize,
    /// The graph's file name, for the record.
    pub name: String,
}

impl Inception {
    /// Loads the graph and checks it on a grey image: one feature vector
    /// per image, (N, D) or (N, D, 1, 1).
    pub fn load(path: &Path, opts: &SessionOptions) -> Result<Self, InceptionError> {
        let input = InceptionInput::beside(path)?;
        let session = FeatureSession::load(path, opts).map_err(|source| InceptionError::Load {
            path: path.display().to_string(),
            source,
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut inception = Self {
            session,
            input: input.clone(),
            dim: 0,
            name,
        };
        let grey = RgbImage::from_pixel(
            input.width as u32,
            input.height as u32,
            image::Rgb([128, 128, 128]),
        );
        let output = inception
            .session
            .run([1, 3, input.height, input.width], &input.pixels(&grey)?)
            .map_err(|source| InceptionError::Probe {
                path: path.display().to_string(),
                width: input.width,
                height: input.height,
                source,
            })?;
        let one_vector = match output.shape.as_slice() {
            [1, d] => Some(*d),
            [1, d, 1, 1] => Some(*d),
            _ => None,
        };
        match one_vector {
            Some(d) if d >= 2 => inception.dim = d,
            _ => {
                return Err(InceptionError::NotAVector {
                    path: path.display().to_string(),
                    shape: output.shape,
                })
            }
        }
        Ok(inception)
    }

    pub fn features(&mut self, image: &RgbImage) -> Result<Vec<f32>, InceptionError> {
        let pixels = self.input.pixels(image)?;
        let output = self
            .session
            .run([1, 3, self.input.height, self.input.width], &pixels)
            .map_err(InceptionError::Run)?;
        if output.data.len() != self.dim {
            return Err(InceptionError::Length {
                got: output.data.len(),
                dim: self.dim,
            });
        }
        Ok(output.data)
    }
}

/// Where a run keeps the features `graph` gave its images of `kind`:
/// `features/<graph>/<kind>`, so that features of another graph never mix
/// with these and nothing has to be removed when the graph changes.
pub fn features_dir(root: &Path, graph: &str, kind: &str) -> PathBuf {
    let folder: String = graph
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    root.join("features")
        .join(folder.trim_start_matches('.'))
        .join(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_become_the_graphs_input_by_pytorchs_bilinear_rule() {
        let spec = InceptionInput {
            width: 2,
            height: 1,
            range: [-1.0, 1.0],
            resize: Resize::Bilinear,
        };
        let mut image = RgbImage::new(4, 1);
        for (x, v) in [0u8, 255, 255, 0].into_iter().enumerate() {
            image.put_pixel(x as u32, 0, image::Rgb([v, v, 0]));
        }
        // Output x=0 samples source 0.5 (between 0 and 255), x=1 samples 2.5.
        let pixels = spec.pixels(&image).unwrap();
        assert_eq!(pixels[..2], [0.0, 0.0]);
        assert_eq!(pixels[4..], [-1.0, -1.0]);
        let fixed = InceptionInput {
            resize: Resize::None,
            ..spec
        };
        assert!(fixed
            .pixels(&image)
            .unwrap_err()
            .to_string()
            .contains("resize \"none\""));
        assert_eq!(
            InceptionInput::default(),
            serde_json::from_str::<InceptionInput>("{}").unwrap()
        );
        assert!(serde_json::from_str::<InceptionInput>("{\"size\": 3}").is_err());
    }
}
