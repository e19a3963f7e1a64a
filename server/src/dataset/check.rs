//! `easel dataset check`: reads a dataset in the reference's custom layout
//! (label maps, photos, optional instance maps paired by name) and gathers
//! what would go wrong in training into a `CheckReport` (printed by
//! `check_report`), with the flags `training_flags` suggests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::check_report::{CheckReport, ValueCount};
use super::files::{file_name, some_names};
use super::pairing::{
    self, Folder, PairingError, IMAGE_EXTENSIONS, INSTANCE_EXTENSIONS, LABEL_EXTENSIONS,
};
use super::training_flags::{same_ratio, suggest_preprocessing, TrainingFlags};
use super::workers::{self, WorkOptions};
use crate::package::classes::ClassTable;
use crate::package::map_png::decode_png;
use crate::package::maps::DONTCARE_VALUE;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub label_dir: PathBuf,
    pub image_dir: PathBuf,
    pub instance_dir: Option<PathBuf>,
    /// The class count training will be told; checked against the maps.
    pub label_nc: Option<usize>,
    /// Class names for the histogram, and the class count without `label_nc`.
    pub classes: Option<ClassTable>,
    pub work: WorkOptions,
    pub max_pixels: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Pairing(#[from] PairingError),
}

/// What one sample's files hold.
#[derive(Debug, Default)]
struct SampleFacts {
    stem: String,
    /// (width, height) of the label map.
    size: Option<(usize, usize)>,
    label_depth: u8,
    /// Non-zero (value, pixels) pairs of the label map.
    counts: Vec<(u32, u64)>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

fn read_label(path: &Path, facts: &mut SampleFacts, max_pixels: u64) {
    let name = file_name(path);
    let raw = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| decode_png(&b, "label map", max_pixels).map_err(|e| e.to_string()))
    {
        Ok(raw) => raw,
        Err(e) => return facts.errors.push(format!("label map {name}: {e}")),
    };
    match raw.channels {
        1 => {}
        2 => {
            return facts.errors.push(format!(
                "label map {name} is grayscale with alpha, which the reference reads as two channels; save it without alpha"
            ))
        }
        _ => {
            return facts.errors.push(format!(
                "label map {name} is a colour image; turn colours into class indices with `easel dataset convert --palette ...`"
            ))
        }
    }
    let mut counts = vec![0u64; 1 << raw.bit_depth.max(8)];
    for &v in &raw.samples {
        counts[v as usize] += 1;
    }
    facts.counts = counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(v, &n)| (v as u32, n))
        .collect();
    facts.size = Some((raw.width, raw.height));
    facts.label_depth = raw.bit_depth;
}

fn read_image(path: &Path, facts: &mut SampleFacts) {
    let name = file_name(path);
    let image = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())
        .and_then(|r| r.decode().map_err(|e| e.to_string()));
    let image = match image {
        Ok(i) => i,
        Err(e) => {
            return facts
                .errors
                .push(format!("photo {name} cannot be read: {e}"))
        }
    };
    let (w, h) = (image.width() as usize, image.height() as usize);
    let Some((lw, lh)) = facts.size else { return };
    if (w, h) == (lw, lh) {
        return;
    }
    let problem = format!("photo {name} is {w}×{h} but its label map is {lw}×{lh}");
    if same_ratio(w as f64 / h as f64, lw as f64 / lh as f64) {
        facts.warnings.push(format!(
            "{problem}; the reference resizes both alike, so they still line up, but storing them at one size is safer"
        ));
    } else {
        facts.errors.push(format!(
            "{problem}; their shapes differ, so the map cannot line up with the photo"
        ));
    }
}

fn read_instance(path: &Path, facts: &mut SampleFacts, max_pixels: u64) {
    let name = file_name(path);
    let raw = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| decode_png(&b, "instance map", max_pixels).map_err(|e| e.to_string()))
    {
        Ok(raw) => raw,
        Err(e) => return facts.errors.push(format!("instance map {name}: {e}")),
    };
    if raw.channels != 1 {
        facts.errors.push(format!(
            "instance map {name} has {} channels; the reference needs one channel of ids: make them with `easel dataset instances --annotations ...`",
            raw.channels
        ));
    }
    if let Some((lw, lh)) = facts.size {
        if (raw.width, raw.height) != (lw, lh) {
            facts.errors.push(format!(
                "instance map {name} is {}×{} but its label map is {lw}×{lh}; they must be the same size",
                raw.width, raw.height
            ));
        }
    }
}

