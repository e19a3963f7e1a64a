//! `easel dataset check`: reads a dataset in the reference's custom layout
//! (label maps, photos, optional instance maps paired by name) and reports
//! what would go wrong in training, and the training flags that fit it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::files::{file_name, some_names};
use super::pairing::{
    self, Folder, PairingError, IMAGE_EXTENSIONS, INSTANCE_EXTENSIONS, LABEL_EXTENSIONS,
};
use super::workers::{self, WorkOptions};
use crate::package::classes::ClassTable;
use crate::package::map_png::decode_png;
use crate::package::maps::DONTCARE_VALUE;

/// How many problems of one kind the report prints.
const SHOWN: usize = 30;

/// Aspect ratios closer than this (relative) count as the same.
const RATIO_TOLERANCE: f64 = 0.01;

/// The reference's crop for square data, and the load size it pairs with.
const SQUARE_CROP: usize = 256;
const SQUARE_LOAD: usize = 286;

/// The largest crop suggested for non-square data (the reference trains
/// Cityscapes at 512 × 256).
const MAX_FIXED_CROP: usize = 512;

/// The generator's latent grid is the crop divided by 2⁵ (normal upsampling).
const LATENT_STRIDE: usize = 32;

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

/// Pixels and files of one label value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: u32,
    pub pixels: u64,
    pub files: usize,
}

/// The reference training flags that fit the data, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingFlags {
    pub label_nc: usize,
    pub contain_dontcare_label: bool,
    pub no_instance: bool,
    pub preprocess_mode: &'static str,
    pub aspect_ratio: f64,
    pub load_size: usize,
    pub crop_size: usize,
    pub reasons: Vec<String>,
}

impl TrainingFlags {
    pub fn args(&self) -> String {
        let mut s = format!("--label_nc {}", self.label_nc);
        if self.contain_dontcare_label {
            s += " --contain_dontcare_label";
        }
        if self.no_instance {
            s += " --no_instance";
        }
        let ratio = format!("{:.4}", self.aspect_ratio);
        let ratio = ratio.trim_end_matches('0').trim_end_matches('.');
        write!(
            s,
            " --preprocess_mode {} --aspect_ratio {ratio} --load_size {} --crop_size {}",
            self.preprocess_mode, self.load_size, self.crop_size
        )
        .ok();
        s
    }
}

#[derive(Debug, Clone)]
pub struct CheckReport {
    pub samples: usize,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Label map sizes, most common first.
    pub sizes: Vec<((usize, usize), usize)>,
    /// Every label value that occurs, in value order.
    pub histogram: Vec<ValueCount>,
    pub classes: Option<ClassTable>,
    pub flags: Option<TrainingFlags>,
    pub command: Option<String>,
}

/// Reduced width:height.
fn ratio_name(w: usize, h: usize) -> String {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(w, h).max(1);
    format!("{}:{}", w / g, h / g)
}

