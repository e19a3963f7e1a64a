//! Pairs the files of several folders by name, after taking each folder's
//! suffix off the stems (CamVid's `_L`, Cityscapes' `_gtFine_labelIds`).
//! `pair_samples` is the form test runs use: a label folder with optional
//! photo and instance folders, no suffixes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files::{file_name, some_names, strip_suffix};

/// How many names an unpaired-files message lists per folder.
const LISTED: usize = 20;

/// One folder taking part in a pairing.
#[derive(Debug, Clone, Copy)]
pub struct Folder<'a> {
    pub dir: &'a Path,
    /// What its files are, plural, for messages: "label maps".
    pub what: &'static str,
    pub extensions: &'static [&'static str],
    /// Taken off each stem before pairing; empty for none.
    pub suffix: &'a str,
}

/// Files with one name, one per folder in the order the folders were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The shared name: the stem without its folder's suffix.
    pub stem: String,
    pub files: Vec<PathBuf>,
}

/// Every name, matched or not.
#[derive(Debug, Clone, Default)]
pub struct Matching {
    /// Names found in every folder, in name order.
    pub matched: Vec<Matched>,
    /// One line per folder pair with files that have no partner.
    pub unpaired: Vec<String>,
}

/// Files of `folder` by stem without suffix; hidden files and other
/// extensions are left out.
fn by_stem(folder: &Folder) -> Result<BTreeMap<String, PathBuf>, PairingError> {
    let dir = folder.dir.display().to_string();
    let entries = std::fs::read_dir(folder.dir).map_err(|e| PairingError::Unreadable {
        dir: dir.clone(),
        reason: e.to_string(),
    })?;
    let mut files = BTreeMap::new();
    for path in entries.flatten().map(|e| e.path()) {
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let ext = ext.to_ascii_lowercase();
        if stem.starts_with('.') || !folder.extensions.contains(&ext.as_str()) || !path.is_file() {
            continue;
        }
        let key = strip_suffix(stem, folder.suffix).to_string();
        if let Some(first) = files.insert(key.clone(), path.clone()) {
            return Err(PairingError::Duplicate {
                dir,
                what: folder.what,
                stem: key,
                first: file_name(&first),
                second: file_name(&path),
            });
        }
    }
    if files.is_empty() {
        return Err(PairingError::Empty {
            dir,
            what: folder.what,
            extensions: folder.extensions.join(", "),
        });
    }
    Ok(files)
}

/// Reads every folder and matches their files by name; names missing from
/// some folder are described in `unpaired` rather than refused.
pub fn match_folders(folders: &[Folder]) -> Result<Matching, PairingError> {
    let listed: Vec<BTreeMap<String, PathBuf>> =
        folders.iter().map(by_stem).collect::<Result<_, _>>()?;
    let mut unpaired = Vec::new();
    for (i, (folder, files)) in folders.iter().zip(&listed).enumerate() {
        for (j, (other, others)) in folders.iter().zip(&listed).enumerate() {
            if i == j {
                continue;
            }
            let alone: Vec<String> = files
                .iter()
                .filter(|(stem, _)| !others.contains_key(*stem))
                .map(|(_, path)| file_name(path))
                .collect();
            if !alone.is_empty() {
                unpaired.push(format!(
                    "{} of the {} in {} have no partner among the {} in {}{}: {}",
                    alone.len(),
                    folder.what,
                    folder.dir.display(),
                    other.what,
                    other.dir.display(),
                    match other.suffix {
                        "" => String::new(),
                        s => format!(" (names compared without {s})"),
                    },
                    some_names(&alone, LISTED)
                ));
            }
        }
    }
    let Some((first, rest)) = listed.split_first() else {
        return Ok(Matching::default());
    };
    let matched = first
        .iter()
        .filter_map(|(stem, path)| {
            let mut files = vec![path.clone()];
            for other in rest {
                files.push(other.get(stem)?.clone());
            }
            Some(Matched {
                stem: stem.clone(),
                files,
            })
        })
        .collect();
    Ok(Matching { matched, unpaired })
}

/// Matches the folders' files by name and refuses any file without partners,
/// listing them all by folder.
pub fn pair(folders: &[Folder]) -> Result<Vec<Matched>, PairingError> {
    let matching = match_folders(folders)?;
    if matching.unpaired.is_empty() {
        Ok(matching.matched)
    } else {
        Err(PairingError::Unpaired(matching.unpaired))
    }
}