/// The classes table beside the label maps (what `convert` and `split` write).
fn table_beside(label_dir: &Path) -> Option<ClassTable> {
    let candidates = [
        label_dir.join("classes.tsv"),
        label_dir.join("../classes.tsv"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .and_then(|p| ClassTable::load(p.to_str()?).ok())
}

/// Reads every file and gathers the report; errors are in the report.
pub fn check(options: &CheckOptions) -> Result<CheckReport, CheckError> {
    let mut folders = vec![
        Folder {
            dir: &options.label_dir,
            what: "label maps",
            extensions: LABEL_EXTENSIONS,
            suffix: "",
        },
        Folder {
            dir: &options.image_dir,
            what: "photos",
            extensions: IMAGE_EXTENSIONS,
            suffix: "",
        },
    ];
    if let Some(dir) = &options.instance_dir {
        folders.push(Folder {
            dir,
            what: "instance maps",
            extensions: INSTANCE_EXTENSIONS,
            suffix: "",
        });
    }
    let matching = pairing::match_folders(&folders)?;
    let mut errors: Vec<String> = matching
        .unpaired
        .iter()
        .map(|line| format!("{line} (the reference pairs files by identical names; `easel dataset split` renames pairs whose names differ by a suffix)"))
        .collect();
    for dir in std::iter::once(&options.label_dir).chain(&options.instance_dir) {
        let stray = pairing::stray_images(dir, LABEL_EXTENSIONS);
        if !stray.is_empty() {
            errors.push(format!(
                "{} holds image files that are not PNG, which the reference would read as maps too: {}",
                dir.display(),
                some_names(&stray, 10)
            ));
        }
    }
    let facts = workers::map_parallel(&matching.matched, options.work, |m| {
        let mut facts = SampleFacts {
            stem: m.stem.clone(),
            ..Default::default()
        };
        read_label(&m.files[0], &mut facts, options.max_pixels);
        read_image(&m.files[1], &mut facts);
        if let Some(instance) = m.files.get(2) {
            read_instance(instance, &mut facts, options.max_pixels);
        }
        facts
    });
    Ok(summarise(options, facts, errors))
}

fn summarise(
    options: &CheckOptions,
    facts: Vec<SampleFacts>,
    mut errors: Vec<String>,
) -> CheckReport {
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut values: BTreeMap<u32, ValueCount> = BTreeMap::new();
    let mut sizes: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut sixteen_bit = Vec::new();
    for f in &facts {
        errors.extend(f.errors.iter().cloned());
        warnings.extend(f.warnings.iter().cloned());
        if let Some(size) = f.size {
            *sizes.entry(size).or_default() += 1;
        }
        if f.label_depth == 16 {
            sixteen_bit.push(f.stem.clone());
        }
        for &(v, n) in &f.counts {
            let c = values.entry(v).or_insert(ValueCount {
                value: v,
                pixels: 0,
                files: 0,
            });
            c.pixels += n;
            c.files += 1;
        }
    }
    if !sixteen_bit.is_empty() {
        warnings.push(format!(
            "{} label map(s) are 16-bit ({}); the reference's dataset code multiplies ToTensor's output by 255, which gives back \
             the class only for 8-bit maps: with more than 255 classes, change `transform_label(label) * 255.0` in \
             data/pix2pix_dataset.py (easel reads both)",
            sixteen_bit.len(),
            some_names(&sixteen_bit, 5)
        ));
    }
    let mut sizes: Vec<((usize, usize), usize)> = sizes.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let classes = options
        .classes
        .clone()
        .or_else(|| table_beside(&options.label_dir));
    let has_255 = values.contains_key(&DONTCARE_VALUE);
    let largest_class = values
        .keys()
        .copied()
        .filter(|&v| v != DONTCARE_VALUE)
        .max();
    let (label_nc, source) = match (options.label_nc, &classes) {
        (Some(n), _) => (n, "given with --label_nc".to_string()),
        (None, Some(t)) => (t.classes.len(), format!("the class table {}", t.source)),
        (None, None) => {
            let n = largest_class.map_or(1, |m| m as usize + 1);
            (n, "the largest value in the maps; pass --label_nc or --classes if the last classes never occur".into())
        }
    };
    // 255 names a class only when there are more than 255 classes.
    let dontcare = has_255 && label_nc <= DONTCARE_VALUE as usize;
    if dontcare {
        let c = &values[&DONTCARE_VALUE];
        notes.push(format!(
            "255 (dontcare) covers {} pixels in {} file(s): train with --contain_dontcare_label",
            c.pixels, c.files
        ));
    }
    let out_of_range: Vec<&ValueCount> = values
        .values()
        .filter(|c| c.value as usize >= label_nc && !(dontcare && c.value == DONTCARE_VALUE))
        .collect();
    if !out_of_range.is_empty() {
        let listed: Vec<String> = out_of_range
            .iter()
            .map(|c| format!("{} ({} pixels in {} files)", c.value, c.pixels, c.files))
            .collect();
        let files: Vec<String> = facts
            .iter()
            .filter(|f| {
                f.counts
                    .iter()
                    .any(|(v, _)| out_of_range.iter().any(|c| c.value == *v))
            })
            .map(|f| f.stem.clone())
            .collect();
        errors.push(format!(
            "values {} are not below label_nc {label_nc} ({source}), in {}; fix the maps or the class count",
            some_names(&listed, 10),
            some_names(&files, 10)
        ));
    }
    let unused: Vec<String> = (0..label_nc as u32)
        .filter(|v| !values.contains_key(v))
        .map(
            |v| match classes.as_ref().and_then(|t| t.classes.get(v as usize)) {
                Some(c) => format!("{v} ({})", c.name),
                None => v.to_string(),
            },
        )
        .collect();
    if !unused.is_empty() && !facts.is_empty() {
        notes.push(format!(
            "{} of the {label_nc} class ids never occur: {}; training still gives them a channel, so renumber if they are not real classes",
            unused.len(),
            some_names(&unused, 20)
        ));
    }
    notes.push(format!("label_nc {label_nc}: from {source}"));

    let flags = (!sizes.is_empty()).then(|| {
        let (mode, aspect_ratio, load_size, crop_size, reasons) = suggest_preprocessing(&sizes);
        TrainingFlags {
            label_nc,
            contain_dontcare_label: dontcare,
            no_instance: options.instance_dir.is_none(),
            preprocess_mode: mode,
            aspect_ratio,
            load_size,
            crop_size,
            reasons,
        }
    });
    let command = flags.as_ref().map(|f| {
        let instance = options
            .instance_dir
            .as_ref()
            .map_or_else(String::new, |d| format!(" --instance_dir {}", d.display()));
        format!(
            "python train.py --dataset_mode custom --label_dir {} --image_dir {}{instance} {}",
            options.label_dir.display(),
            options.image_dir.display(),
            f.args()
        )
    });
    CheckReport {
        samples: facts.len(),
        errors,
        warnings,
        notes,
        sizes,
        histogram: values.into_values().collect(),
        classes,
        flags,
        command,
    }
}
