//! `easel dataset instances`: 16-bit instance maps for the reference's
//! instance edges, from instance annotations, from the connected regions of
//! each class of a label map, or from both (instances where annotated,
//! regions elsewhere), optionally numbered as Cityscapes does (class·1000 + n).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::files::{self, file_name};
use super::pairing::{self, Folder, PairingError, INSTANCE_EXTENSIONS, LABEL_EXTENSIONS};
use super::workers::{self, WorkOptions};
use crate::atomic;
use crate::package::map_png::{decode_png, encode_gray_png, Depth, PngError};

/// The largest id a 16-bit instance map holds.
pub const MAX_ID: u32 = u16::MAX as u32;

/// Cityscapes numbers the n-th instance of class c as c·1000 + n.
pub const CITYSCAPES_FACTOR: u32 = 1000;

#[derive(Debug, Clone)]
pub struct InstanceOptions {
    /// Label maps (8/16-bit grayscale class indices).
    pub labels: Option<PathBuf>,
    /// Instance annotations: 8/16-bit grayscale or RGB ids, 0 (black) for none.
    pub annotations: Option<PathBuf>,
    pub out: PathBuf,
    /// Number instances class·1000 + n and other pixels by their class.
    pub cityscapes: bool,
    /// Taken off label map stems before pairing and naming the output.
    pub label_suffix: String,
    /// Taken off annotation stems before pairing and naming the output.
    pub annotation_suffix: String,
    pub work: WorkOptions,
    pub max_pixels: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("give --labels (label maps), --annotations (instance annotations) or both")]
    NothingToRead,
    #[error("--cityscapes numbers instances of annotated objects; give their --annotations too")]
    CityscapesNeedsAnnotations,
    #[error("--out {0} is an input folder; write the instance maps to a folder of their own")]
    OutIsInput(PathBuf),
    #[error("the label maps and annotations do not pair up by name; nothing was written:\n  {}", .0.join("\n  "))]
    Unpaired(Vec<String>),
    #[error("{0}")]
    Pairing(PairingError),
    #[error("cannot write {path}: {reason}")]
    Write {
        path: PathBuf,
        reason: std::io::Error,
    },
}

/// Why one instance map was not written; the run goes on with the others.
#[derive(Debug, thiserror::Error)]
pub enum InstanceMapError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Decode { file: String, source: PngError },
    #[error(
        "the label map is a colour image; make class indices with `easel dataset convert` first"
    )]
    ColourLabels,
    #[error(
        "the label map is {}×{} but the annotation is {}×{}; they must be the same size",
        .label.0, .label.1, .annotation.0, .annotation.1
    )]
    SizeMismatch {
        label: (usize, usize),
        annotation: (usize, usize),
    },
    #[error("nothing to read")]
    NoInput,
    #[error(
        "Cityscapes instance ids are grayscale (*_instanceIds.png), but this annotation \
         is a colour image; give the label maps too to number its instances by class"
    )]
    ColourCityscapes,
    #[error(transparent)]
    Numbering(#[from] NumberingError),
    #[error("cannot encode: {0}")]
    Encode(#[source] png::EncodingError),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Ids that a 16-bit instance map, or the Cityscapes numbering, cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberingError {
    #[error(
        "more than {MAX_ID} instances and regions, more than a 16-bit instance map numbers; \
         a label map with that many regions is usually noisy (isolated pixels): clean it, \
         or give the instance annotations"
    )]
    TooManyRegions,
    #[error(
        "class {0} is 1000 or more and cannot be told from an instance id in the Cityscapes numbering"
    )]
    ClassTooLarge(u32),
    #[error(
        "instance {n} of class {class} would be {id}, which the Cityscapes numbering \
         (class·1000 + n, 16-bit) cannot hold: it allows 1000 instances of classes 0-65"
    )]
    CityscapesOverflow { n: u32, class: u32, id: u32 },
}

impl From<PairingError> for InstanceError {
    fn from(e: PairingError) -> Self {
        match e {
            PairingError::Unpaired(lines) => Self::Unpaired(lines),
            e => Self::Pairing(e),
        }
    }
}

/// What became of one map.
#[derive(Debug)]
pub struct InstanceOutcome {
    pub stem: String,
    pub output: PathBuf,
    /// Distinct ids written (0 included when present).
    pub ids: usize,
    /// Why nothing was written.
    pub failure: Option<InstanceMapError>,
}

#[derive(Debug)]
pub struct InstanceReport {
    pub files: Vec<InstanceOutcome>,
    pub threads: usize,
    pub seconds: f64,
}

