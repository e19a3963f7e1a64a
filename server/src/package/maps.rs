//! Label maps, instance maps and region masks: decoded from PNG bytes and
//! validated once into types that cannot hold a value the model does not
//! know; their edges and nearest resize. The PNG files themselves (reading
//! samples, writing grayscale) are `map_png`'s.

pub use super::map_png::{decode_png, RawPng, DEFAULT_MAX_PIXELS};
use super::map_png::{encode_gray_png, Depth, PngError};
use crate::package::ModelCard;

/// The label value that means "unlabelled" in reference datasets.
pub const DONTCARE_VALUE: u32 = 255;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MapError {
    /// Not a readable PNG, or one past the pixel limit.
    #[error(transparent)]
    Png(#[from] PngError),
    #[error("the label map is a colour image ({channels} channels); send class indices as an 8- or 16-bit grayscale or paletted PNG")]
    NotIndexed { channels: usize },
    #[error("{0}")]
    OutOfRange(String),
    #[error("the label map has {channels} channel(s); colour encodings need an RGB or RGBA PNG")]
    NotColor { channels: usize },
    #[error("{count} pixels of the label map have colours that are not in model {model}'s palette (the first at x {x}, y {y}: #{r:02x}{g:02x}{b:02x}); paint with the palette's exact colours, or ask for the nearest class with nearest=true")]
    OffPalette {
        model: String,
        count: usize,
        x: usize,
        y: usize,
        r: u8,
        g: u8,
        b: u8,
    },
    #[error(
        "the instance map is {iw}×{ih} but the label map is {lw}×{lh}; they must be the same size"
    )]
    SizeMismatch {
        iw: usize,
        ih: usize,
        lw: usize,
        lh: usize,
    },
    #[error("{0}")]
    WrongSize(String),
}

/// How the pixels of a label-map PNG name classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LabelEncoding {
    /// Grayscale or paletted: class indices; colour: the model's colours.
    #[default]
    Auto,
    /// Grayscale or paletted PNG of class indices.
    Index,
    /// RGB in the model's class colours; `nearest` maps other colours to the closest.
    Colors { nearest: bool },
    /// RGB whose red channel is the class index, as NVIDIA's GauGAN demo sends.
    Red,
}

/// Class indices for RGB pixels by the card's colours (the dontcare colour
/// included); exact matches unless `nearest`.
fn colors_to_classes(
    rgb: &[[u8; 3]],
    width: usize,
    card: &ModelCard,
    nearest: bool,
) -> Result<Vec<u32>, MapError> {
    let mut palette: Vec<([u8; 3], u32)> = card
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.rgb(), i as u32))
        .collect();
    if let Some(rgb) = card
        .dontcare
        .as_ref()
        .and_then(|d| crate::package::classes::parse_hex(&d.color))
    {
        palette.push((rgb, card.classes.len() as u32));
    }
    let lookup: std::collections::HashMap<[u8; 3], u32> =
        palette.iter().rev().map(|&(c, i)| (c, i)).collect();
    let closest = |p: [u8; 3]| {
        let dist = |c: [u8; 3]| {
            (0..3)
                .map(|k| (p[k] as i32 - c[k] as i32).pow(2))
                .sum::<i32>()
        };
        palette
            .iter()
            .min_by_key(|(c, _)| dist(*c))
            .map_or(0, |&(_, i)| i)
    };
    let mut off = 0usize;
    let mut first = None;
    let values = rgb
        .iter()
        .enumerate()
        .map(|(i, p)| match lookup.get(p) {
            Some(&class) => class,
            None => {
                off += 1;
                first.get_or_insert((i, *p));
                if nearest {
                    closest(*p)
                } else {
                    0
                }
            }
        })
        .collect();
    match first {
        Some((i, [r, g, b])) if !nearest => Err(MapError::OffPalette {
            model: card.name.clone(),
            count: off,
            x: i % width.max(1),
            y: i / width.max(1),
            r,
            g,
            b,
        }),
        _ => Ok(values),
    }
}

/// A map of class indices, each known to be below the model's class count
/// (255 already turned into the dontcare class where the model has one).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMap {
    width: usize,
    height: usize,
    labels: Vec<u32>,
}

