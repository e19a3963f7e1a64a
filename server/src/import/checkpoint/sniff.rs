//! Says what a file that is neither a zip archive nor a pickle probably is, so that the
//! error points at the real mistake: an HTML error page saved under the checkpoint's
//! name, a Git LFS pointer, a model in another format, a text file.

pub fn describe(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head);
    let lower = text.trim_start().to_ascii_lowercase();
    let found = if bytes.is_empty() {
        "the file is empty; copy or download it again"
    } else if lower.starts_with("version https://git-lfs") {
        "it is a Git LFS pointer, not the file itself; fetch the file with `git lfs pull`"
    } else if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.contains("<html")
    {
        "it is an HTML page (a download that saved an error or login page); download the .pth file itself"
    } else if is_safetensors(bytes) {
        "it is a safetensors file; this importer reads PyTorch .pth checkpoints"
    } else if is_onnx(bytes) {
        "it looks like an ONNX model; this importer reads PyTorch .pth checkpoints"
    } else if bytes.starts_with(b"\x1f\x8b") {
        "it is gzip-compressed; decompress it first"
    } else if bytes.get(257..262) == Some(b"ustar") {
        "it is a tar archive; extract the .pth file from it (or, if it is a checkpoint from \
         PyTorch < 0.1.10, load and save it again with a newer PyTorch)"
    } else if bytes.starts_with(b"\x93NUMPY") {
        "it is a NumPy .npy array"
    } else if bytes.starts_with(b"\x89HDF") {
        "it is an HDF5 file (such as Keras weights)"
    } else if is_text(head) {
        let first_line: String = text.lines().next().unwrap_or("").chars().take(60).collect();
        return format!(
            "it is a text file starting with {first_line:?}; point to the .pth file instead"
        );
    } else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return format!(
            "it starts with the bytes {}, which begin neither a zip archive (`PK`) nor a pickle (0x80)",
            hex.join(" ")
        );
    };
    found.to_owned()
}

/// An 8-byte little-endian header length, then a JSON header that fits in the file.
fn is_safetensors(bytes: &[u8]) -> bool {
    let Some(len) = bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
        return false;
    };
    let len = u64::from_le_bytes(len);
    bytes.get(8) == Some(&b'{') && len <= bytes.len() as u64 - 8
}

/// A protobuf `ModelProto`: field 1 (ir_version, a small varint), then field 2, 3 or 7.
fn is_onnx(bytes: &[u8]) -> bool {
    matches!(bytes, [0x08, version, field, ..] if *version < 0x80 && matches!(field, 0x12 | 0x1a | 0x3a))
}

fn is_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // The 512-byte window may cut a multi-byte character at its end.
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    !text.is_empty() && text.chars().all(|c| !c.is_control() || c.is_whitespace())
}