fn same_ratio(a: f64, b: f64) -> bool {
    (a / b - 1.0).abs() <= RATIO_TOLERANCE
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

/// The preprocessing that fits the label map sizes, as the reference
/// trains: square crops need square data (or `*_and_crop` modes that keep a
/// square window), other shapes a fixed resize to one aspect ratio.
pub fn suggest_preprocessing(
    sizes: &[((usize, usize), usize)],
) -> (&'static str, f64, usize, usize, Vec<String>) {
    let Some(&((w0, h0), _)) = sizes.first() else {
        return ("resize_and_crop", 1.0, SQUARE_LOAD, SQUARE_CROP, Vec::new());
    };
    let ratio = w0 as f64 / h0 as f64;
    let min_width = sizes.iter().map(|((w, _), _)| *w).min().unwrap_or(w0);
    let min_side = sizes
        .iter()
        .map(|((w, h), _)| *w.min(h))
        .min()
        .unwrap_or(w0.min(h0));
    let uniform = sizes
        .iter()
        .all(|((w, h), _)| same_ratio(*w as f64 / *h as f64, ratio));
    let square_crop = (min_side / LATENT_STRIDE * LATENT_STRIDE).clamp(LATENT_STRIDE, SQUARE_CROP);
    let square_load = (square_crop * SQUARE_LOAD).div_ceil(SQUARE_CROP);
    let mut why = Vec::new();
    if square_crop < SQUARE_CROP {
        why.push(format!(
            "crop_size {square_crop}: the smallest map side is {min_side}, under the usual {SQUARE_CROP}"
        ));
    }
    if uniform && same_ratio(ratio, 1.0) {
        why.insert(
            0,
            "preprocess_mode resize_and_crop: every map is square, so resizing keeps its shape and random square crops augment".into(),
        );
        return ("resize_and_crop", 1.0, square_load, square_crop, why);
    }
    if uniform {
        // A crop whose latent grid is whole in both directions, so that the
        // generator's output is exactly the size of the resized map.
        let fits = |crop: usize| {
            let latent_h = ((crop / LATENT_STRIDE) as f64 / ratio).round() as usize;
            (crop as f64 / ratio).round() as usize == latent_h * LATENT_STRIDE && latent_h > 0
        };
        let largest = (min_width.min(MAX_FIXED_CROP) / LATENT_STRIDE).max(1) * LATENT_STRIDE;
        let crop = (1..=largest / LATENT_STRIDE)
            .rev()
            .map(|k| k * LATENT_STRIDE)
            .find(|&c| fits(c));
        let mut why = vec![format!(
            "preprocess_mode fixed: every map is {} ({ratio:.4}), not square; the reference's crops are square, \
             so it trains non-square data resized whole to crop_size × crop_size/aspect_ratio, as it does Cityscapes",
            ratio_name(w0, h0)
        )];
        let crop = match crop {
            Some(c) => {
                why.push(format!(
                    "crop_size {c}: the largest width up to {MAX_FIXED_CROP} (and the maps' {min_width}) whose height {} is a multiple of {LATENT_STRIDE}, so the generator's output matches the resized map",
                    (c as f64 / ratio).round()
                ));
                c
            }
            None => {
                let c = square_crop;
                why.push(format!(
                    "crop_size {c}: no width up to {MAX_FIXED_CROP} gives a height that is a multiple of {LATENT_STRIDE} at this aspect ratio; the generator's output may be a row off, so consider cropping the data to a rounder ratio"
                ));
                c
            }
        };
        return ("fixed", ratio, crop, crop, why);
    }
    why.insert(
        0,
        "preprocess_mode scale_shortside_and_crop: the maps have different shapes; scaling the short side to load_size keeps each shape \
         and leaves room for every square crop (scale_width_and_crop would pad wide images with class 0, resize_and_crop would squash them)"
            .into(),
    );
    (
        "scale_shortside_and_crop",
        1.0,
        square_load,
        square_crop,
        why,
    )
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

impl CheckReport {
    /// The report for a person: sizes, histogram, problems, flags.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let total_pixels: u64 = self.histogram.iter().map(|c| c.pixels).sum();
        writeln!(s, "samples: {}", self.samples).ok();
        if let Some(((w, h), _)) = self.sizes.first() {
            let sizes: Vec<String> = self
                .sizes
                .iter()
                .take(5)
                .map(|((w, h), n)| format!("{w}×{h} ({n})"))
                .collect();
            let more = match self.sizes.len() {
                k if k > 5 => format!(" and {} more sizes", k - 5),
                _ => String::new(),
            };
            writeln!(s, "sizes: {}{more}", sizes.join(", ")).ok();
            let ratio = *w as f64 / *h as f64;
            let same: usize = self
                .sizes
                .iter()
                .filter(|((w, h), _)| same_ratio(*w as f64 / *h as f64, ratio))
                .map(|(_, n)| n)
                .sum();
            writeln!(
                s,
                "aspect ratio: {ratio:.4} ({}) in {same} of {} maps",
                ratio_name(*w, *h),
                self.samples
            )
            .ok();
        }
        if !self.histogram.is_empty() {
            writeln!(
                s,
                "class histogram:\n  value  class                 pixels   files"
            )
            .ok();
            for c in &self.histogram {
                let name = if c.value == DONTCARE_VALUE
                    && self
                        .flags
                        .as_ref()
                        .is_some_and(|f| f.contain_dontcare_label)
                {
                    "(dontcare)".to_string()
                } else {
                    self.classes
                        .as_ref()
                        .and_then(|t| t.classes.get(c.value as usize))
                        .map_or_else(String::new, |c| c.name.clone())
                };
                writeln!(
                    s,
                    "  {:>5}  {:<20} {:>7.3}%  {:>6}",
                    c.value,
                    name,
                    100.0 * c.pixels as f64 / total_pixels.max(1) as f64,
                    c.files
                )
                .ok();
            }
        }
        for note in &self.notes {
            writeln!(s, "note: {note}").ok();
        }
        for (what, list) in [("warning", &self.warnings), ("error", &self.errors)] {
            for line in list.iter().take(SHOWN) {
                writeln!(s, "{what}: {line}").ok();
            }
            if list.len() > SHOWN {
                writeln!(s, "{what}: … and {} more", list.len() - SHOWN).ok();
            }
        }
        if let Some(flags) = &self.flags {
            writeln!(s, "\ntraining flags: {}", flags.args()).ok();
            for reason in &flags.reasons {
                writeln!(s, "  {reason}").ok();
            }
        }
        if let Some(command) = &self.command {
            writeln!(s, "{command}").ok();
        }
        writeln!(
            s,
            "\n{} error(s), {} warning(s)",
            self.errors.len(),
            self.warnings.len()
        )
        .ok();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_maps_get_the_reference_resize_and_crop() {
        let (mode, ratio, load, crop, _) =
            suggest_preprocessing(&[((512, 512), 3), ((300, 300), 1)]);
        assert_eq!(
            (mode, ratio, load, crop),
            ("resize_and_crop", 1.0, 286, 256)
        );
    }

    #[test]
    fn one_non_square_shape_gets_a_fixed_resize_whose_height_fits_the_generator() {
        let (mode, ratio, load, crop, _) = suggest_preprocessing(&[((960, 720), 10)]);
        assert_eq!((mode, load, crop), ("fixed", 512, 512));
        assert!((ratio - 4.0 / 3.0).abs() < 1e-9);
        let (mode, _, _, crop, _) = suggest_preprocessing(&[((2048, 1024), 2), ((1024, 512), 1)]);
        assert_eq!((mode, crop), ("fixed", 512));
    }

    #[test]
    fn mixed_shapes_keep_their_shape_and_crop_squares() {
        let (mode, ratio, load, crop, _) =
            suggest_preprocessing(&[((640, 480), 2), ((480, 640), 1)]);
        assert_eq!(
            (mode, ratio, load, crop),
            ("scale_shortside_and_crop", 1.0, 286, 256)
        );
    }

    #[test]
    fn small_maps_get_a_smaller_crop() {
        let (_, _, load, crop, why) = suggest_preprocessing(&[((100, 100), 1)]);
        assert_eq!((load, crop), (108, 96));
        assert!(why.iter().any(|w| w.contains("smallest map side is 100")));
    }

    #[test]
    fn flags_print_as_the_reference_spells_them() {
        let flags = TrainingFlags {
            label_nc: 32,
            contain_dontcare_label: true,
            no_instance: true,
            preprocess_mode: "fixed",
            aspect_ratio: 4.0 / 3.0,
            load_size: 512,
            crop_size: 512,
            reasons: Vec::new(),
        };
        assert_eq!(
            flags.args(),
            "--label_nc 32 --contain_dontcare_label --no_instance --preprocess_mode fixed --aspect_ratio 1.3333 --load_size 512 --crop_size 512"
        );
    }
}