impl LabelMap {
    /// Validates raw values against `card`.
    pub fn new(
        width: usize,
        height: usize,
        mut values: Vec<u32>,
        card: &ModelCard,
    ) -> Result<Self, MapError> {
        let classes = card.classes.len();
        let limit = card.label_classes() as u32;
        if let Some(d) = &card.dontcare {
            values
                .iter_mut()
                .filter(|v| **v == DONTCARE_VALUE)
                .for_each(|v| *v = d.index as u32);
        }
        let mut bad: std::collections::BTreeMap<u32, usize> = Default::default();
        for &v in values.iter().filter(|&&v| v >= limit) {
            *bad.entry(v).or_default() += 1;
        }
        if !bad.is_empty() {
            let listed: Vec<String> = bad
                .iter()
                .take(5)
                .map(|(v, n)| format!("{v} ({n} pixel{})", if *n == 1 { "" } else { "s" }))
                .collect();
            let more = if bad.len() > 5 {
                format!(" and {} more values", bad.len() - 5)
            } else {
                String::new()
            };
            let range = match &card.dontcare {
                Some(d) => format!(
                    "{classes} classes (0–{}) plus the dontcare class {} (written 255 or {})",
                    classes - 1,
                    d.name,
                    d.index
                ),
                None => format!(
                    "{classes} classes (0–{}) and no dontcare class, so 255 is not allowed either",
                    classes.saturating_sub(1)
                ),
            };
            return Err(MapError::OutOfRange(format!(
                "the label map has values this model does not know: {}{more}; model {} has {range}. \
                 Check that the map was made for this model's classes",
                listed.join(", "),
                card.name
            )));
        }
        Ok(Self {
            width,
            height,
            labels: values,
        })
    }

    /// Decodes an index PNG (8/16-bit grayscale or paletted) and validates it.
    pub fn from_png(bytes: &[u8], card: &ModelCard, max_pixels: u64) -> Result<Self, MapError> {
        Self::decode(bytes, card, LabelEncoding::Index, max_pixels)
    }

    /// Decodes a PNG whose pixels encode classes as `encoding` says.
    pub fn decode(
        bytes: &[u8],
        card: &ModelCard,
        encoding: LabelEncoding,
        max_pixels: u64,
    ) -> Result<Self, MapError> {
        let raw = decode_png(bytes, "label map", max_pixels)?;
        let encoding = match encoding {
            LabelEncoding::Auto if raw.channels >= 3 => LabelEncoding::Colors { nearest: false },
            LabelEncoding::Auto => LabelEncoding::Index,
            e => e,
        };
        let pixels = raw.samples.chunks_exact(raw.channels);
        // 16-bit colour PNGs are compared at 8 bits.
        let byte = |v: u32| {
            if raw.bit_depth == 16 {
                (v >> 8) as u8
            } else {
                v as u8
            }
        };
        let values = match (encoding, raw.channels) {
            // Grayscale with alpha: the gray sample is the class.
            (LabelEncoding::Index, 1 | 2) => pixels.map(|p| p[0]).collect(),
            (LabelEncoding::Index, channels) => return Err(MapError::NotIndexed { channels }),
            (LabelEncoding::Red, 3 | 4) => pixels.map(|p| byte(p[0]) as u32).collect(),
            (LabelEncoding::Colors { nearest }, 3 | 4) => {
                let rgb: Vec<[u8; 3]> = pixels
                    .map(|p| [byte(p[0]), byte(p[1]), byte(p[2])])
                    .collect();
                colors_to_classes(&rgb, raw.width, card, nearest)?
            }
            (_, channels) => return Err(MapError::NotColor { channels }),
        };
        Self::new(raw.width, raw.height, values, card)
    }

    pub fn width(&self) -> usize {
        self.width
    }
    pub fn height(&self) -> usize {
        self.height
    }
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Nearest-neighbour resize (PyTorch's rule: src = floor(dst · in / out)).
    pub fn resized(&self, width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            labels: nearest(&self.labels, (self.width, self.height), (width, height)),
        }
    }

