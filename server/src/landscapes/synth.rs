//! `easel dataset synth`: renders procedural landscapes into the reference
//! SPADE custom-dataset layout (`train_label/`, `train_img/`, `test_label/`,
//! `test_img/`), in parallel, each scene a pure function of (seed, index).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use rayon::prelude::*;

use super::noise::mix64;
use super::scene::{Kind, TimeOfDay};
use super::{compose, paint, CLASS_COUNT};
use crate::package::classes::ClassTable;
use crate::progress::ProgressBar;

pub const MIN_SIZE: u32 = 32;
pub const MAX_SIZE: u32 = 2048;
pub const JPEG_QUALITY: u8 = 92;

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub out: PathBuf,
    pub count: usize,
    pub size: u32,
    pub seed: u64,
    /// Share of scenes for the test split: the last round(count × fraction) ids.
    pub test_fraction: f64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// How each scene is framed; None: the composer's whole square frame
    /// of `size`, as before framing existed (byte for byte).
    pub framing: Option<Framing>,
}

/// A view cut from each scene: `width` × `height` pixels out of a render up
/// to `zoom` times larger than the window (close-ups of the scene's
/// ground, trees and shores; the page's 2:1 and 3:2 canvases).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    pub width: u32,
    pub height: u32,
    pub zoom: f32,
}

impl Framing {
    fn is_whole(&self) -> bool {
        self.width == self.height && self.zoom <= 1.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("--count must be at least 1")]
    NoScenes,
    #[error("--size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {0}")]
    Size(u32),
    #[error("--zoom must be between 1 and 8 (and the zoomed render at most 4096 pixels a side), got {0}")]
    Zoom(f32),
    #[error("--test-fraction must be between 0 and 1, got {0}")]
    TestFraction(f64),
    #[error("--out {0} exists and is not a folder")]
    OutNotFolder(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path}: {source}")]
    Encode {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no label maps (*.png)")]
    NoMaps(PathBuf),
    #[error("{path}: {reason}")]
    Map { path: PathBuf, reason: String },
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        threads: usize,
        source: rayon::ThreadPoolBuildError,
    },
}

/// One rendered scene: a label map of class indices and its RGB image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landscape {
    pub kind: Kind,
    pub time: TimeOfDay,
    pub width: u32,
    pub height: u32,
    pub label: Vec<u8>,
    pub rgb: Vec<u8>,
}

/// The seed of scene `index` of a dataset made with `seed`.
pub fn scene_seed(seed: u64, index: usize) -> u64 {
    mix64(mix64(seed) ^ index as u64)
}

/// Renders scene `index` of the dataset made with `seed`.
pub fn render(seed: u64, index: usize, size: u32) -> Landscape {
    let plan = compose::plan(scene_seed(seed, index));
    let canvas = paint::paint(&plan, size as usize);
    let rgb = canvas
        .rgb
        .iter()
        .flat_map(|c| c.map(|ch| (ch * 255.0 + 0.5) as u8))
        .collect();
    Landscape {
        kind: plan.kind,
        time: plan.light.time,
        width: size,
        height: size,
        label: canvas.label,
        rgb,
    }
}

/// Scene `index` as `framing` views it: the whole frame, or a window cut
/// from a render zoomed by a factor drawn in 1..=zoom (its own random
/// stream: the scene's plan is the same as unframed), placed at random
/// across and mostly below the top third, where the land is.
pub fn render_framed(seed: u64, index: usize, framing: Framing) -> Landscape {
    if framing.is_whole() {
        return render(seed, index, framing.width);
    }
    let (w, h) = (framing.width as usize, framing.height as usize);
    let mut rng = crate::random::Rng::new(mix64(scene_seed(seed, index) ^ 0x7669_6577));
    let zoom = 1.0 + rng.unit() * (framing.zoom.max(1.0) - 1.0);
    let big = ((w.max(h) as f32 * zoom).ceil() as usize).max(w.max(h));
    let whole = render(seed, index, big as u32);
    let x0 = rng.int(0, big - w);
    let y0 = ((big - h) as f32 * (0.35 + 0.65 * rng.unit())).round() as usize;
    let mut label = Vec::with_capacity(w * h);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in y0..y0 + h {
        let row = y * big + x0;
        label.extend_from_slice(&whole.label[row..row + w]);
        rgb.extend_from_slice(&whole.rgb[row * 3..(row + w) * 3]);
    }
    Landscape {
        width: w as u32,
        height: h as u32,
        label,
        rgb,
        ..whole
    }
}

