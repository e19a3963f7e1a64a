//! `easel dataset convert | instances | split | check`, run as the binary on
//! small annotations the tests draw, with the CamVid palette of the shared
//! fixtures.

mod common;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use easel::package::classes::ClassTable;
use easel::package::maps::{decode_png, RawPng, DEFAULT_MAX_PIXELS};

const W: u32 = 12;
const H: u32 = 8;

fn camvid_palette() -> PathBuf {
    common::shared_fixtures().join("classes/camvid-32-label_colors.txt")
}

fn camvid() -> ClassTable {
    ClassTable::load(camvid_palette().to_str().unwrap()).unwrap()
}

fn easel(args: &[&dyn AsRef<OsStr>]) -> Output {
    run(args.iter().map(|a| a.as_ref()))
}

fn run(args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(args)
        .env("EASEL_THREADS", "2")
        .output()
        .expect("the easel binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "easel failed\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn assert_fails(o: &Output) {
    assert!(
        !o.status.success(),
        "easel succeeded but should not have\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn read_png(path: &Path) -> RawPng {
    decode_png(&common::read(path), "map", DEFAULT_MAX_PIXELS).unwrap()
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
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut img =
        image::RgbImage::from_fn(W, H, |x, y| image::Rgb(table.classes[class_at(x, y)].rgb()));
    for &((x, y), c) in odd {
        img.put_pixel(x, y, image::Rgb(c));
    }
    img.save(path).unwrap();
}

/// An 8-bit grayscale label map.
fn write_label(path: &Path, width: u32, height: u32, value: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(width, height, |x, y| image::Luma([value(x, y)]))
        .save(path)
        .unwrap();
}

fn write_photo(path: &Path, width: u32, height: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]))
        .save(path)
        .unwrap();
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// CamVid classes by their line in label_colors.txt.
const ANIMAL: usize = 0;
const BUILDING: usize = 4;
const ROAD: usize = 17;
const SKY: usize = 21;
const TREE: usize = 26;
const VOID: usize = 30;
const WALL: usize = 31;

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
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &camvid_palette(),
        &rgb,
        &out,
        &"--strip-suffix",
        &"_L",
    ]);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("converted 2 of 2 annotations into 8-bit class maps"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        names_in(&out),
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
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &camvid_palette(),
        &rgb,
        &out,
    ]);
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
    assert_eq!(names_in(&out), ["classes.tsv", "good.png"]);
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
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &camvid_palette(),
        &rgb,
        &out,
        &"--unknown",
        &"dontcare",
    ]);
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
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &camvid_palette(),
        &rgb,
        &out,
        &"--unknown",
        &"nearest",
    ]);
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
    let o = easel(&[&"dataset", &"convert", &"--palette", &palette, &rgb, &out]);
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
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &palette,
        &rgb,
        &out,
        &"--unknown",
        &"dontcare",
    ]);
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
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &camvid_palette(),
        &rgb,
        &out,
    ]);
    assert_fails(&o);
    assert!(
        stderr(&o).contains("a.png: a grayscale image"),
        "{}",
        stderr(&o)
    );
    write_label(&rgb.join("a_L.png"), W, H, |_, _| 3);
    let o = easel(&[
        &"dataset",
        &"convert",
        &"--palette",
        &camvid_palette(),
        &rgb,
        &out,
        &"--strip-suffix",
        &"_L",
    ]);
    assert_fails(&o);
    assert!(
        stderr(&o).contains("a.png and a_L.png → a.png"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn instances_number_each_connected_region_of_each_class() {
    let t = tempfile::tempdir().unwrap();
    let (labels, out) = (t.path().join("labels"), t.path().join("inst"));
    // Two class-1 squares on class 0: three regions.
    write_label(&labels.join("m_L.png"), 8, 4, |x, y| {
        (y < 2 && !(2..6).contains(&x)) as u8
    });
    let o = easel(&[
        &"dataset",
        &"instances",
        &"--labels",
        &labels,
        &"--out",
        &out,
        &"--label-suffix",
        &"_L",
    ]);
    assert_ok(&o);
    let map = read_png(&out.join("m.png"));
    assert_eq!((map.channels, map.bit_depth), (1, 16));
    #[rustfmt::skip]
    let expected = [
        1, 1, 2, 2, 2, 2, 3, 3,
        1, 1, 2, 2, 2, 2, 3, 3,
        2, 2, 2, 2, 2, 2, 2, 2,
        2, 2, 2, 2, 2, 2, 2, 2,
    ];
    assert_eq!(map.samples, expected);
}

#[test]
fn instances_follow_the_cityscapes_numbering() {
    let t = tempfile::tempdir().unwrap();
    let (labels, ann, out) = (
        t.path().join("labels"),
        t.path().join("ann"),
        t.path().join("inst"),
    );
    // Road (7) below, two cars (26) annotated as RGB instances, sky (23) above.
    write_label(&labels.join("f_gtFine_labelIds.png"), 6, 2, |x, y| {
        match (x, y) {
            (1 | 4, 1) => 26,
            (_, 0) => 23,
            _ => 7,
        }
    });
    std::fs::create_dir_all(&ann).unwrap();
    image::RgbImage::from_fn(6, 2, |x, y| match (x, y) {
        (1, 1) => image::Rgb([200, 10, 10]),
        (4, 1) => image::Rgb([10, 200, 10]),
        _ => image::Rgb([0, 0, 0]),
    })
    .save(ann.join("f_inst.png"))
    .unwrap();
    let o = easel(&[
        &"dataset",
        &"instances",
        &"--labels",
        &labels,
        &"--annotations",
        &ann,
        &"--out",
        &out,
        &"--cityscapes",
        &"--label-suffix",
        &"_gtFine_labelIds",
        &"--annotation-suffix",
        &"_inst",
    ]);
    assert_ok(&o);
    let map = read_png(&out.join("f.png"));
    assert_eq!(
        map.samples,
        [23, 23, 23, 23, 23, 23, 7, 26000, 7, 7, 26001, 7]
    );
}

/// Photos `<i>.jpg` and CamVid-style labels `<i>_L.png` for `n` names.
fn camvid_like(root: &Path, n: usize) -> (PathBuf, PathBuf) {
    let (images, labels) = (root.join("images"), root.join("labels"));
    for i in 0..n {
        write_photo(&images.join(format!("f{i:03}.jpg")), 8, 6);
        write_label(&labels.join(format!("f{i:03}_L.png")), 8, 6, |x, _| x as u8);
    }
    (images, labels)
}

fn split_args(images: &Path, labels: &Path, out: &Path, seed: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["dataset", "split", "--images"].map(OsString::from).into();
    args.push(images.into());
    args.push("--labels".into());
    args.push(labels.into());
    args.push("--out".into());
    args.push(out.into());
    for a in ["--label-suffix", "_L", "--train", "90", "--seed", seed] {
        args.push(a.into());
    }
    args
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&common::read(&out.join("split.json"))).unwrap()
}

#[test]
fn split_is_reproducible_for_a_seed() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = camvid_like(t.path(), 20);
    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    assert_ok(&run(split_args(&images, &labels, &a, "7")));
    assert_ok(&run(split_args(&images, &labels, &b, "7")));
    assert_ok(&run(split_args(&images, &labels, &c, "8")));
    let (ma, mb, mc) = (manifest(&a), manifest(&b), manifest(&c));
    assert_eq!(ma["train"], mb["train"]);
    assert_eq!(ma["test"], mb["test"]);
    assert_ne!(ma["test"], mc["test"]);
    assert_eq!(ma["train"].as_array().unwrap().len(), 18);
    for dir in ["train_img", "train_label", "test_img", "test_label"] {
        assert_eq!(names_in(&a.join(dir)), names_in(&b.join(dir)), "{dir}");
    }
    // The reference pairs by identical names: the suffix is gone.
    let test: Vec<String> = ma["test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names_in(&a.join("test_label")),
        test.iter().map(|s| format!("{s}.png")).collect::<Vec<_>>()
    );
    assert_eq!(
        names_in(&a.join("test_img")),
        test.iter().map(|s| format!("{s}.jpg")).collect::<Vec<_>>()
    );
}