impl InstanceReport {
    pub fn failed(&self) -> impl Iterator<Item = &InstanceOutcome> {
        self.files.iter().filter(|f| f.failure.is_some())
    }
}

/// Grayscale samples of a map; None for colour PNGs.
struct Gray {
    width: usize,
    height: usize,
    values: Option<Vec<u32>>,
    /// Colour ids, the channels folded into one number, for colour PNGs.
    colours: Option<Vec<u64>>,
}

fn read_map(path: &Path, what: &'static str, max_pixels: u64) -> Result<Gray, InstanceMapError> {
    let bytes = std::fs::read(path).map_err(|source| InstanceMapError::Read {
        file: file_name(path),
        source,
    })?;
    let raw = decode_png(&bytes, what, max_pixels).map_err(|source| InstanceMapError::Decode {
        file: file_name(path),
        source,
    })?;
    let pixels = raw.samples.chunks_exact(raw.channels);
    let (values, colours) = match raw.channels {
        // Gray (with alpha): the gray sample. Paletted PNGs give their indices.
        1 | 2 => (Some(pixels.map(|p| p[0]).collect()), None),
        _ => (
            None,
            Some(
                pixels
                    .map(|p| p[..3].iter().fold(0u64, |id, &s| (id << 16) | s as u64))
                    .collect(),
            ),
        ),
    };
    Ok(Gray {
        width: raw.width,
        height: raw.height,
        values,
        colours,
    })
}

/// Each pixel's instance id. `classes` and `annotation` are row-major and
/// of one size; an annotation of 0 means "not an instance".
///
/// * classes only: every 4-connected region of each class gets its own id,
///   1..n in raster order of the regions' first pixels;
/// * annotation only: each non-zero annotation id becomes 1..n in raster
///   order (only equality of ids matters for instance edges); 0 stays 0;
/// * both: annotated pixels as above, and every 4-connected region of the
///   other pixels of a class its own id, from one counter.
pub fn number_instances(
    classes: Option<&[u32]>,
    annotation: Option<&[u64]>,
    width: usize,
) -> Result<Vec<u16>, NumberingError> {
    let len = classes.map_or_else(|| annotation.map_or(0, <[u64]>::len), <[u32]>::len);
    let is_instance = |i: usize| annotation.is_some_and(|a| a[i] != 0);
    let mut ids = vec![0u32; len];
    let mut next = 0u32;
    let mut by_annotation: HashMap<u64, u32> = HashMap::new();
    let mut stack = Vec::new();
    let new_id = |next: &mut u32| {
        *next += 1;
        if *next > MAX_ID {
            Err(NumberingError::TooManyRegions)
        } else {
            Ok(*next)
        }
    };
    for i in 0..len {
        if ids[i] != 0 {
            continue;
        }
        if let (true, Some(a)) = (is_instance(i), annotation) {
            ids[i] = match by_annotation.get(&a[i]) {
                Some(&id) => id,
                None => {
                    let id = new_id(&mut next)?;
                    by_annotation.insert(a[i], id);
                    id
                }
            };
        } else if let Some(classes) = classes {
            let id = new_id(&mut next)?;
            let class = classes[i];
            ids[i] = id;
            stack.push(i);
            while let Some(p) = stack.pop() {
                let (x, y) = (p % width, p / width);
                let neighbours = [
                    (x > 0).then(|| p - 1),
                    (x + 1 < width).then_some(p + 1),
                    (y > 0).then(|| p - width),
                    (p + width < len).then_some(p + width),
                ];
                for q in neighbours.into_iter().flatten() {
                    if ids[q] == 0 && classes[q] == class && !is_instance(q) {
                        ids[q] = id;
                        stack.push(q);
                    }
                }
            }
        }
    }
    Ok(ids.into_iter().map(|id| id as u16).collect())
}

/// Cityscapes ids: the n-th annotated instance of class c (n from 0, in
/// raster order) is c·1000 + n, every other pixel its class c.
pub fn cityscapes_ids(classes: &[u32], annotation: &[u64]) -> Result<Vec<u16>, NumberingError> {
    let mut per_class: HashMap<u32, u32> = HashMap::new();
    let mut by_instance: HashMap<(u32, u64), u32> = HashMap::new();
    classes
        .iter()
        .zip(annotation)
        .map(|(&class, &instance)| {
            if instance == 0 {
                return if class < CITYSCAPES_FACTOR {
                    Ok(class as u16)
                } else {
                    Err(NumberingError::ClassTooLarge(class))
                };
            }
            let id = match by_instance.get(&(class, instance)) {
                Some(&id) => id,
                None => {
                    let n = per_class.entry(class).or_insert(0);
                    let id = class * CITYSCAPES_FACTOR + *n;
                    if *n >= CITYSCAPES_FACTOR || id > MAX_ID {
                        return Err(NumberingError::CityscapesOverflow { n: *n, class, id });
                    }
                    *n += 1;
                    by_instance.insert((class, instance), id);
                    id
                }
            };
            Ok(id as u16)
        })
        .collect()
}