/// How many scenes go to the test split: the last round(count × fraction).
pub fn test_count(count: usize, fraction: f64) -> usize {
    ((count as f64 * fraction).round() as usize).min(count)
}

/// How often each class occurs: pixels, and scenes that contain it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassStats {
    pub pixels: [u64; CLASS_COUNT],
    pub scenes: [u64; CLASS_COUNT],
    pub total_pixels: u64,
    pub total_scenes: u64,
}

impl ClassStats {
    pub fn add(&mut self, landscape: &Landscape) {
        let mut counts = [0u64; CLASS_COUNT];
        for &l in &landscape.label {
            counts[l as usize] += 1;
        }
        for (i, n) in counts.iter().enumerate() {
            self.pixels[i] += n;
            self.scenes[i] += (*n > 0) as u64;
        }
        self.total_pixels += landscape.label.len() as u64;
        self.total_scenes += 1;
    }

    fn merge(&mut self, other: &Self) {
        for i in 0..CLASS_COUNT {
            self.pixels[i] += other.pixels[i];
            self.scenes[i] += other.scenes[i];
        }
        self.total_pixels += other.total_pixels;
        self.total_scenes += other.total_scenes;
    }

    /// A table: class, share of pixels, share of scenes.
    pub fn table(&self, classes: &ClassTable) -> String {
        let mut s = String::from("class        pixels   scenes\n");
        for (i, c) in classes.classes.iter().enumerate().take(CLASS_COUNT) {
            s += &format!(
                "{:2} {:9} {:6.2}%  {:6.1}%\n",
                i,
                c.name,
                100.0 * self.pixels[i] as f64 / self.total_pixels.max(1) as f64,
                100.0 * self.scenes[i] as f64 / self.total_scenes.max(1) as f64
            );
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct SynthReport {
    pub train: usize,
    pub test: usize,
    pub threads: usize,
    pub seconds: f64,
    pub stats: ClassStats,
}

pub fn landscape_classes() -> ClassTable {
    ClassTable::builtin("landscapes").expect("the landscapes table is built in")
}

fn validate(opts: &SynthOptions) -> Result<(), SynthError> {
    if opts.count == 0 {
        return Err(SynthError::NoScenes);
    }
    if !(MIN_SIZE..=MAX_SIZE).contains(&opts.size) {
        return Err(SynthError::Size(opts.size));
    }
    if !(0.0..=1.0).contains(&opts.test_fraction) {
        return Err(SynthError::TestFraction(opts.test_fraction));
    }
    if let Some(f) = opts.framing {
        for side in [f.width, f.height] {
            if !(MIN_SIZE..=MAX_SIZE).contains(&side) {
                return Err(SynthError::Size(side));
            }
        }
        let largest = f.width.max(f.height) as f32 * f.zoom;
        if !(1.0..=8.0).contains(&f.zoom) || largest > MAX_SIZE as f32 * 2.0 {
            return Err(SynthError::Zoom(f.zoom));
        }
    }
    if opts.out.exists() && !opts.out.is_dir() {
        return Err(SynthError::OutNotFolder(opts.out.clone()));
    }
    Ok(())
}

pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|source| SynthError::Write {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn create_dir(path: &Path) -> Result<(), SynthError> {
    std::fs::create_dir_all(path).map_err(|source| SynthError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The label map as an 8-bit grayscale PNG of class indices.
pub fn label_png(l: &Landscape) -> Result<Vec<u8>, image::ImageError> {
    encode_label(&l.label, l.width, l.height)
}

pub fn image_jpeg(l: &Landscape) -> Result<Vec<u8>, image::ImageError> {
    encode_jpeg(&l.rgb, l.width, l.height)
}

fn encode_label(label: &[u8], width: u32, height: u32) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(label, width, height, ExtendedColorType::L8)?;
    Ok(out)
}

fn encode_jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(
        rgb,
        width,
        height,
        ExtendedColorType::Rgb8,
    )?;
    Ok(out.into_inner())
}

fn write_pair(out: &Path, split: &str, index: usize, l: &Landscape) -> Result<(), SynthError> {
    let name = format!("{index:06}");
    write_named_pair(out, split, &name, (&l.label, &l.rgb), (l.width, l.height))
}

/// `{split}_label/{name}.png` and `{split}_img/{name}.jpg` of one pair.
pub(super) fn write_named_pair(
    out: &Path,
    split: &str,
    name: &str,
    (label, rgb): (&[u8], &[u8]),
    (width, height): (u32, u32),
) -> Result<(), SynthError> {
    let label_path = out.join(format!("{split}_label/{name}.png"));
    let img_path = out.join(format!("{split}_img/{name}.jpg"));
    let encoded = |path: &Path, r: Result<Vec<u8>, image::ImageError>| {
        r.map_err(|source| SynthError::Encode {
            path: path.to_owned(),
            source,
        })
    };
    write(
        &label_path,
        &encoded(&label_path, encode_label(label, width, height))?,
    )?;
    write(
        &img_path,
        &encoded(&img_path, encode_jpeg(rgb, width, height))?,
    )
}

fn readme(opts: &SynthOptions, test: usize) -> String {
    let mut text = readme_whole(opts, test);
    if let Some(f) = opts.framing {
        text.push_str(&format!(
            "\nframing: each image is a {}x{} window cut from the scene rendered up to {} times larger \
             (--crop {}x{} --zoom {})\n",
            f.width, f.height, f.zoom, f.width, f.height, f.zoom
        ));
    }
    text
}

fn readme_whole(opts: &SynthOptions, test: usize) -> String {
    let train = opts.count - test;
    format!(
        "Synthetic landscapes from easel's procedural renderer.\n\
         \n\
         command: easel dataset synth --out {out} --count {count} --size {size} --seed {seed} --test-fraction {fraction}\n\
         seed: {seed}\n\
         scenes: {count} ({train} train, {test} test: the test split is the last {test} ids)\n\
         \n\
         train_label/<id>.png, test_label/<id>.png: 8-bit grayscale class indices 0..{last} (classes.tsv)\n\
         train_img/<id>.jpg, test_img/<id>.jpg: {size}x{size} RGB, JPEG quality {JPEG_QUALITY}\n\
         scenes.tsv: each scene's id, split, kind and light (noon, golden-hour, overcast, dawn)\n\
         \n\
         Reference SPADE: python train.py --dataset_mode custom --label_nc {nc} --no_instance \\\n\
         \x20   --label_dir {out}/train_label --image_dir {out}/train_img\n",
        out = opts.out.display(),
        count = opts.count,
        size = opts.size,
        seed = opts.seed,
        fraction = opts.test_fraction,
        last = CLASS_COUNT - 1,
        nc = CLASS_COUNT,
    )
}

/// One line per scene: its id, split, kind and light (what a style preset
/// or a light classifier learns from).
fn scenes_tsv(opts: &SynthOptions, test: usize) -> String {
    let mut out = String::from("# id\tsplit\tkind\tlight\n");
    for i in 0..opts.count {
        let scene = compose::plan(scene_seed(opts.seed, i));
        let split = if i >= opts.count - test {
            "test"
        } else {
            "train"
        };
        out.push_str(&format!(
            "{i:06}\t{split}\t{}\t{}\n",
            scene.kind.name(),
            scene.light.time.name()
        ));
    }
    out
}

/// Renders and writes the whole dataset, `opts.threads` scenes at a time.
pub fn write_dataset(opts: &SynthOptions) -> Result<SynthReport, SynthError> {
    write_scenes(opts, false)
}

/// As [`write_dataset`], with a progress bar over the scenes on stderr.
pub fn write_dataset_with_progress(opts: &SynthOptions) -> Result<SynthReport, SynthError> {
    write_scenes(opts, true)
}

fn write_scenes(opts: &SynthOptions, progress: bool) -> Result<SynthReport, SynthError> {
    validate(opts)?;
    let started = Instant::now();
    let test = test_count(opts.count, opts.test_fraction);
    for dir in ["train_label", "train_img", "test_label", "test_img"] {
        create_dir(&opts.out.join(dir))?;
    }
    let table = landscape_classes();
    write(&opts.out.join("classes.tsv"), table.to_tsv().as_bytes())?;
    write(&opts.out.join("README.txt"), readme(opts, test).as_bytes())?;
    write(
        &opts.out.join("scenes.tsv"),
        scenes_tsv(opts, test).as_bytes(),
    )?;

    let threads = crate::cores::threads(opts.threads).min(opts.count);
    // A pool of its own, not rayon's global one, so that `threads` holds.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| SynthError::Threads { threads, source })?;
    let first_test = opts.count - test;
    let bar = progress.then(|| ProgressBar::new(opts.count, "scenes"));
    // Stops at the first scene that cannot be written.
    let stats = pool.install(|| {
        (0..opts.count)
            .into_par_iter()
            .try_fold(ClassStats::default, |mut stats, i| {
                let landscape = match opts.framing {
                    Some(framing) => render_framed(opts.seed, i, framing),
                    None => render(opts.seed, i, opts.size),
                };
                let split = if i >= first_test { "test" } else { "train" };
                write_pair(&opts.out, split, i, &landscape)?;
                stats.add(&landscape);
                if let Some(bar) = &bar {
                    bar.advance();
                }
                Ok(stats)
            })
            .try_reduce(ClassStats::default, |mut total, part| {
                total.merge(&part);
                Ok(total)
            })
    });
    if let Some(bar) = bar {
        bar.finish();
    }
    let stats = stats?;
    Ok(SynthReport {
        train: opts.count - test,
        test,
        threads,
        seconds: started.elapsed().as_secs_f64(),
        stats,
    })
}

/// A grid of `scenes` label maps (in the class colours) each beside its
/// image, three pairs to a row, for looking at what the renderer makes.
pub fn contact_sheet(seed: u64, size: u32, scenes: usize) -> RgbImage {
    let table = landscape_classes();
    let colours: Vec<[u8; 3]> = table.classes.iter().map(|c| c.rgb()).collect();
    let per_row = 3;
    let gap = 4;
    let rows = scenes.div_ceil(per_row) as u32;
    let cell = size + gap;
    let mut sheet = RgbImage::from_pixel(
        per_row as u32 * 2 * cell + gap,
        rows * cell + gap,
        image::Rgb([255, 255, 255]),
    );
    for i in 0..scenes {
        let l = render(seed, i, size);
        let (col, row) = ((i % per_row) as u32, (i / per_row) as u32);
        let (x0, y0) = (gap + col * 2 * cell, gap + row * cell);
        for y in 0..size {
            for x in 0..size {
                let p = (y * size + x) as usize;
                let c = colours[l.label[p] as usize];
                sheet.put_pixel(x0 + x, y0 + y, image::Rgb(c));
                let rgb = [l.rgb[3 * p], l.rgb[3 * p + 1], l.rgb[3 * p + 2]];
                sheet.put_pixel(x0 + size + x, y0 + y, image::Rgb(rgb));
            }
        }
    }
    sheet
}
