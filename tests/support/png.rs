//! PNG files made in memory: grayscale and RGB maps from a function of the
//! pixel, any colour type and bit depth, and headers that lie about the size.

use super::encode_png;

/// An 8-bit grayscale PNG whose pixel (x, y) is `value(x, y)`.
pub fn png_gray(width: u32, height: u32, value: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    encode_png(image::GrayImage::from_fn(width, height, |x, y| {
        image::Luma([value(x, y)])
    }))
}

/// An RGB PNG whose pixel (x, y) is `value(x, y)`.
pub fn png_rgb(width: u32, height: u32, value: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    encode_png(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb(value(x, y))
    }))
}

/// A PNG of raw `data` in any colour type and bit depth (and palette).
pub fn png_with(
    width: u32,
    height: u32,
    colour: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(colour);
        encoder.set_depth(depth);
        if let Some(p) = palette {
            encoder.set_palette(p.to_vec());
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xedb8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `width`×`height` (with a valid CRC) over a tiny body.
pub fn bomb(width: u32, height: u32) -> Vec<u8> {
    let mut png = png_gray(1, 1, |_, _| 0);
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}