    /// CLADE-ICPE's intra-class positional encoding, (2, H, W): for every
    /// 8-connected region of a value other than 0, each pixel's row and
    /// column offset from the region's centroid, each divided by the
    /// region's largest offset (+ 1e-5); 0 elsewhere. The reference
    /// (`cal_connectedComponents(mask, 'norm')`) runs on the raw map, where
    /// 255 is a value like any other; here it is the dontcare class, which
    /// has the same regions.
    pub fn positional_encoding(&self) -> Vec<f32> {
        let (w, h) = (self.width, self.height);
        let mut out = vec![0f32; 2 * w * h];
        let mut seen = vec![false; w * h];
        let mut region = Vec::new();
        for start in 0..w * h {
            let value = self.labels[start];
            if seen[start] || value == 0 {
                continue;
            }
            // Flood fill the 8-connected region of `value` from `start`.
            region.clear();
            region.push(start);
            seen[start] = true;
            let mut next = 0;
            while next < region.len() {
                let p = region[next];
                next += 1;
                let (py, px) = ((p / w) as isize, (p % w) as isize);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let (y, x) = (py + dy, px + dx);
                        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
                            continue;
                        }
                        let q = y as usize * w + x as usize;
                        if !seen[q] && self.labels[q] == value {
                            seen[q] = true;
                            region.push(q);
                        }
                    }
                }
            }
            let n = region.len() as f64;
            let cy = region.iter().map(|&p| (p / w) as f64).sum::<f64>() / n;
            let cx = region.iter().map(|&p| (p % w) as f64).sum::<f64>() / n;
            let span = |f: &dyn Fn(usize) -> f64| {
                region.iter().map(|&p| f(p).abs()).fold(0f64, f64::max) + 1e-5
            };
            let dy = |p: usize| (p / w) as f64 - cy;
            let dx = |p: usize| (p % w) as f64 - cx;
            let (sy, sx) = (span(&dy), span(&dx));
            for &p in &region {
                out[p] = (dy(p) / sy) as f32;
                out[w * h + p] = (dx(p) / sx) as f32;
            }
        }
        out
    }

    /// Edges between classes: what the instance edges are when every
    /// connected region of a class is taken as one instance.
    pub fn class_edges(&self) -> Vec<u8> {
        edges(&self.labels, self.width, self.height)
    }

    /// The map as a grayscale PNG of class indices: 8-bit, or 16-bit when
    /// the model has more than 256 label values (`ModelCard::label_classes`),
    /// the rule by which /label-map answers one or two bytes a value.
    pub fn index_png(&self, label_values: usize) -> Result<Vec<u8>, png::EncodingError> {
        let depth = Depth::for_label_values(label_values);
        let values: Vec<u16> = self.labels.iter().map(|&v| v as u16).collect();
        encode_gray_png(self.width, self.height, &values, depth)
    }

    /// The map's values row by row as `index_png` stores them: one byte a
    /// value, or two (big-endian) past 256 label values.
    pub fn index_bytes(&self, label_values: usize) -> (Depth, Vec<u8>) {
        let depth = Depth::for_label_values(label_values);
        let values = self.labels.iter().map(|&v| v as u16);
        (depth, depth.bytes(values))
    }

    /// How many pixels hold each of the first `values` label values.
    pub fn histogram(&self, values: usize) -> Vec<usize> {
        let mut counts = vec![0; values];
        for &v in &self.labels {
            if let Some(n) = counts.get_mut(v as usize) {
                *n += 1;
            }
        }
        counts
    }
}

/// Instance ids, from 8- or 16-bit grayscale PNGs or colour PNGs whose
/// channels together form the id (only equality of ids matters).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceMap {
    width: usize,
    height: usize,
    ids: Vec<u64>,
}

impl InstanceMap {
    pub fn from_png(bytes: &[u8], max_pixels: u64) -> Result<Self, MapError> {
        let raw = decode_png(bytes, "instance map", max_pixels)?;
        let shift = raw.bit_depth.max(8) as u32;
        let ids = raw
            .samples
            .chunks_exact(raw.channels)
            .map(|px| px.iter().fold(0u64, |id, &s| (id << shift) | s as u64))
            .collect();
        Ok(Self {
            width: raw.width,
            height: raw.height,
            ids,
        })
    }

    pub fn from_ids(width: usize, height: usize, ids: Vec<u64>) -> Self {
        Self { width, height, ids }
    }

