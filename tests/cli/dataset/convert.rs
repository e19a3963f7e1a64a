//! `easel dataset convert`: RGB annotations in a palette's colours become
//! class-index maps, exactly; unknown colours are refused, written as
//! dontcare or mapped to the nearest class, and said so.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use easel::package::classes::ClassTable;

use super::{camvid, camvid_palette, read_png, run, write_label, H, W};
use crate::support::png::png_rgb;
use crate::support::{assert_fails, assert_ok, file_names, stderr, stdout, write_file};

// CamVid classes by their line in label_colors.txt.
const ANIMAL: usize = 0;
const BUILDING: usize = 4;
const ROAD: usize = 17;
const SKY: usize = 21;
const TREE: usize = 26;
const VOID: usize = 30;
const WALL: usize = 31;

/// `easel dataset convert --palette <palette> <rgb> <out> <options>`.
fn convert(palette: &Path, rgb: &Path, out: &Path, options: &[&str]) -> Output {
    let command = ["dataset", "convert", "--palette"].map(OsStr::new);
    let paths = [palette, rgb, out].map(Path::as_os_str);
    run(command
        .into_iter()
        .chain(paths)
        .chain(options.iter().map(OsStr::new)))
}

/// Class of pixel (x, y) in the test pattern: four vertical bands.
fn band(x: u32, _y: u32, classes: &[usize]) -> usize {
    classes[(x * classes.len() as u32 / W) as usize]
}

/// Writes an RGB annotation whose pixel (x, y) has the colour of class
/// `class_at(x, y)` of `table`, except `odd` pixels painted `colour`.
fn write_annotation(
    path: &Path,
    table: &ClassTable,
    class_at: impl Fn(u32, u32) -> usize,
    odd: &[((u32, u32), [u8; 3])],
) {
    let colour = |x, y| {
        odd.iter()
            .find(|(at, _)| *at == (x, y))
            .map_or_else(|| table.classes[class_at(x, y)].rgb(), |&(_, c)| c)
    };
    write_file(path, &png_rgb(W, H, colour));
}

#[test]
fn convert_turns_camvid_colours_into_exact_class_indices() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    let table = camvid();
    let bands = [[SKY, BUILDING, ROAD, VOID], [WALL, ANIMAL, TREE, SKY]];
    for (i, classes) in bands.iter().enumerate() {
        let path = rgb.join(format!("0001TP_00{i}_L.png"));
        write_annotation(&path, &table, |x, y| band(x, y, classes), &[]);
    }
    let o = convert(&camvid_palette(), &rgb, &out, &["--strip-suffix", "_L"]);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("converted 2 of 2 annotations into 8-bit class maps"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        file_names(&out),
        ["0001TP_000.png", "0001TP_001.png", "classes.tsv"]
    );
    for (i, classes) in bands.iter().enumerate() {
        let map = read_png(&out.join(format!("0001TP_00{i}.png")));
        assert_eq!(
            (map.width, map.height, map.channels, map.bit_depth),
            (12, 8, 1, 8)
        );
        let expected: Vec<u32> = (0..H)
            .flat_map(|y| (0..W).map(move |x| band(x, y, classes) as u32))
            .collect();
        assert_eq!(map.samples, expected, "map {i}");
    }
    let written = ClassTable::load(out.join("classes.tsv").to_str().unwrap()).unwrap();
    assert_eq!(written.classes, table.classes);
}

#[test]
fn convert_reports_unknown_colours_and_by_default_writes_nothing_for_that_file() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    let table = camvid();
    let classes = [SKY, ROAD, ROAD, TREE];
    let magenta = [255, 0, 255];
    write_annotation(
        &rgb.join("good.png"),
        &table,
        |x, y| band(x, y, &classes),
        &[],
    );
    write_annotation(
        &rgb.join("bad.png"),
        &table,
        |x, y| band(x, y, &classes),
        &[
            ((5, 2), magenta),
            ((6, 2), magenta),
            ((0, 7), magenta),
            ((1, 1), [1, 2, 3]),
        ],
    );
    let o = convert(&camvid_palette(), &rgb, &out, &[]);
    assert_fails(&o);
    let err = stderr(&o);
    assert!(
        err.contains(
            "bad.png: 4 pixels in 2 colours not in the palette; nothing written: \
             #ff00ff ×3 (first at x 5, y 2), #010203 ×1 (first at x 1, y 1)"
        ),
        "{err}"
    );
    assert!(
        err.contains("1 of 2 annotations have colours that are not in the palette")
            && err.contains("--unknown dontcare"),
        "{err}"
    );
    assert_eq!(file_names(&out), ["classes.tsv", "good.png"]);
}

