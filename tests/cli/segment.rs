//! `easel import-segmenter` and `easel segment` as a user runs them: the
//! trainer's committed segmenter (training/judges/segmenter.pth) attached to
//! a copy of the default model's card, then a synthetic photo turned into a
//! map.

use std::path::{Path, PathBuf};

use easel::landscapes::synth;
use easel::package::maps::{decode_png, DEFAULT_MAX_PIXELS};

use crate::support::{assert_fails, assert_ok, easel, repo, stdout, text, write_file};

/// The default model's card (without any segmenter entry) over a generator
/// and style encoder that these commands never read.
fn landscapes_card_in(dir: &Path) -> PathBuf {
    let card = std::fs::read_to_string(repo().join("models/landscapes/model.json")).unwrap();
    let mut card: serde_json::Value = serde_json::from_str(&card).unwrap();
    card.as_object_mut().unwrap().remove("segmenter");
    card.as_object_mut().unwrap().remove("photo_segmenter");
    write_file(&dir.join("model.json"), card.to_string().as_bytes());
    for graph in ["generator.onnx", "encoder.onnx"] {
        write_file(&dir.join(graph), b"not read by these commands");
    }
    dir.to_path_buf()
}

/// `easel import-segmenter` of the committed judge into `package`, its
/// classes named by the `classes` table.
fn attach(package: &Path, classes: &str) -> std::process::Output {
    easel()
        .arg("import-segmenter")
        .arg(repo().join("training/judges/segmenter.pth"))
        .arg("--package")
        .arg(package)
        .args(["--classes", classes])
        .output()
        .unwrap()
}

#[test]
fn a_photo_becomes_a_map_of_the_packages_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let package = landscapes_card_in(&tmp.path().join("landscapes"));
    let out = attach(&package, "landscapes");
    assert_ok(&out);
    assert!(
        stdout(&out).contains("12 classes (landscapes"),
        "{}",
        text(&out)
    );
    assert!(package.join("segmenter.onnx").is_file());
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(package.join("model.json")).unwrap()).unwrap();
    assert_eq!(card["segmenter"]["file"], "segmenter.onnx");
    assert_eq!(card["segmenter"]["source"]["file"], "segmenter.pth");
    assert_eq!(card["name"], "landscapes", "the rest of the card is kept");

    let scene = synth::render(1, 0, 128);
    let photo = tmp.path().join("scene.jpg");
    write_file(&photo, &synth::image_jpeg(&scene).unwrap());
    let map = tmp.path().join("map.png");
    let out = easel()
        .args(["segment", "--model"])
        .arg(&package)
        .arg("--photo")
        .arg(&photo)
        .args(["--size", "96x64", "-o"])
        .arg(&map)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        stdout(&out).contains("96×64 from a 128×128 photo"),
        "{}",
        text(&out)
    );
    let raw = decode_png(&std::fs::read(&map).unwrap(), "map", DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!(
        (raw.width, raw.height, raw.channels, raw.bit_depth),
        (96, 64, 1, 8)
    );
    assert!(
        raw.samples.iter().all(|&c| c < 12),
        "landscapes classes only"
    );
}

#[test]
fn a_package_without_a_segmenter_says_how_to_attach_one() {
    let tmp = tempfile::tempdir().unwrap();
    let package = landscapes_card_in(&tmp.path().join("landscapes"));
    let photo = tmp.path().join("scene.jpg");
    write_file(
        &photo,
        &synth::image_jpeg(&synth::render(1, 1, 64)).unwrap(),
    );
    let out = easel()
        .args(["segment", "--model"])
        .arg(&package)
        .arg("--photo")
        .arg(&photo)
        .args(["-o"])
        .arg(tmp.path().join("map.png"))
        .output()
        .unwrap();
    assert_fails(&out);
    let said = text(&out);
    assert!(
        said.contains("has no segmenter") && said.contains("easel import-segmenter"),
        "{said}"
    );
}

#[test]
fn a_segmenter_of_other_classes_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let package = landscapes_card_in(&tmp.path().join("landscapes"));
    let out = attach(&package, "cityscapes");
    assert_fails(&out);
    assert!(text(&out).contains("--classes"), "{}", text(&out));
    assert!(
        !package.join("segmenter.onnx").exists(),
        "nothing is written"
    );
}
