//! The real-photo segmenter (issue 26): the shared DeepLabV3 + MobileNetV2
//! TFLite file translated to ONNX by easel and run on ONNX Runtime agrees
//! with OpenVINO's own TFLite reader (an independent interpreter of the
//! same file) on the shared COCO-Stuff photos and on photos made here.

mod common;

use std::path::PathBuf;

use common::{deeplab_tflite, shared_fixtures};
use easel::import::tflite::{translate, Head, Model, LOGITS_OUTPUT};
use easel::inference::compute::{Execution, Provider};
use easel::inference::graph_io::GraphInput;
use easel::inference::openvino;
use easel::inference::runtime::{self, ClassesGraph, Graph, SessionOptions};
use image::imageops::FilterType;
use image::RgbImage;

const SIDE: usize = 513;
const CLASSES: usize = 151;
/// Argmax agreement pooled over every photo: the issue asks 0.98; both are
/// fp32 and agreed on every pixel here (AVX512-BF16 EPYC), so only near-ties
/// may differ on another CPU.
const AGREEMENT: f64 = 0.995;
/// Scores: the largest and the mean difference
/// (measured 2.2e-4 and 7.3e-6 on the same machine).
const LOGITS_MAX: f32 = 2e-3;
const LOGITS_MEAN: f32 = 1e-4;

/// The shared COCO-Stuff photos and three made here: a gradient sky over
/// green, noise, and a flat grey frame.
fn photos() -> Vec<(String, RgbImage)> {
    let mut photos: Vec<(String, RgbImage)> = ["val_img", "train_img"]
        .iter()
        .flat_map(|dir| {
            let dir = shared_fixtures().join("coco_stuff").join(dir);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, image::open(&p).unwrap().to_rgb8())
        })
        .collect();
    let side = SIDE as u32;
    photos.push((
        "sky over meadow".into(),
        RgbImage::from_fn(side, side, |_, y| {
            if y < side / 2 {
                image::Rgb([90 + (y / 4) as u8, 150, 230])
            } else {
                image::Rgb([60, 140 - (y / 8) as u8, 40])
            }
        }),
    ));
    let mut state = 7u32;
    photos.push((
        "noise".into(),
        RgbImage::from_fn(side, side, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = state.to_le_bytes();
            image::Rgb([b[1], b[2], b[3]])
        }),
    ));
    photos.push((
        "grey".into(),
        RgbImage::from_pixel(side, side, image::Rgb([128, 128, 128])),
    ));
    photos
}

/// The photo at 513², as [-1, 1] floats, NHWC (TFLite's order).
fn nhwc(photo: &RgbImage) -> Vec<f32> {
    let resized = image::imageops::resize(photo, SIDE as u32, SIDE as u32, FilterType::Triangle);
    resized
        .as_raw()
        .iter()
        .map(|&v| v as f32 / 127.5 - 1.0)
        .collect()
}

/// A `rows`×(len/`rows`) matrix transposed: pixels×channels (NHWC) to
/// channels×pixels (NCHW) and back.
fn transpose(values: &[f32], rows: usize) -> Vec<f32> {
    let cols = values.len() / rows;
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

#[test]
fn the_translated_segmenter_agrees_with_openvinos_tflite_reader() {
    runtime::init(None).expect("ONNX Runtime is installed (make venv)");
    openvino::init(None).expect("OpenVINO is installed (make venv-openvino)");
    let model = Model::read(&std::fs::read(deeplab_tflite()).unwrap()).unwrap();
    let (graph, contract) = translate(&model, &Head::identity(CLASSES), true, "deeplab").unwrap();
    assert_eq!((contract.input, contract.classes), ((SIDE, SIDE), CLASSES));
    let tmp = tempfile::tempdir().unwrap();
    let onnx = tmp.path().join("segmenter.onnx");
    // TensorFlow's atrous convolutions become dilated convolutions: no
    // SPACE_TO_BATCH_ND transposes are left (they cost ONNX Runtime more
    // than half of the network's time).
    let transposes = graph
        .graph
        .nodes
        .iter()
        .filter(|n| n.op_type == "Transpose")
        .count();
    assert_eq!(transposes, 0);
    let bytes = graph.encode();
    // 8-bit weights stay 8-bit (the .tflite is 2.4 MB; in fp32 it would be 4× that).
    assert!(
        bytes.len() < 3_000_000,
        "the graph is {} bytes",
        bytes.len()
    );
    std::fs::write(&onnx, bytes).unwrap();

    let ort_options = SessionOptions {
        threads: 2,
        ..SessionOptions::default()
    };
    let ov_options = SessionOptions {
        threads: 2,
        execution: Execution {
            provider: Provider::OpenVino,
            ..Execution::default()
        },
        ..SessionOptions::default()
    };
    let mut easel_scores = Graph::load(&onnx, &ort_options).unwrap();
    let mut easel_classes = ClassesGraph::open(&onnx, &ort_options).unwrap();
    let mut reference = Graph::load(&deeplab_tflite(), &ov_options).unwrap();

    let (mut agree, mut pixels) = (0usize, 0usize);
    let (mut worst, mut sum, mut count) = (0f32, 0f64, 0usize);
    for (name, photo) in photos() {
        let input = nhwc(&photo);
        let expected = reference
            .run(
                &[GraphInput::f32("sub_7", vec![1, SIDE, SIDE, 3], &input)],
                &["ResizeBilinear_2"],
            )
            .unwrap()
            .remove(0);
        assert_eq!(expected.shape, [1, SIDE, SIDE, CLASSES]);
        let chw = transpose(&input, SIDE * SIDE);
        let logits = easel_scores
            .run(
                &[GraphInput::f32("photo", vec![1, 3, SIDE, SIDE], &chw)],
                &[LOGITS_OUTPUT],
            )
            .unwrap()
            .remove(0);
        let (shape, classes) = easel_classes.classes([1, 3, SIDE, SIDE], &chw).unwrap();
        assert_eq!(shape, [1, SIDE, SIDE]);
        assert_eq!(logits.shape, [1, CLASSES, SIDE, SIDE]);
        // Back to one row of classes per pixel, as OpenVINO answers.
        let logits = transpose(&logits.data, CLASSES);
        let mut same = 0;
        for (p, &class) in classes.iter().enumerate() {
            let row = &expected.data[p * CLASSES..(p + 1) * CLASSES];
            let best = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
                .0;
            same += usize::from(best as i64 == class);
            for (a, b) in row.iter().zip(&logits[p * CLASSES..(p + 1) * CLASSES]) {
                let d = (a - b).abs();
                worst = worst.max(d);
                sum += d as f64;
            }
        }
        count += classes.len() * CLASSES;
        eprintln!(
            "{name}: {:.4} of pixels agree",
            same as f64 / classes.len() as f64
        );
        agree += same;
        pixels += classes.len();
    }
    let pooled = agree as f64 / pixels as f64;
    let mean = (sum / count as f64) as f32;
    eprintln!(
        "pooled agreement {pooled:.5}; scores differ by at most {worst:.2e}, {mean:.2e} on average"
    );
    assert!(
        pooled >= AGREEMENT,
        "argmax agreement {pooled:.4} < {AGREEMENT}"
    );
    assert!(
        worst <= LOGITS_MAX && mean <= LOGITS_MEAN,
        "scores differ by {worst} (max), {mean} (mean)"
    );
}
