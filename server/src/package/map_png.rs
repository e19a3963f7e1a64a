//! PNG files of maps: the samples of any PNG as stored (palette indices
//! stay indices, 16-bit values stay 16-bit), read under a pixel limit; and
//! 8- or 16-bit grayscale PNGs of class or instance ids, written.

use std::io::Cursor;

/// Why a PNG's samples cannot be read. `maps::MapError` carries both cases
/// under the same messages.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PngError {
    #[error("the {what} is not a readable PNG: {reason}")]
    Unreadable { what: &'static str, reason: String },
    #[error("the {what} is {pixels} pixels ({width}×{height}), over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
}

/// Samples of a PNG as stored, before any colour conversion: palette indices
/// stay indices and 16-bit values stay 16-bit.
#[derive(Debug, Clone)]
pub struct RawPng {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub bit_depth: u8,
    pub samples: Vec<u32>,
}

/// Default ceiling on decoded pixels (decompression bombs).
pub const DEFAULT_MAX_PIXELS: u64 = 64 << 20;

/// The samples of a PNG (`what` names it in messages), refused past
/// `max_pixels` before any pixel is decoded.
pub fn decode_png(bytes: &[u8], what: &'static str, max_pixels: u64) -> Result<RawPng, PngError> {
    let bad = |reason: String| PngError::Unreadable { what, reason };
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    let pixels = width as u64 * height as u64;
    if pixels > max_pixels {
        return Err(PngError::TooLarge {
            what,
            width,
            height,
            pixels,
            limit: max_pixels,
        });
    }
    let channels = info.color_type.samples();
    let depth = info.bit_depth as u8;
    let mut reader = reader;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    // An animated PNG's first frame may be smaller than the image; its rows would be
    // shorter than the image's width.
    if (frame.width, frame.height) != (width, height) {
        return Err(bad(format!(
            "it is an animated PNG whose first frame is {}×{}, not the image's {width}×{height}; \
             send a still PNG",
            frame.width, frame.height
        )));
    }
    let (w, h) = (width as usize, height as usize);
    let mut samples = Vec::with_capacity(w * h * channels);
    for row in buf[..frame.buffer_size()].chunks(frame.line_size).take(h) {
        let n = w * channels;
        match depth {
            16 => samples.extend(
                row.chunks_exact(2)
                    .take(n)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]) as u32),
            ),
            8 => samples.extend(row.iter().take(n).map(|&b| b as u32)),
            d => {
                let per_byte = 8 / d as usize;
                let mask = (1u32 << d) - 1;
                samples.extend((0..n).map(|i| {
                    let byte = row[i / per_byte] as u32;
                    let shift = 8 - d as usize * (i % per_byte + 1);
                    (byte >> shift) & mask
                }));
            }
        }
    }
    if samples.len() != w * h * channels {
        return Err(bad("the image data ends early".into()));
    }
    Ok(RawPng {
        width: w,
        height: h,
        channels,
        bit_depth: depth,
        samples,
    })
}

/// Bits per sample of a written grayscale map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Eight,
    Sixteen,
}

impl Depth {
    /// The narrowest depth that holds `max`.
    pub fn for_max(max: u32) -> Self {
        if max > 255 {
            Self::Sixteen
        } else {
            Self::Eight
        }
    }

    /// The depth of index maps of a model with `values` label values.
    pub fn for_label_values(values: usize) -> Self {
        Self::for_max(values.saturating_sub(1) as u32)
    }

    /// Bytes a value.
    pub fn bytes_per_value(self) -> u16 {
        match self {
            Self::Eight => 1,
            Self::Sixteen => 2,
        }
    }

    /// `values` at this depth: one byte each, or two big-endian.
    pub fn bytes(self, values: impl Iterator<Item = u16>) -> Vec<u8> {
        match self {
            Self::Eight => values.map(|v| v as u8).collect(),
            Self::Sixteen => values.flat_map(u16::to_be_bytes).collect(),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Self::Eight => 8,
            Self::Sixteen => 16,
        }
    }
}

/// A grayscale PNG of `values` (row-major, each fitting `depth`). Default
/// compression: on label maps it costs little more time than `Fast` and
/// writes files about six times smaller.
pub fn encode_gray_png(
    width: usize,
    height: usize,
    values: &[u16],
    depth: Depth,
) -> Result<Vec<u8>, png::EncodingError> {
    let data = depth.bytes(values.iter().copied());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(match depth {
        Depth::Eight => png::BitDepth::Eight,
        Depth::Sixteen => png::BitDepth::Sixteen,
    });
    encoder.set_compression(png::Compression::Default);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_maps_read_back_exactly() {
        let values = [0u16, 255, 256, 65535, 1000, 7];
        let png = encode_gray_png(3, 2, &values, Depth::Sixteen).unwrap();
        let raw = decode_png(&png, "map", DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((raw.width, raw.height, raw.channels), (3, 2, 1));
        assert_eq!(raw.bit_depth, 16);
        assert_eq!(raw.samples, values.map(u32::from));
    }

    #[test]
    fn eight_bit_maps_read_back_exactly() {
        let values = [0u16, 31, 255, 1];
        let png = encode_gray_png(2, 2, &values, Depth::Eight).unwrap();
        let raw = decode_png(&png, "map", DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(raw.bit_depth, 8);
        assert_eq!(raw.samples, values.map(u32::from));
    }
}
