//! Which label map goes with which photo and instance map: files pair by
//! name without extension, as the reference's custom dataset mode pairs
//! them after sorting, but any mismatch is listed rather than asserted.

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

/// Pairs every label map with its photo and instance map by file name.
/// Every file must have its partners: the error lists, for each folder,
/// the names that have none. (The dataset tools' pairing, with no suffixes.)
pub fn pair(
    label_dir: &Path,
    image_dir: Option<&Path>,
    instance_dir: Option<&Path>,
) -> Result<Vec<Sample>, PairingError> {
    use crate::dataset::pairing::{self, Folder};
    fn folder<'a>(
        dir: &'a Path,
        what: &'static str,
        extensions: &'static [&'static str],
    ) -> Folder<'a> {
        Folder {
            dir,
            what,
            extensions,
            suffix: "",
        }
    }
    let mut folders = vec![folder(label_dir, "label maps", LABEL_EXTENSIONS)];
    folders.extend(image_dir.map(|d| folder(d, "photos", IMAGE_EXTENSIONS)));
    folders.extend(instance_dir.map(|d| folder(d, "instance maps", INSTANCE_EXTENSIONS)));
    Ok(pairing::pair(&folders)?
        .into_iter()
        .map(|m| {
            let mut files = m.files.into_iter();
            let label = files.next().unwrap_or_default();
            let image = image_dir.and_then(|_| files.next());
            let instance = instance_dir.and_then(|_| files.next());
            Sample {
                label,
                stem: m.stem,
                image,
                instance,
            }
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
            text.contains("2 of the label maps")
                && text.contains("no partner among the photos")
                && text.contains("b.png, c.png"),
            "{text}"
        );
        assert!(
            text.contains("1 of the photos") && text.contains(": z.jpg"),
            "{text}"
        );
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let t = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..24).map(|i| format!("m{i:02}.png")).collect();
        touch(
            &t.path().join("l"),
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        touch(&t.path().join("i"), &["other.jpg"]);
        let text = pair(&t.path().join("l"), Some(&t.path().join("i")), None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("m18.png, m19.png and 4 more"), "{text}");
        assert!(!text.contains("m20"), "{text}");
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