/// Whether every pixel of the annotation already holds its class c or
/// c·1000 + n (plain instance annotations hold 0 where there is none).
pub fn is_cityscapes_numbered(classes: &[u32], annotation: &[u64]) -> bool {
    let factor = CITYSCAPES_FACTOR as u64;
    classes.iter().zip(annotation).all(|(&c, &a)| {
        let c = c as u64;
        a == c || (a >= factor && a / factor == c && a <= MAX_ID as u64)
    })
}

struct Job {
    stem: String,
    label: Option<PathBuf>,
    annotation: Option<PathBuf>,
}

fn make_map(
    job: &Job,
    options: &InstanceOptions,
) -> Result<(usize, usize, Vec<u16>), InstanceMapError> {
    let label = job
        .label
        .as_deref()
        .map(|p| read_map(p, "label map", options.max_pixels))
        .transpose()?;
    let annotation = job
        .annotation
        .as_deref()
        .map(|p| read_map(p, "instance annotation", options.max_pixels))
        .transpose()?;
    let classes = match &label {
        Some(Gray { values: None, .. }) => return Err(InstanceMapError::ColourLabels),
        Some(l) => l.values.as_deref(),
        None => None,
    };
    let ann_ids: Option<Vec<u64>> = annotation.as_ref().map(|a| match (&a.values, &a.colours) {
        (Some(v), _) => v.iter().map(|&v| v as u64).collect(),
        (None, Some(c)) => c.clone(),
        (None, None) => Vec::new(),
    });
    let (width, height) = match (&label, &annotation) {
        (Some(l), Some(a)) if (l.width, l.height) != (a.width, a.height) => {
            return Err(InstanceMapError::SizeMismatch {
                label: (l.width, l.height),
                annotation: (a.width, a.height),
            })
        }
        (Some(m), _) | (None, Some(m)) => (m.width, m.height),
        (None, None) => return Err(InstanceMapError::NoInput),
    };
    let ids = match (options.cityscapes, classes, &annotation, &ann_ids) {
        // A Cityscapes *_instanceIds.png with its labels is numbered already;
        // numbering it again would make every stuff pixel an instance.
        (true, Some(classes), _, Some(ann)) if is_cityscapes_numbered(classes, ann) => {
            ann.iter().map(|&v| v as u16).collect()
        }
        (true, Some(classes), _, Some(ann)) => cityscapes_ids(classes, ann)?,
        // Already in the Cityscapes numbering (e.g. *_instanceIds.png): kept.
        (true, None, Some(a), _) => match &a.values {
            Some(v) => v.iter().map(|&v| v as u16).collect(),
            None => return Err(InstanceMapError::ColourCityscapes),
        },
        (_, classes, _, ann) => number_instances(classes, ann.as_deref(), width)?,
    };
    Ok((width, height, ids))
}

