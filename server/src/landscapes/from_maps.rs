//! `easel dataset render-maps`: a training set from label maps drawn
//! elsewhere (painted, simplified, laid out like photographs), each paired
//! with a photo the map-first renderer makes for it (`mapfirst`), in the
//! layout `easel dataset synth` writes. Every map is checked before any
//! photo is rendered; photo i is a pure function of (seed, the map, i).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use super::synth::{
    create_dir, landscape_classes, scene_seed, test_count, write, write_named_pair, SynthError,
};
use super::{mapfirst, CLASS_COUNT};
use crate::package::map_png::decode_png;
use crate::package::maps::DEFAULT_MAX_PIXELS;
use crate::progress::ProgressBar;

#[derive(Debug, Clone)]
pub struct RenderMapsOptions {
    /// A folder of 8-bit label maps (PNG) in the landscapes classes.
    pub maps: PathBuf,
    pub out: PathBuf,
    pub seed: u64,
    /// Share of maps for the test split: the last round(count × fraction) by name.
    pub test_fraction: f64,
    pub threads: usize,
}

#[derive(Debug)]
pub struct RenderMapsReport {
    pub train: usize,
    pub test: usize,
    pub threads: usize,
    pub seconds: f64,
}

/// One map, read and checked.
struct Map {
    stem: String,
    width: usize,
    height: usize,
    label: Vec<u8>,
}

/// The maps of `dir` (`*.png`, by name), each a grey map of class indices
/// below the landscapes table's 12.
fn read_maps(dir: &Path) -> Result<Vec<Map>, SynthError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SynthError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(SynthError::NoMaps(dir.to_owned()));
    }
    paths
        .iter()
        .map(|path| {
            let bad = |reason: String| SynthError::Map {
                path: path.clone(),
                reason,
            };
            let bytes = std::fs::read(path).map_err(|source| SynthError::Read {
                path: path.clone(),
                source,
            })?;
            let png = decode_png(&bytes, "label map", DEFAULT_MAX_PIXELS)
                .map_err(|e| bad(e.to_string()))?;
            if png.channels != 1 {
                return Err(bad(format!(
                    "it has {} channels; a label map is one grey channel of class indices \
                     (`easel dataset convert` turns colour maps into them)",
                    png.channels
                )));
            }
            if let Some(at) = png.samples.iter().position(|&v| v as usize >= CLASS_COUNT) {
                return Err(bad(format!(
                    "value {} at ({}, {}); landscape maps hold classes 0–{} (classes.tsv)",
                    png.samples[at],
                    at % png.width,
                    at / png.width,
                    CLASS_COUNT - 1
                )));
            }
            Ok(Map {
                stem: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                width: png.width,
                height: png.height,
                label: png.samples.iter().map(|&v| v as u8).collect(),
            })
        })
        .collect()
}

