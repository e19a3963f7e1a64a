//! NumPy `.npy` files of little-endian float32 in C order: what `--raw` writes
//! and what the reference fixtures hold.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a float32 C-order .npy file: {reason}")]
    Format {
        path: String,
        #[source]
        reason: FormatError,
    },
}

/// Why bytes are not a float32 C-order .npy array.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("no NumPy magic")]
    NoMagic,
    #[error("unsupported version {0}")]
    Version(u8),
    #[error("header cut short")]
    HeaderCutShort,
    #[error("dtype is not '<f4' in {0}")]
    Dtype(String),
    #[error("Fortran order")]
    FortranOrder,
    #[error("no shape")]
    NoShape,
    #[error("bad dimension {0}")]
    Dimension(String),
    #[error("shape {shape:?} needs {needed} bytes, found {found}")]
    Length {
        shape: Vec<usize>,
        needed: usize,
        found: usize,
    },
}

/// An n-dimensional float32 array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub fn read(path: &Path) -> Result<Array, NpyError> {
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&bytes).map_err(|reason| NpyError::Format {
        path: path.display().to_string(),
        reason,
    })
}

pub fn parse(bytes: &[u8]) -> Result<Array, FormatError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(FormatError::NoMagic);
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(FormatError::Version(v)),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or(FormatError::HeaderCutShort)?;
    if !header.contains("'descr': '<f4'") {
        return Err(FormatError::Dtype(header.to_string()));
    }
    if header.contains("'fortran_order': True") {
        return Err(FormatError::FortranOrder);
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or(FormatError::NoShape)?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| FormatError::Dimension(s.to_string())))
        .collect::<Result<_, _>>()?;
    let body = &bytes[start + header_len..];
    let n: usize = shape.iter().product();
    if body.len() != n * 4 {
        return Err(FormatError::Length {
            needed: n * 4,
            found: body.len(),
            shape,
        });
    }
    let data = body
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Array { shape, data })
}

pub fn encode(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = if dims.len() == 1 {
        format!("{},", dims[0])
    } else {
        dims.join(", ")
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({tuple}), }}");
    // Pad so that the data starts on a 64-byte boundary, ending with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_arrays_parse_back() {
        let bytes = encode(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]);
        assert_eq!(
            bytes.len() % 64,
            24,
            "the 24 data bytes start on a 64-byte boundary"
        );
        let a = parse(&bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data[5], -6.5);
    }

    #[test]
    fn rejects_other_dtypes() {
        let mut bytes = encode(&[1], &[1.0]);
        let pos = bytes.windows(3).position(|w| w == b"<f4").unwrap();
        bytes[pos + 2] = b'8';
        assert!(parse(&bytes).unwrap_err().to_string().contains("'<f4'"));
    }

    #[test]
    fn a_body_of_the_wrong_length_says_what_the_shape_needs() {
        let mut bytes = encode(&[2, 3], &[0.0; 6]);
        bytes.truncate(bytes.len() - 4);
        assert_eq!(
            parse(&bytes).unwrap_err().to_string(),
            "shape [2, 3] needs 24 bytes, found 20"
        );
    }
}