/// Writes one 16-bit instance map per label map or annotation.
pub fn make_instances(options: &InstanceOptions) -> Result<InstanceReport, InstanceError> {
    let started = Instant::now();
    if options.labels.is_none() && options.annotations.is_none() {
        return Err(InstanceError::NothingToRead);
    }
    if options.cityscapes && options.annotations.is_none() {
        return Err(InstanceError::CityscapesNeedsAnnotations);
    }
    for dir in options.labels.iter().chain(&options.annotations) {
        if files::is_within(&options.out, dir) && files::is_within(dir, &options.out) {
            return Err(InstanceError::OutIsInput(options.out.clone()));
        }
    }
    let mut folders = Vec::new();
    if let Some(dir) = &options.labels {
        folders.push(Folder {
            dir,
            what: "label maps",
            extensions: LABEL_EXTENSIONS,
            suffix: &options.label_suffix,
        });
    }
    if let Some(dir) = &options.annotations {
        folders.push(Folder {
            dir,
            what: "instance annotations",
            extensions: INSTANCE_EXTENSIONS,
            suffix: &options.annotation_suffix,
        });
    }
    let has_labels = options.labels.is_some();
    let jobs: Vec<Job> = pairing::pair(&folders)?
        .into_iter()
        .map(|m| {
            let mut files = m.files.into_iter();
            Job {
                stem: m.stem,
                label: if has_labels { files.next() } else { None },
                annotation: files.next(),
            }
        })
        .collect();
    std::fs::create_dir_all(&options.out).map_err(|reason| InstanceError::Write {
        path: options.out.clone(),
        reason,
    })?;
    let files = workers::map_parallel(&jobs, options.work, |job| {
        let output = options.out.join(format!("{}.png", job.stem));
        let written = make_map(job, options).and_then(|(width, height, ids)| {
            let png = encode_gray_png(width, height, &ids, Depth::Sixteen)
                .map_err(InstanceMapError::Encode)?;
            atomic::write(&output, &png).map_err(|source| InstanceMapError::Write {
                path: output.clone(),
                source,
            })?;
            let mut distinct = ids;
            distinct.sort_unstable();
            distinct.dedup();
            Ok(distinct.len())
        });
        InstanceOutcome {
            stem: job.stem.clone(),
            output,
            ids: *written.as_ref().unwrap_or(&0),
            failure: written.err(),
        }
    });
    Ok(InstanceReport {
        threads: workers::thread_count(options.work.threads, jobs.len()),
        seconds: started.elapsed().as_secs_f64(),
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_connected_region_of_a_class_gets_its_own_id() {
        // Two separate patches of class 1, split by class 0; 4-connectivity,
        // so diagonal neighbours are separate regions.
        #[rustfmt::skip]
        let classes = [
            1, 0, 1,
            1, 0, 0,
            0, 1, 0,
        ];
        let ids = number_instances(Some(&classes), None, 3).unwrap();
        assert_eq!(ids, [1, 2, 3, 1, 2, 2, 4, 5, 2]);
    }

    #[test]
    fn annotation_ids_become_1_to_n_and_zero_stays_zero() {
        let ann = [0, 70000, 70000, 5, 0, 5];
        assert_eq!(
            number_instances(None, Some(&ann), 3).unwrap(),
            [0, 1, 1, 2, 0, 2]
        );
    }

    #[test]
    fn annotated_instances_and_unannotated_regions_share_one_counter() {
        #[rustfmt::skip]
        let classes = [
            2, 2, 3, 3,
            2, 2, 3, 3,
        ];
        #[rustfmt::skip]
        let ann = [
            0, 9, 0, 0,
            0, 9, 0, 4,
        ];
        let ids = number_instances(Some(&classes), Some(&ann), 4).unwrap();
        assert_eq!(ids, [1, 2, 3, 3, 1, 2, 3, 4]);
    }

    #[test]
    fn cityscapes_numbers_instances_per_class_and_keeps_stuff_classes() {
        let classes = [7, 26, 26, 26, 24, 26];
        let ann = [0, 3, 3, 8, 3, 1];
        assert_eq!(
            cityscapes_ids(&classes, &ann).unwrap(),
            [7, 26000, 26000, 26001, 24000, 26002]
        );
    }

    #[test]
    fn cityscapes_instance_ids_given_with_their_labels_are_kept() {
        let classes = [7, 26, 26, 24];
        let numbered = [7, 26000, 26001, 24000];
        assert!(is_cityscapes_numbered(&classes, &numbered));
        // Plain instance ids (0 for none) are not.
        assert!(!is_cityscapes_numbered(&classes, &[0, 1, 2, 3]));
        assert!(is_cityscapes_numbered(&[7, 23], &[7, 23]));
    }

    #[test]
    fn refuses_instance_ids_that_do_not_fit_16_bits() {
        let err = cityscapes_ids(&[66], &[1]).unwrap_err().to_string();
        assert!(err.contains("66000"), "{err}");
        // A checkerboard: every pixel its own region.
        let (w, h) = (300, 300);
        let classes: Vec<u32> = (0..w * h).map(|i| ((i % w + i / w) % 2) as u32).collect();
        let err = number_instances(Some(&classes), None, w)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 65535"), "{err}");
    }

    #[test]
    fn a_class_of_1000_or_more_cannot_be_numbered_as_cityscapes() {
        let err = cityscapes_ids(&[1000], &[0]).unwrap_err();
        assert_eq!(err, NumberingError::ClassTooLarge(1000));
        assert_eq!(
            err.to_string(),
            "class 1000 is 1000 or more and cannot be told from an instance id in the Cityscapes numbering"
        );
    }
}