/// Renders a photo for every map of `opts.maps` and writes the pairs.
pub fn write_rendered_maps(
    opts: &RenderMapsOptions,
    progress: bool,
) -> Result<RenderMapsReport, SynthError> {
    if !(0.0..=1.0).contains(&opts.test_fraction) {
        return Err(SynthError::TestFraction(opts.test_fraction));
    }
    if opts.out.exists() && !opts.out.is_dir() {
        return Err(SynthError::OutNotFolder(opts.out.clone()));
    }
    let started = Instant::now();
    let maps = read_maps(&opts.maps)?;
    let test = test_count(maps.len(), opts.test_fraction);
    let first_test = maps.len() - test;
    for dir in ["train_label", "train_img", "test_label", "test_img"] {
        create_dir(&opts.out.join(dir))?;
    }
    write(
        &opts.out.join("classes.tsv"),
        landscape_classes().to_tsv().as_bytes(),
    )?;
    write(
        &opts.out.join("README.txt"),
        format!(
            "Photos rendered by easel's map-first renderer for the label maps of {}.\n\n\
             command: easel dataset render-maps --maps {} --out {} --seed {} --test-fraction {}\n\
             maps: {} ({} train, {test} test: the test split is the last {test} by name)\n",
            opts.maps.display(),
            opts.maps.display(),
            opts.out.display(),
            opts.seed,
            opts.test_fraction,
            maps.len(),
            first_test,
        )
        .as_bytes(),
    )?;
    let threads = crate::cores::threads(opts.threads).min(maps.len());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| SynthError::Threads { threads, source })?;
    let bar = progress.then(|| ProgressBar::new(maps.len(), "maps"));
    let lights: Result<Vec<String>, SynthError> = pool.install(|| {
        maps.par_iter()
            .enumerate()
            .map(|(i, map)| {
                let split = if i >= first_test { "test" } else { "train" };
                let photo =
                    mapfirst::render(&map.label, map.width, map.height, scene_seed(opts.seed, i));
                let size = (map.width as u32, map.height as u32);
                write_named_pair(&opts.out, split, &map.stem, (&map.label, &photo.rgb), size)?;
                if let Some(bar) = &bar {
                    bar.advance();
                }
                Ok(format!(
                    "{}\t{split}\tmap-first\t{}\n",
                    map.stem,
                    photo.time.name()
                ))
            })
            .collect()
    });
    if let Some(bar) = bar {
        bar.finish();
    }
    let mut scenes = String::from("# id\tsplit\tkind\tlight\n");
    scenes.extend(lights?);
    write(&opts.out.join("scenes.tsv"), scenes.as_bytes())?;
    Ok(RenderMapsReport {
        train: first_test,
        test,
        threads,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ExtendedColorType, ImageEncoder};

    fn map_png(dir: &Path, name: &str, values: &[u8], w: u32) {
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(values, w, values.len() as u32 / w, ExtendedColorType::L8)
            .unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }

    #[test]
    fn every_map_gets_a_photo_of_its_size_and_the_light_is_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let maps = tmp.path().join("maps");
        std::fs::create_dir(&maps).unwrap();
        let lake: Vec<u8> = (0..48 * 32)
            .map(|i| if i < 48 * 12 { 0 } else { 9 })
            .collect();
        map_png(&maps, "a-lake.png", &lake, 48);
        map_png(&maps, "b-forest.png", &[7; 64 * 32], 64);
        let opts = RenderMapsOptions {
            maps,
            out: tmp.path().join("set"),
            seed: 5,
            test_fraction: 0.5,
            threads: 2,
        };
        let report = write_rendered_maps(&opts, false).unwrap();
        assert_eq!((report.train, report.test), (1, 1));
        let photo = image::open(opts.out.join("train_img/a-lake.jpg")).unwrap();
        assert_eq!((photo.width(), photo.height()), (48, 32));
        assert!(opts.out.join("test_label/b-forest.png").is_file());
        let scenes = std::fs::read_to_string(opts.out.join("scenes.tsv")).unwrap();
        assert!(scenes.contains("a-lake\ttrain\tmap-first\t"), "{scenes}");
        assert_eq!(scenes.lines().count(), 3);
    }

    #[test]
    fn a_value_past_the_classes_is_refused_with_where_it_is_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let maps = tmp.path().join("maps");
        std::fs::create_dir(&maps).unwrap();
        let mut values = vec![0u8; 16 * 16];
        values[16 * 3 + 5] = 12;
        map_png(&maps, "bad.png", &values, 16);
        let opts = RenderMapsOptions {
            maps,
            out: tmp.path().join("set"),
            seed: 0,
            test_fraction: 0.0,
            threads: 1,
        };
        let e = write_rendered_maps(&opts, false).unwrap_err().to_string();
        assert!(
            e.contains("bad.png") && e.contains("value 12 at (5, 3)"),
            "{e}"
        );
        assert!(!opts.out.exists());
    }
}
