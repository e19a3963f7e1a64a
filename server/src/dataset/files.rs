//! File names shared by the preparation tools: names without a suffix,
//! names for messages, folders within folders (atomic writes are
//! `crate::atomic`). Grayscale PNGs of class and instance ids are
//! written by `package::map_png` (the server answers maps with the same code).

use std::path::Path;

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

    #[test]
    fn strips_only_a_real_suffix() {
        assert_eq!(strip_suffix("0001TP_006690_L", "_L"), "0001TP_006690");
        assert_eq!(strip_suffix("0001TP_006690", "_L"), "0001TP_006690");
        assert_eq!(strip_suffix("_L", "_L"), "_L");
        assert_eq!(strip_suffix("a", ""), "a");
    }
}
