//! `easel dataset convert | instances | split | check`, run as the binary on
//! small annotations the tests draw, with the CamVid palette of the shared
//! fixtures.

mod check;
mod convert;
mod instances;
mod split;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use easel::package::classes::ClassTable;
use easel::package::maps::{decode_png, RawPng, DEFAULT_MAX_PIXELS};

use crate::support::png::png_gray;
use crate::support::{read, shared_fixtures, write_file};

const W: u32 = 12;
const H: u32 = 8;

fn camvid_palette() -> PathBuf {
    shared_fixtures().join("classes/camvid-32-label_colors.txt")
}

fn camvid() -> ClassTable {
    ClassTable::load(camvid_palette().to_str().unwrap()).unwrap()
}

fn easel(args: &[&dyn AsRef<OsStr>]) -> Output {
    run(args.iter().map(|a| a.as_ref()))
}

fn run(args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Output {
    crate::support::easel()
        .args(args)
        .env("EASEL_THREADS", "2")
        .output()
        .expect("the easel binary runs")
}

fn read_png(path: &Path) -> RawPng {
    decode_png(&read(path), "map", DEFAULT_MAX_PIXELS).unwrap()
}

/// An 8-bit grayscale label map.
fn write_label(path: &Path, width: u32, height: u32, value: impl Fn(u32, u32) -> u8) {
    write_file(path, &png_gray(width, height, value));
}

fn write_photo(path: &Path, width: u32, height: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]))
        .save(path)
        .unwrap();
}