#[test]
fn convert_writes_255_for_unknown_colours_with_dontcare() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    let table = camvid();
    write_annotation(
        &rgb.join("a.png"),
        &table,
        |_, _| ROAD,
        &[((3, 4), [255, 0, 255])],
    );
    let o = convert(&camvid_palette(), &rgb, &out, &["--unknown", "dontcare"]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("a.png: 1 pixel in 1 colour not in the palette, written as 255 (dontcare): #ff00ff ×1 (first at x 3, y 4)"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("--contain_dontcare_label"),
        "{}",
        stdout(&o)
    );
    let map = read_png(&out.join("a.png"));
    let i = (4 * W + 3) as usize;
    assert_eq!(map.samples[i], 255);
    assert!(map
        .samples
        .iter()
        .enumerate()
        .all(|(j, &v)| j == i || v == ROAD as u32));
}

#[test]
fn convert_maps_unknown_colours_to_the_nearest_class_and_notes_them() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    let table = camvid();
    // Anti-aliasing leaves colours close to, not equal to, the palette's.
    write_annotation(
        &rgb.join("a.png"),
        &table,
        |_, _| ROAD,
        &[((0, 0), [130, 126, 128]), ((1, 0), [126, 1, 2])],
    );
    let o = convert(&camvid_palette(), &rgb, &out, &["--unknown", "nearest"]);
    assert_ok(&o);
    let err = stderr(&o);
    assert!(err.contains("written as the nearest class"), "{err}");
    assert!(
        err.contains("#827e80 → 21 Sky ×1 (first at x 0, y 0)"),
        "{err}"
    );
    assert!(err.contains("#7e0102 → 4 Building ×1"), "{err}");
    let map = read_png(&out.join("a.png"));
    assert_eq!(
        &map.samples[..3],
        [SKY as u32, BUILDING as u32, ROAD as u32]
    );
}

/// A TSV palette of `n` classes with distinct colours.
fn big_palette(path: &Path, n: usize) -> ClassTable {
    let mut tsv = String::new();
    for i in 0..n {
        tsv += &format!("{i}\tclass{i}\t#{:02x}{:02x}40\n", i / 256, i % 256);
    }
    std::fs::write(path, tsv).unwrap();
    ClassTable::load(path.to_str().unwrap()).unwrap()
}

#[test]
fn convert_writes_16_bit_maps_for_more_than_255_classes() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    let palette = t.path().join("300.tsv");
    let table = big_palette(&palette, 300);
    let classes = [0, 255, 256, 299];
    write_annotation(&rgb.join("a.png"), &table, |x, y| band(x, y, &classes), &[]);
    let o = convert(&palette, &rgb, &out, &[]);
    assert_ok(&o);
    assert!(stdout(&o).contains("16-bit class maps"), "{}", stdout(&o));
    let map = read_png(&out.join("a.png"));
    assert_eq!((map.channels, map.bit_depth), (1, 16));
    assert_eq!(
        &map.samples[..W as usize],
        [0, 0, 0, 255, 255, 255, 256, 256, 256, 299, 299, 299]
    );
}

#[test]
fn convert_refuses_dontcare_when_255_is_a_class() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    let palette = t.path().join("300.tsv");
    let table = big_palette(&palette, 300);
    write_annotation(&rgb.join("a.png"), &table, |_, _| 1, &[]);
    let o = convert(&palette, &rgb, &out, &["--unknown", "dontcare"]);
    assert_fails(&o);
    assert!(
        stderr(&o).contains("has 300 classes, so 255 is class class255"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn convert_refuses_grayscale_maps_and_names_clashing_outputs() {
    let t = tempfile::tempdir().unwrap();
    let (rgb, out) = (t.path().join("rgb"), t.path().join("out"));
    write_label(&rgb.join("a.png"), W, H, |_, _| 3);
    let o = convert(&camvid_palette(), &rgb, &out, &[]);
    assert_fails(&o);
    assert!(
        stderr(&o).contains("a.png: a grayscale image"),
        "{}",
        stderr(&o)
    );
    write_label(&rgb.join("a_L.png"), W, H, |_, _| 3);
    let o = convert(&camvid_palette(), &rgb, &out, &["--strip-suffix", "_L"]);
    assert_fails(&o);
    assert!(
        stderr(&o).contains("a.png and a_L.png → a.png"),
        "{}",
        stderr(&o)
    );
}