#[test]
fn split_refuses_unpaired_files_with_a_list() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = camvid_like(t.path(), 4);
    std::fs::remove_file(labels.join("f001_L.png")).unwrap();
    write_label(&labels.join("extra_L.png"), 8, 6, |_, _| 0);
    let out = t.path().join("out");
    let o = run(split_args(&images, &labels, &out, "1"));
    assert_fails(&o);
    let err = stderr(&o);
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        err.contains("1 of the photos in") && err.contains("(names compared without _L): f001.jpg"),
        "{err}"
    );
    assert!(
        err.contains("1 of the label maps in") && err.contains(": extra_L.png"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn split_refuses_an_earlier_split_unless_forced_and_can_hard_link() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = camvid_like(t.path(), 5);
    let out = t.path().join("out");
    assert_ok(&run(split_args(&images, &labels, &out, "1")));
    let o = run(split_args(&images, &labels, &out, "2"));
    assert_fails(&o);
    assert!(
        stderr(&o).contains("already holds a split"),
        "{}",
        stderr(&o)
    );
    let mut args = split_args(&images, &labels, &out, "2");
    args.extend(["--force".into(), "--link".into()]);
    let o = run(args);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("(10 linked, 0 copied)"),
        "{}",
        stdout(&o)
    );
    let total: usize = ["train_img", "test_img"]
        .iter()
        .map(|d| names_in(&out.join(d)).len())
        .sum();
    assert_eq!(total, 5, "the earlier split's files are gone");
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let linked = std::fs::metadata(images.join("f000.jpg")).unwrap();
        assert_eq!(linked.nlink(), 2);
    }
}