    /// Nearest-neighbour resize, by the label map's rule.
    pub fn resized(&self, width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            ids: nearest(&self.ids, (self.width, self.height), (width, height)),
        }
    }

    /// An instance map must have its label map's size.
    pub fn check_size(&self, label: &LabelMap) -> Result<(), MapError> {
        if (self.width, self.height) != (label.width, label.height) {
            return Err(MapError::SizeMismatch {
                iw: self.width,
                ih: self.height,
                lw: label.width,
                lh: label.height,
            });
        }
        Ok(())
    }

    /// The reference's edge map: 1 where a pixel's id differs from its left,
    /// right, upper or lower neighbour.
    pub fn edges(&self, label: &LabelMap) -> Result<Vec<u8>, MapError> {
        self.check_size(label)?;
        Ok(edges(&self.ids, self.width, self.height))
    }
}

/// A region of a label map: the nonzero pixels of a mask PNG (for example
/// where a model's noise is drawn again).
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMask {
    width: usize,
    height: usize,
    inside: Vec<bool>,
}

impl RegionMask {
    pub fn from_png(bytes: &[u8], max_pixels: u64) -> Result<Self, MapError> {
        let raw = decode_png(bytes, "region mask", max_pixels)?;
        let inside = raw
            .samples
            .chunks_exact(raw.channels)
            .map(|px| px.iter().any(|&s| s != 0))
            .collect();
        Ok(Self {
            width: raw.width,
            height: raw.height,
            inside,
        })
    }

    /// The mask at the label map's size, which it must have been given at,
    /// nearest-resized to `to` (width, height) as the map is.
    pub fn fitted(
        &self,
        label_size: (usize, usize),
        to: (usize, usize),
    ) -> Result<Vec<bool>, MapError> {
        if (self.width, self.height) != label_size {
            return Err(MapError::WrongSize(format!(
                "a region mask is {}×{} but the label map is {}×{}; masks must have the label map's size",
                self.width, self.height, label_size.0, label_size.1
            )));
        }
        if to == label_size {
            return Ok(self.inside.clone());
        }
        Ok(nearest(&self.inside, label_size, to))
    }
}

/// Nearest-neighbour resize of a row-major grid with PyTorch's float32 rule:
/// src = min(floor(dst · in / out), in − 1).
pub fn nearest<T: Copy>(values: &[T], from: (usize, usize), to: (usize, usize)) -> Vec<T> {
    let src = |dst: usize, input: usize, output: usize| {
        ((dst as f32 * (input as f32 / output as f32)).floor() as usize).min(input - 1)
    };
    (0..to.1)
        .flat_map(|y| {
            let sy = src(y, from.1, to.1);
            (0..to.0).map(move |x| sy * from.0 + src(x, from.0, to.0))
        })
        .map(|i| values[i])
        .collect()
}

fn edges<T: PartialEq>(ids: &[T], width: usize, height: usize) -> Vec<u8> {
    let mut out = vec![0u8; ids.len()];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if x + 1 < width && ids[i] != ids[i + 1] {
                out[i] = 1;
                out[i + 1] = 1;
            }
            if y + 1 < height && ids[i] != ids[i + width] {
                out[i] = 1;
                out[i + width] = 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_mark_both_sides_of_a_boundary() {
        let ids = [1, 1, 2, 1, 1, 2, 3, 3, 3];
        let e = edges(&ids, 3, 3);
        assert_eq!(e, vec![0, 1, 1, 1, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn uniform_map_has_no_edges() {
        assert_eq!(edges(&[7u32; 12], 4, 3), vec![0; 12]);
    }

    #[test]
    fn index_pngs_are_sixteen_bit_only_past_256_label_values() {
        let map = LabelMap {
            width: 2,
            height: 1,
            labels: vec![0, 2],
        };
        let eight = decode_png(&map.index_png(256).unwrap(), "map", DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((eight.bit_depth, eight.samples.clone()), (8, vec![0, 2]));
        let sixteen = decode_png(&map.index_png(257).unwrap(), "map", DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((sixteen.bit_depth, sixteen.samples), (16, vec![0, 2]));
        assert_eq!(map.histogram(4), vec![1, 0, 1, 0]);
    }
}
