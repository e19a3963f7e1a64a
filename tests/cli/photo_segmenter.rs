//! `easel attach-photo-segmenter` and `easel class-map` as a researcher runs
//! them on packages imported from the reference code: the shared DeepLabV3
//! (ADE20K) attached to a COCO-Stuff model through the built-in mapping and
//! to an ADE20K model by name, a real photo read into a map of the model's
//! classes, and a file the reader cannot translate refused with the package
//! left as it was.

use std::path::{Path, PathBuf};

use easel::package::classes::ClassTable;
use easel::package::maps::{decode_png, DEFAULT_MAX_PIXELS};

use crate::support::{
    assert_fails, assert_ok, easel, import_fixture, shared_fixtures, stderr, stdout, text,
    write_file,
};

fn deeplab() -> PathBuf {
    shared_fixtures().join("segmenters/ade20k_deeplabv3_mnv2/deeplabv3_mobilenetv2_ade20k.tflite")
}

fn attach(package: &Path, tflite: &Path) -> std::process::Output {
    easel()
        .arg("attach-photo-segmenter")
        .arg(tflite)
        .arg("--package")
        .arg(package)
        .output()
        .unwrap()
}

fn card(package: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(package.join("model.json")).unwrap()).unwrap()
}

#[test]
fn a_coco_stuff_model_reads_a_real_photo_through_the_builtin_mapping() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let out = attach(&package, &deeplab());
    assert_ok(&out);
    assert!(
        stdout(&out).contains("ade20k-to-coco-stuff"),
        "{}",
        text(&out)
    );
    let card = card(&package);
    let entry = &card["photo_segmenter"];
    assert_eq!(entry["file"], "photo_segmenter.onnx");
    assert_eq!(entry["input"]["width"], 513);
    assert_eq!(
        entry["source"]["sha256"],
        "9476784566f88bf0bdc3169f0012fb7d08857b325811d8c1aaf5ada1c0d4e4f9"
    );
    assert!(
        entry["provenance"].as_str().unwrap().contains("Apache-2.0"),
        "{entry}"
    );
    assert!(card.get("segmenter").is_none(), "no judge of its own");

    // A seascape under a sky (COCO-Stuff val 000000001490), at its own size.
    let photo = shared_fixtures().join("coco_stuff/val_img/000000001490.jpg");
    let map = tmp.path().join("map.png");
    let out = easel()
        .args(["segment", "--model"])
        .arg(&package)
        .arg("--photo")
        .arg(&photo)
        .args(["--size", "320x212", "-o"])
        .arg(&map)
        .output()
        .unwrap();
    assert_ok(&out);
    let said = stdout(&out);
    assert!(said.contains("sea") && said.contains("sky-other"), "{said}");
    let raw = decode_png(&std::fs::read(&map).unwrap(), "map", DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!((raw.width, raw.height), (320, 212));
}