/// A CamVid-shaped dataset: 640×480 maps with classes 0..=5 and some 255.
fn checkable(root: &Path, with_dontcare: bool) -> (PathBuf, PathBuf) {
    let (images, labels) = (root.join("img"), root.join("label"));
    for i in 0..3 {
        write_photo(&images.join(format!("{i}.jpg")), 640, 480);
        write_label(&labels.join(format!("{i}.png")), 640, 480, |x, y| {
            if with_dontcare && y == 0 {
                255
            } else {
                (x / 110) as u8
            }
        });
    }
    (images, labels)
}

#[test]
fn check_prints_the_training_flags_that_fit() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = checkable(t.path(), true);
    let o = easel(&[
        &"dataset",
        &"check",
        &"--label_dir",
        &labels,
        &"--image_dir",
        &images,
    ]);
    assert_ok(&o);
    let out = stdout(&o);
    assert!(
        out.contains(
            "training flags: --label_nc 6 --contain_dontcare_label --no_instance \
             --preprocess_mode fixed --aspect_ratio 1.3333 --load_size 512 --crop_size 512"
        ),
        "{out}"
    );
    assert!(out.contains("sizes: 640×480 (3)"), "{out}");
    assert!(
        out.contains("aspect ratio: 1.3333 (4:3) in 3 of 3 maps"),
        "{out}"
    );
    assert!(
        out.contains("255 (dontcare) covers 1920 pixels in 3 file(s)"),
        "{out}"
    );
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn check_reports_values_at_or_above_label_nc_gaps_and_unpaired_files() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = checkable(t.path(), false);
    write_photo(&images.join("lonely.jpg"), 640, 480);
    let o = easel(&[
        &"dataset",
        &"check",
        &"--label-dir",
        &labels,
        &"--image-dir",
        &images,
        &"--label-nc",
        &"8",
        &"--classes",
        &camvid_palette(),
    ]);
    assert_fails(&o);
    let out = stdout(&o);
    assert!(
        out.contains("have no partner") && out.contains("lonely.jpg"),
        "{out}"
    );
    assert!(
        out.contains("2 of the 8 class ids never occur: 6 (CartLuggagePram), 7 (Child)"),
        "{out}"
    );
    let o = easel(&[
        &"dataset",
        &"check",
        &"--label_dir",
        &labels,
        &"--image_dir",
        &images,
        &"--label_nc",
        &"4",
    ]);
    assert_fails(&o);
    let out = stdout(&o);
    assert!(
        out.contains("values 4 (")
            && out.contains("5 (")
            && out.contains("are not below label_nc 4 (given with --label_nc), in 0, 1, 2"),
        "{out}"
    );
}
