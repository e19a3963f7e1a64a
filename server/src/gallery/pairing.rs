//! Which label map goes with which photo and instance map: files pair by
//! name without extension, as the reference's custom dataset mode pairs
//! them after sorting, but any mismatch is listed rather than asserted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One test sample: a label map and, when given, its photo and instance map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The shared file name without extension.
    pub stem: String,
    pub label: PathBuf,
    pub image: Option<PathBuf>,
    pub instance: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PairingError {
    #[error("cannot read {dir}: {reason}")]
    Unreadable { dir: String, reason: String },
    #[error("{dir} holds no {what} ({extensions})")]
    Empty {
        dir: String,
        what: &'static str,
        extensions: String,
    },
    #[error("{dir} has two {what} named {stem}: {first} and {second}; keep one")]
    Duplicate {
        dir: String,
        what: &'static str,
        stem: String,
        first: String,
        second: String,
    },
    #[error("the files do not pair up by name: {}", .0.join("; "))]
    Unpaired(Vec<String>),
}

pub const LABEL_EXTENSIONS: &[&str] = &["png"];
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "bmp"];
pub const INSTANCE_EXTENSIONS: &[&str] = &["png"];

/// Files of `dir` with one of `extensions` (any case), by stem; hidden files
/// and other extensions are ignored.
fn by_stem(
    dir: &Path,
    what: &'static str,
    extensions: &[&str],
) -> Result<BTreeMap<String, PathBuf>, PairingError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PairingError::Unreadable {
        dir: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut files = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if stem.starts_with('.') || !extensions.contains(&ext.to_ascii_lowercase().as_str()) {
            continue;
        }
        if !path.is_file() {
            continue;
        }
        if let Some(first) = files.insert(stem.to_string(), path.clone()) {
            return Err(PairingError::Duplicate {
                dir: dir.display().to_string(),
                what,
                stem: stem.to_string(),
                first: file_name(&first),
                second: file_name(&path),
            });
        }
    }
    if files.is_empty() {
        return Err(PairingError::Empty {
            dir: dir.display().to_string(),
            what,
            extensions: extensions.join(", "),
        });
    }
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Up to five names and how many more.
fn some(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    match names.len() {
        n if n > 5 => format!("{} and {} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

/// Pairs every label map with its photo and instance map by file name.
/// Every file must have its partners: the error lists, for each folder,
/// the names that have none.
pub fn pair(
    label_dir: &Path,
    image_dir: Option<&Path>,
    instance_dir: Option<&Path>,
) -> Result<Vec<Sample>, PairingError> {
    let labels = by_stem(label_dir, "label maps", LABEL_EXTENSIONS)?;
    let images = image_dir
        .map(|d| by_stem(d, "photos", IMAGE_EXTENSIONS))
        .transpose()?;
    let instances = instance_dir
        .map(|d| by_stem(d, "instance maps", INSTANCE_EXTENSIONS))
        .transpose()?;
    let mut problems = Vec::new();
    let mut check = |others: &Option<BTreeMap<String, PathBuf>>, dir: Option<&Path>, what: &str| {
        let (Some(others), Some(dir)) = (others, dir) else {
            return;
        };
        let missing: Vec<String> = labels
            .keys()
            .filter(|s| !others.contains_key(*s))
            .cloned()
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} label map(s) have no {what} in {}: {}",
                missing.len(),
                dir.display(),
                some(&missing)
            ));
        }
        let extra: Vec<String> = others
            .keys()
            .filter(|s| !labels.contains_key(*s))
            .cloned()
            .collect();
        if !extra.is_empty() {
            problems.push(format!(
                "{} {what}(s) in {} have no label map in {}: {}",
                extra.len(),
                dir.display(),
                label_dir.display(),
                some(&extra)
            ));
        }
    };
    check(&images, image_dir, "photo");
    check(&instances, instance_dir, "instance map");
    if !problems.is_empty() {
        return Err(PairingError::Unpaired(problems));
    }
    Ok(labels
        .into_iter()
        .map(|(stem, label)| Sample {
            image: images.as_ref().and_then(|m| m.get(&stem).cloned()),
            instance: instances.as_ref().and_then(|m| m.get(&stem).cloned()),
            stem,
            label,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, names: &[&str]) {
        std::fs::create_dir_all(dir).unwrap();
        for n in names {
            std::fs::write(dir.join(n), b"x").unwrap();
        }
    }

    #[test]
    fn pairs_by_name_without_extension_in_sorted_order() {
        let t = tempfile::tempdir().unwrap();
        touch(
            &t.path().join("l"),
            &["b.png", "a.png", ".hidden.png", "notes.txt"],
        );
        touch(&t.path().join("i"), &["a.jpg", "b.JPEG"]);
        touch(&t.path().join("n"), &["a.png", "b.png"]);
        let s = pair(
            &t.path().join("l"),
            Some(&t.path().join("i")),
            Some(&t.path().join("n")),
        )
        .unwrap();
        assert_eq!(
            s.iter().map(|s| s.stem.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(s[1].image.as_ref().unwrap().file_name().unwrap(), "b.JPEG");
        assert_eq!(
            s[0].instance.as_ref().unwrap().file_name().unwrap(),
            "a.png"
        );
    }

    #[test]
    fn labels_alone_need_no_photos() {
        let t = tempfile::tempdir().unwrap();
        touch(t.path(), &["x.png"]);
        let s = pair(t.path(), None, None).unwrap();
        assert_eq!(s[0].image, None);
    }

    #[test]
    fn lists_the_names_without_partners_on_both_sides() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("l"), &["a.png", "b.png", "c.png"]);
        touch(&t.path().join("i"), &["a.jpg", "z.jpg"]);
        let e = pair(&t.path().join("l"), Some(&t.path().join("i")), None).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("2 label map(s) have no photo") && text.contains("b, c"),
            "{text}"
        );
        assert!(
            text.contains("1 photo(s)") && text.contains(": z"),
            "{text}"
        );
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let t = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..9).map(|i| format!("m{i}.png")).collect();
        touch(
            &t.path().join("l"),
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        touch(&t.path().join("i"), &["other.jpg"]);
        let text = pair(&t.path().join("l"), Some(&t.path().join("i")), None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("m0, m1, m2, m3, m4 and 4 more"), "{text}");
    }

    #[test]
    fn refuses_two_photos_with_one_name_and_empty_folders() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("l"), &["a.png"]);
        touch(&t.path().join("i"), &["a.jpg", "a.png"]);
        let e = pair(&t.path().join("l"), Some(&t.path().join("i")), None).unwrap_err();
        assert!(matches!(e, PairingError::Duplicate { .. }), "{e}");
        touch(&t.path().join("empty"), &[]);
        let e = pair(&t.path().join("empty"), None, None).unwrap_err();
        assert!(e.to_string().contains("holds no label maps (png)"), "{e}");
        let e = pair(&t.path().join("missing"), None, None).unwrap_err();
        assert!(e.to_string().starts_with("cannot read"), "{e}");
    }
}