#[test]
fn an_ade20k_model_takes_the_segmenters_classes_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let package = ade20k_package(&tmp.path().join("ade"));
    let out = attach(&package, &deeplab());
    assert_ok(&out);
    let entry = &card(&package)["photo_segmenter"];
    assert_eq!(entry["mapping"], "by name");
    let pairs = entry["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 150, "every ADE20K class but background");
    assert!(pairs.iter().all(|p| p[0] == p[1]), "the identity");

    // A lake photo read at its own size: ADE20K's own classes, by their indices.
    let photo = shared_fixtures().join("coco_stuff/train_img/000000138805.jpg");
    let map = tmp.path().join("map.png");
    let out = easel()
        .args(["segment", "--model"])
        .arg(&package)
        .arg("--photo")
        .arg(&photo)
        .args(["--size", "250x188", "-o"])
        .arg(&map)
        .output()
        .unwrap();
    assert_ok(&out);
    let said = stdout(&out);
    assert!(
        said.contains("sky") && (said.contains("water") || said.contains("sea")),
        "{said}"
    );
    let raw = decode_png(&std::fs::read(&map).unwrap(), "map", DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!((raw.width, raw.height), (250, 188));
    let sky = ClassTable::builtin("ade20k")
        .unwrap()
        .classes
        .iter()
        .position(|c| c.name == "sky");
    assert_eq!(sky, Some(2), "the reference numbers ADE20K from wall = 0");
    assert!(
        raw.samples.contains(&2),
        "sky read as the package's index 2"
    );

    let out = easel()
        .args(["class-map", "--classes"])
        .arg(&package)
        .output()
        .unwrap();
    assert_ok(&out);
    let printed = stdout(&out);
    assert!(printed.contains("(by name)"), "{printed}");
    assert!(printed.contains("\nsky\tsky\n"), "{printed}");
    assert!(
        printed.contains("1 segmenter classes have no counterpart")
            && printed.contains(": background"),
        "{printed}"
    );
}

/// An ADE20K model as the reference's ADE20K checkpoints import: a card
/// with the built-in ade20k table (wall = 0, …, other = 150) over a
/// generator these commands never read.
fn ade20k_package(dir: &Path) -> PathBuf {
    let tmp = dir.with_extension("coco");
    let coco = import_fixture("coco182_tiny", &tmp);
    let mut card = card(&coco);
    card["name"] = "ade".into();
    card["class_table"] = "ade20k".into();
    card["classes"] = serde_json::to_value(ClassTable::builtin("ade20k").unwrap().classes).unwrap();
    card["dontcare"] = serde_json::Value::Null;
    write_file(&dir.join("model.json"), card.to_string().as_bytes());
    write_file(&dir.join("generator.onnx"), b"not read by these commands");
    dir.to_path_buf()
}

#[test]
fn a_tflite_file_with_an_operator_the_reader_does_not_know_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let card_before = std::fs::read(package.join("model.json")).unwrap();
    // The shared file with its first operator code made RESHAPE (22): in a
    // file of this age the byte field names it.
    let mut bytes = std::fs::read(deeplab()).unwrap();
    let root = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let vtable = root - i32::from_le_bytes(bytes[root..root + 4].try_into().unwrap()) as usize;
    let codes_field =
        u16::from_le_bytes(bytes[vtable + 6..vtable + 8].try_into().unwrap()) as usize;
    let codes = root + codes_field;
    let codes = codes + u32::from_le_bytes(bytes[codes..codes + 4].try_into().unwrap()) as usize;
    let first = codes + 4;
    let first = first + u32::from_le_bytes(bytes[first..first + 4].try_into().unwrap()) as usize;
    let first_vtable =
        first - i32::from_le_bytes(bytes[first..first + 4].try_into().unwrap()) as usize;
    let byte_field = u16::from_le_bytes(
        bytes[first_vtable + 4..first_vtable + 6]
            .try_into()
            .unwrap(),
    ) as usize;
    assert!(
        byte_field > 0,
        "the fixture names its ops in the byte field"
    );
    bytes[first + byte_field] = 22;
    let broken = tmp.path().join("reshaped.tflite");
    write_file(&broken, &bytes);

    let out = easel()
        .arg("attach-photo-segmenter")
        .arg(&broken)
        .arg("--package")
        .arg(&package)
        .args(["--provenance", "a test's file"])
        .output()
        .unwrap();
    assert_fails(&out);
    let said = stderr(&out);
    assert!(
        said.contains("RESHAPE") && said.contains("does not translate"),
        "{said}"
    );
    assert_eq!(
        std::fs::read(package.join("model.json")).unwrap(),
        card_before
    );
    assert!(!package.join("photo_segmenter.onnx").exists());
}

#[test]
fn a_file_of_unknown_origin_needs_its_provenance_stated() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let copy = tmp.path().join("mine.tflite");
    let mut bytes = std::fs::read(deeplab()).unwrap();
    bytes.extend_from_slice(b"\0\0\0\0");
    write_file(&copy, &bytes);
    let out = attach(&package, &copy);
    assert_fails(&out);
    assert!(stderr(&out).contains("--provenance"), "{}", text(&out));
}

/// A network as a user might export one from TensorFlow: input
/// `pixel_values` (1, 32, 48, 3), channels last; two classes scored at a
/// quarter of the resolution, channels last, as `segmentation`: "bright"
/// (the sum of the normalised channels) against "dark" (0). `channels`
/// scores are computed, whatever the graph declares (2).
fn exported_network(channels: usize) -> Vec<u8> {
    use easel::import::onnx::proto::{Dim, ElemType};
    use easel::import::onnx::{ints, GraphBuilder};
    let fixed = |dims: &[i64]| dims.iter().map(|&d| Dim::Fixed(d)).collect::<Vec<_>>();
    let mut b = GraphBuilder::new("exported");
    let x = b.input("pixel_values", ElemType::Float, fixed(&[1, 32, 48, 3]));
    let x = b.node(
        "Transpose",
        &[&x],
        vec![ints("perm", &[0, 3, 1, 2])],
        "nchw",
    );
    let mut weight = vec![0.0; channels * 3];
    weight[..3].fill(1.0);
    let w = b.const_f32("w", &[channels, 3, 1, 1], &weight);
    let scores = b.node(
        "Conv",
        &[&x, &w],
        vec![ints("kernel_shape", &[1, 1])],
        "scores",
    );
    let pooled = b.node(
        "AveragePool",
        &[&scores],
        vec![ints("kernel_shape", &[4, 4]), ints("strides", &[4, 4])],
        "pool",
    );
    let out = b.node(
        "Transpose",
        &[&pooled],
        vec![ints("perm", &[0, 2, 3, 1])],
        "nhwc",
    );
    b.output(&out, "segmentation", ElemType::Float, fixed(&[1, 8, 12, 2]));
    b.finish("", vec![]).encode()
}

