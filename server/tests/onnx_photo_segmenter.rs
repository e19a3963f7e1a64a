//! A photo segmenter brought as ONNX (issue 26): kept as exported, its
//! scores turned into a package's classes by easel's head graph. The shared
//! DeepLab, exported as ONNX with its raw scores, reads photos as its TFLite
//! translation does; graphs that cannot be fed or read as they stand are
//! refused for what they are.

mod common;

use std::path::{Path, PathBuf};

use common::{deeplab_tflite, import_fixture, shared_fixtures};
use easel::import::onnx::proto::{Dim, ElemType};
use easel::import::onnx::{ints, GraphBuilder};
use easel::import::photo_segmenter::{
    attach, PhotoSegmenterError, PhotoSegmenterImport, PortChoice, PHOTO_HEAD_FILE,
};
use easel::import::tflite::{translate, Head, Model};
use easel::inference::runtime::{self, SegmenterSession, SessionOptions};
use easel::inference::segment::{Reading, Segmenter};
use easel::package::card::Layout;
use easel::package::ModelPackage;
use image::RgbImage;

const DEEPLAB_CLASSES: usize = 151;

fn request(package: &Path, network: &Path) -> PhotoSegmenterImport {
    PhotoSegmenterImport {
        package: package.to_path_buf(),
        network: network.to_path_buf(),
        labels: "ade20k".into(),
        mapping: None,
        range: [-1.0, 1.0],
        refine: vec![],
        provenance: "made for a test".into(),
        head: None,
        scores: false,
        normalize: None,
        ports: PortChoice::default(),
    }
}

fn segmenter(package: &Path) -> SegmenterSession {
    runtime::init(None).expect("ONNX Runtime is installed (make venv)");
    let options = SessionOptions {
        threads: 2,
        ..SessionOptions::default()
    };
    SegmenterSession::load(&ModelPackage::open(package).unwrap(), &options)
        .unwrap()
        .expect("the package names a segmenter")
}

fn coco_photos() -> Vec<RgbImage> {
    let dir = shared_fixtures().join("coco_stuff/val_img");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .take(4)
        .map(|p| image::open(p).unwrap().to_rgb8())
        .collect()
}

#[test]
fn deeplab_exported_as_onnx_reads_photos_as_its_tflite_translation_does() {
    let tmp = tempfile::tempdir().unwrap();
    // A user's export: the network with its raw scores as `logits` beside
    // an int64 `classes` output, which the attach passes over.
    let model = Model::read(&std::fs::read(deeplab_tflite()).unwrap()).unwrap();
    let (graph, _) = translate(&model, &Head::identity(DEEPLAB_CLASSES), true, "user").unwrap();
    let exported = tmp.path().join("deeplab.onnx");
    std::fs::write(&exported, graph.encode()).unwrap();

    let translated = import_fixture("coco182_tiny", &tmp.path().join("translated"));
    attach(&request(&translated, &deeplab_tflite())).unwrap();
    let kept = import_fixture("coco182_tiny", &tmp.path().join("kept"));
    let report = attach(&request(&kept, &exported)).unwrap();
    let entry = report.card.photo_segmenter.unwrap();
    let ports = entry.onnx.expect("an ONNX segmenter says how it is fed");
    assert_eq!(
        (ports.input.as_str(), ports.output.as_str(), ports.classes),
        ("photo", "logits", DEEPLAB_CLASSES)
    );
    assert_eq!(
        (ports.input_layout, ports.output_layout),
        (Layout::Nchw, Layout::Nchw)
    );
    assert_eq!((entry.input.width, entry.input.height), (513, 513));
    assert_eq!(
        std::fs::read(kept.join("photo_segmenter.onnx")).unwrap(),
        std::fs::read(&exported).unwrap(),
        "the user's graph is kept byte for byte"
    );
    assert!(kept.join(PHOTO_HEAD_FILE).is_file());

    let (mut a, mut b) = (segmenter(&translated), segmenter(&kept));
    assert!(b.judge().contains(PHOTO_HEAD_FILE), "{}", b.judge());
    let (mut same, mut pixels) = (0usize, 0usize);
    for photo in coco_photos() {
        let one = a.segment(&photo, Reading::Photo).unwrap();
        let other = b.segment(&photo, Reading::Photo).unwrap();
        same += one
            .labels()
            .iter()
            .zip(other.labels())
            .filter(|(x, y)| x == y)
            .count();
        pixels += one.labels().len();
    }
    let agreement = same as f64 / pixels as f64;
    eprintln!("the ONNX and TFLite routes agree on {agreement:.5} of pixels");
    assert!(agreement >= 0.999, "{agreement}");
}

