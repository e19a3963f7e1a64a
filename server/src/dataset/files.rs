//! File handling shared by the preparation tools: atomic writes, grayscale
//! PNG encoding of class and instance ids, and file names without a suffix.

use std::io;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder, so
/// that an interrupted run never leaves a half-written map behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Copies `from` to `to` through a temporary file beside `to`.
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<()> {
    let tmp = temp_path(to);
    std::fs::copy(from, &tmp)?;
    std::fs::rename(&tmp, to).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
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
    let data: Vec<u8> = match depth {
        Depth::Eight => values.iter().map(|&v| v as u8).collect(),
        Depth::Sixteen => values.iter().flat_map(|v| v.to_be_bytes()).collect(),
    };
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

/// `stem` without `suffix` (CamVid's `_L`), when it ends with it and has
/// something before it.
pub fn strip_suffix<'a>(stem: &'a str, suffix: &str) -> &'a str {
    match stem.strip_suffix(suffix) {
        Some(rest) if !suffix.is_empty() && !rest.is_empty() => rest,
        _ => stem,
    }
}

/// The file name of `path`, for messages.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Up to `limit` names and how many more.
pub fn some_names(names: &[String], limit: usize) -> String {
    let shown = names[..names.len().min(limit)].join(", ");
    match names.len() {
        n if n > limit => format!("{shown} and {} more", n - limit),
        _ => shown,
    }
}

/// Whether `inner` is `outer` or lies under it (both existing, compared
/// after resolving links); false when either cannot be resolved.
pub fn is_within(inner: &Path, outer: &Path) -> bool {
    match (inner.canonicalize(), outer.canonicalize()) {
        (Ok(i), Ok(o)) => i.starts_with(o),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::maps::{decode_png, DEFAULT_MAX_PIXELS};

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

    #[test]
    fn strips_only_a_real_suffix() {
        assert_eq!(strip_suffix("0001TP_006690_L", "_L"), "0001TP_006690");
        assert_eq!(strip_suffix("0001TP_006690", "_L"), "0001TP_006690");
        assert_eq!(strip_suffix("_L", "_L"), "_L");
        assert_eq!(strip_suffix("a", ""), "a");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