fn attach_exported(package: &Path, network: &Path) -> std::process::Output {
    let dir = package.parent().unwrap();
    write_file(&dir.join("labels.txt"), b"bright\ndark\n");
    write_file(&dir.join("map.tsv"), b"bright\tsky-other\ndark\tsea\n");
    easel()
        .arg("attach-photo-segmenter")
        .arg(network)
        .arg("--package")
        .arg(package)
        .arg("--labels")
        .arg(dir.join("labels.txt"))
        .arg("--map")
        .arg(dir.join("map.tsv"))
        .args([
            "--range",
            "0,1",
            "--mean",
            "0.2,0.2,0.2",
            "--std",
            "0.5,0.5,0.5",
        ])
        .args(["--provenance", "exported for a test"])
        .output()
        .unwrap()
}

/// Class index of each column of the map `easel segment` writes for a photo
/// grey 90 on its left half and grey 20 on its right, at 48×32.
fn segment_halves(package: &Path) -> (String, Vec<u32>) {
    let dir = package.parent().unwrap();
    let photo = image::RgbImage::from_fn(48, 32, |x, _| {
        let v = if x < 24 { 90 } else { 20 };
        image::Rgb([v, v, v])
    });
    photo.save(dir.join("halves.png")).unwrap();
    let map = dir.join("halves-map.png");
    let out = easel()
        .args(["segment", "--model"])
        .arg(package)
        .arg("--photo")
        .arg(dir.join("halves.png"))
        .args(["--size", "48x32", "-o"])
        .arg(&map)
        .output()
        .unwrap();
    assert_ok(&out);
    let raw = decode_png(&std::fs::read(&map).unwrap(), "map", DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!((raw.width, raw.height), (48, 32));
    let row = raw.samples[16 * 48..17 * 48].to_vec();
    (stdout(&out), row)
}

#[test]
fn an_onnx_segmenter_is_kept_as_exported_and_read_as_its_card_says() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let network = tmp.path().join("exported.onnx");
    write_file(&network, &exported_network(2));
    let out = attach_exported(&package, &network);
    assert_ok(&out);
    let said = stdout(&out);
    assert!(
        said.contains("48×32 input")
            && said.contains("`pixel_values`, Nhwc")
            && said.contains("`segmentation`, Nhwc"),
        "the layouts are read from the shapes: {said}"
    );
    let entry = card(&package)["photo_segmenter"].clone();
    assert_eq!(entry["input"]["normalize"]["mean"][0], 0.2);
    assert_eq!(entry["onnx"]["head_file"], "photo_segmenter_head.onnx");

    // Grey 90 is 0.35 on 0..1, above the mean 0.2: bright; grey 20 (0.08)
    // is below: dark. Unnormalised, both would be bright.
    let classes = ClassTable::builtin("coco-stuff").unwrap().classes;
    let index = |name: &str| classes.iter().position(|c| c.name == name).unwrap() as u32;
    let (said, row) = segment_halves(&package);
    assert!(
        said.contains("sky-other 50%") && said.contains("sea 50%"),
        "{said}"
    );
    assert!(
        row[..22].iter().all(|&v| v == index("sky-other")),
        "{row:?}"
    );
    assert!(row[26..].iter().all(|&v| v == index("sea")), "{row:?}");
}

#[test]
fn an_onnx_segmenter_that_does_not_run_as_its_shapes_say_leaves_the_package_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let good = tmp.path().join("good.onnx");
    write_file(&good, &exported_network(2));
    assert_ok(&attach_exported(&package, &good));
    let files = |names: &[&str]| -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| std::fs::read(package.join(n)).unwrap())
            .collect()
    };
    let names = [
        "model.json",
        "photo_segmenter.onnx",
        "photo_segmenter_head.onnx",
    ];
    let before = files(&names);

    // Declares two classes of scores and computes three.
    let bad = tmp.path().join("bad.onnx");
    write_file(&bad, &exported_network(3));
    let out = attach_exported(&package, &bad);
    assert_fails(&out);
    let said = stderr(&out);
    assert!(
        said.contains("did not run as a photo segmenter")
            && said.contains("is as it was")
            && said.contains("[1, 8, 12, 3]"),
        "{said}"
    );
    assert_eq!(files(&names), before, "the package's files are put back");
    segment_halves(&package);
}