/// A made network of `classes` scores: input `name` (1, 3, 16, 16) float,
/// its first channel's score the red channel and the others 0.
fn made(inputs: &[(&str, Vec<Dim>)], output: (ElemType, usize)) -> Vec<u8> {
    let mut b = GraphBuilder::new("made");
    let mut first = String::new();
    for (name, dims) in inputs {
        let x = b.input(name, ElemType::Float, dims.clone());
        if first.is_empty() {
            first = x;
        }
    }
    let (elem, classes) = output;
    let mut weight = vec![0.0; classes * 3];
    weight[0] = 1.0;
    let w = b.const_f32("w", &[classes, 3, 1, 1], &weight);
    let scores = b.node(
        "Conv",
        &[&first, &w],
        vec![ints("kernel_shape", &[1, 1])],
        "scores",
    );
    let out = if elem == ElemType::Int64 {
        b.node("ArgMax", &[&scores], vec![], "best")
    } else {
        scores
    };
    let free = |n: &str| Dim::Named(n.into());
    b.output(
        &out,
        "out",
        elem,
        vec![
            Dim::Fixed(1),
            Dim::Fixed(classes as i64),
            free("h"),
            free("w"),
        ],
    );
    b.finish("", vec![]).encode()
}

fn square(side: i64) -> Vec<Dim> {
    vec![
        Dim::Fixed(1),
        Dim::Fixed(3),
        Dim::Fixed(side),
        Dim::Fixed(side),
    ]
}

fn refused(package: &Path, bytes: &[u8], with: impl Fn(&mut PhotoSegmenterImport)) -> String {
    let file = package.join("../user.onnx");
    std::fs::write(&file, bytes).unwrap();
    let mut req = request(package, &file);
    with(&mut req);
    let before = std::fs::read(package.join("model.json")).unwrap();
    let e = attach(&req).unwrap_err();
    assert_eq!(
        std::fs::read(package.join("model.json")).unwrap(),
        before,
        "a refused segmenter leaves the card as it was"
    );
    assert!(!package.join(PHOTO_HEAD_FILE).exists());
    e.to_string()
}

#[test]
fn onnx_segmenters_that_cannot_be_fed_or_read_as_they_stand_are_refused_for_what_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let package = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let three = |r: &mut PhotoSegmenterImport| {
        let labels = r.package.join("../three.txt");
        std::fs::write(&labels, "sea\nsky-other\ngrass\n").unwrap();
        r.labels = labels.display().to_string();
    };

    let two_inputs = made(
        &[("photo", square(16)), ("mask", square(16))],
        (ElemType::Float, 3),
    );
    let e = refused(&package, &two_inputs, three);
    assert!(
        e.contains("has 2 inputs") && e.contains("`mask`") && e.contains("--input NAME"),
        "{e}"
    );

    let free = vec![
        Dim::Fixed(1),
        Dim::Fixed(3),
        Dim::Named("h".into()),
        Dim::Named("w".into()),
    ];
    let any_size = made(&[("photo", free)], (ElemType::Float, 3));
    let e = refused(&package, &any_size, three);
    assert!(
        e.contains("any size") && e.contains("--input-size WxH"),
        "{e}"
    );
    let e = refused(&package, &any_size, |r| {
        three(r);
        r.ports.input_size = Some((16, 16));
        r.ports.input = Some("image".into());
    });
    assert!(
        e.contains("has no input `image`; its inputs: `photo` (float32, 1×3×h×w)"),
        "{e}"
    );

    let classes_out = made(&[("photo", square(16))], (ElemType::Int64, 3));
    let e = refused(&package, &classes_out, three);
    assert!(e.contains("not class indices"), "{e}");

    let five = made(&[("photo", square(16))], (ElemType::Float, 5));
    let e = refused(&package, &five, three);
    assert!(
        e.contains("no axis of the labels' 3 classes") && e.contains("--scores-layout"),
        "{e}"
    );
    let e = refused(&package, &five, |r| {
        three(r);
        r.ports.output_layout = Some(Layout::Nchw);
    });
    assert!(e.contains("scores 5 classes but its labels"), "{e}");

    let e = refused(&package, b"\x08\x07 a text file, not a model", three);
    assert!(
        e.contains("neither a TFLite model") && e.contains("nor an ONNX model"),
        "{e}"
    );

    let mut scores_asked = request(&package, &deeplab_tflite());
    scores_asked.ports.input = Some("photo".into());
    let e = attach(&scores_asked).unwrap_err();
    assert!(matches!(e, PhotoSegmenterError::Onnx { .. }), "{e}");
    assert!(e.to_string().contains("are for ONNX segmenters"), "{e}");
}