/// Files in `dir` with an image extension other than `expected`: the
/// reference's dataset loader reads every image file in a folder, so a stray
/// JPEG among label maps becomes a label map there.
pub fn stray_images(dir: &Path, expected: &[&str]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stray: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            // The reference's IMG_EXTENSIONS.
            let image = ["jpg", "jpeg", "png", "ppm", "bmp", "tif", "tiff", "webp"];
            image.contains(&ext.as_str()) && !expected.contains(&ext.as_str()) && p.is_file()
        })
        .map(|p| file_name(&p))
        .collect();
    stray.sort();
    stray
}

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
pub fn pair_samples(
    label_dir: &Path,
    image_dir: Option<&Path>,
    instance_dir: Option<&Path>,
) -> Result<Vec<Sample>, PairingError> {
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
    Ok(pair(&folders)?
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

    fn folder<'a>(dir: &'a Path, suffix: &'a str) -> Folder<'a> {
        Folder {
            dir,
            what: "files",
            extensions: &["png", "jpg"],
            suffix,
        }
    }

    #[test]
    fn pairs_camvid_labels_after_taking_off_the_suffix() {
        let t = tempfile::tempdir().unwrap();
        let (images, labels) = (t.path().join("img"), t.path().join("lab"));
        touch(&images, &["0001TP_006690.png", "0001TP_006720.png"]);
        touch(&labels, &["0001TP_006720_L.png", "0001TP_006690_L.png"]);
        let m = pair(&[folder(&images, ""), folder(&labels, "_L")]).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].stem, "0001TP_006690");
        assert_eq!(file_name(&m[0].files[1]), "0001TP_006690_L.png");
    }

    #[test]
    fn lists_files_without_partners_in_each_folder() {
        let t = tempfile::tempdir().unwrap();
        let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
        touch(&a, &["x.png", "y.png"]);
        touch(&b, &["x_L.png", "z_L.png"]);
        touch(&c, &["x.png", "y.png", "z.png"]);
        let m = match_folders(&[folder(&a, ""), folder(&b, "_L"), folder(&c, "")]).unwrap();
        assert_eq!(m.matched.len(), 1);
        let text = m.unpaired.join("\n");
        assert!(
            text.contains("1 of the files in") && text.contains(": y.png"),
            "{text}"
        );
        assert!(text.contains("(names compared without _L)"), "{text}");
        assert!(text.contains(": z_L.png"), "{text}");
        assert!(pair(&[folder(&a, ""), folder(&b, "_L")]).is_err());
    }

    #[test]
    fn refuses_two_files_that_differ_only_by_the_suffix() {
        let t = tempfile::tempdir().unwrap();
        touch(t.path(), &["a.png", "a_L.png"]);
        let e = pair(&[folder(t.path(), "_L")]).unwrap_err();
        assert!(matches!(e, PairingError::Duplicate { .. }), "{e}");
    }

    #[test]
    fn finds_images_the_reference_would_read_as_labels() {
        let t = tempfile::tempdir().unwrap();
        touch(t.path(), &["a.png", "b.jpg", "classes.tsv", "c.BMP"]);
        assert_eq!(stray_images(t.path(), &["png"]), ["b.jpg", "c.BMP"]);
    }
}

#[cfg(test)]
mod sample_tests {
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
        let s = pair_samples(
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
        let s = pair_samples(t.path(), None, None).unwrap();
        assert_eq!(s[0].image, None);
    }

    #[test]
    fn lists_the_names_without_partners_on_both_sides() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("l"), &["a.png", "b.png", "c.png"]);
        touch(&t.path().join("i"), &["a.jpg", "z.jpg"]);
        let e = pair_samples(&t.path().join("l"), Some(&t.path().join("i")), None).unwrap_err();
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
        let text = pair_samples(&t.path().join("l"), Some(&t.path().join("i")), None)
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
        let e = pair_samples(&t.path().join("l"), Some(&t.path().join("i")), None).unwrap_err();
        assert!(matches!(e, PairingError::Duplicate { .. }), "{e}");
        touch(&t.path().join("empty"), &[]);
        let e = pair_samples(&t.path().join("empty"), None, None).unwrap_err();
        assert!(e.to_string().contains("holds no label maps (png)"), "{e}");
        let e = pair_samples(&t.path().join("missing"), None, None).unwrap_err();
        assert!(e.to_string().starts_with("cannot read"), "{e}");
    }
}
