//! The exported segmenter against the trainer's CompactUNet computed here,
//! by hand, on a tiny random one (width 2, three classes): the edge padding
//! to a multiple of 8 and the crop back, the folded batch norms, the max
//! pools, the transposed convolutions, the skips, the 1×1 head, the argmax
//! and the mapping to the package's classes, all through ONNX Runtime.

mod common;

use easel::import::checkpoint::StateDict;
use easel::import::onnx::proto::Model;
use easel::import::segmenter::{graph, random_state_dict, SegmenterSpec, LEVELS};
use easel::import::spade::export::ExportOptions;
use easel::import::spade::weights::Weights;
use easel::inference::runtime::{self, SegmenterSession, SessionOptions};
use easel::package::{ModelPackage, SegmenterCard, SourceFile, CARD_FILE, GENERATOR_FILE};

const SPEC: SegmenterSpec = SegmenterSpec {
    classes: 3,
    width: 2,
};
const BN_EPS: f32 = 1e-5;

/// A feature map, (C, H, W) in C order.
#[derive(Clone)]
struct Map {
    c: usize,
    h: usize,
    w: usize,
    data: Vec<f32>,
}

impl Map {
    fn at(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.h + y) * self.w + x]
    }
}

fn tensor<'a>(sd: &'a StateDict, key: &str) -> &'a [f32] {
    &sd.get(key).unwrap_or_else(|| panic!("no {key}")).data
}

/// 3×3 conv, zero padding 1, no bias; then eval-mode batch norm and ReLU.
fn conv_bn_relu(x: &Map, sd: &StateDict, conv: &str, norm: &str, out: usize) -> Map {
    let w = tensor(sd, &format!("{conv}.weight"));
    let (gamma, beta) = (
        tensor(sd, &format!("{norm}.weight")),
        tensor(sd, &format!("{norm}.bias")),
    );
    let (mean, var) = (
        tensor(sd, &format!("{norm}.running_mean")),
        tensor(sd, &format!("{norm}.running_var")),
    );
    let mut data = vec![0f32; out * x.h * x.w];
    for o in 0..out {
        for y in 0..x.h {
            for xx in 0..x.w {
                let mut sum = 0f32;
                for c in 0..x.c {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (sy, sx) = (y as isize + ky - 1, xx as isize + kx - 1);
                            if sy < 0 || sx < 0 || sy >= x.h as isize || sx >= x.w as isize {
                                continue;
                            }
                            let weight = w[((o * x.c + c) * 3 + ky as usize) * 3 + kx as usize];
                            sum += weight * x.at(c, sy as usize, sx as usize);
                        }
                    }
                }
                let normed = (sum - mean[o]) / (var[o] + BN_EPS).sqrt() * gamma[o] + beta[o];
                data[(o * x.h + y) * x.w + xx] = normed.max(0.0);
            }
        }
    }
    Map {
        c: out,
        h: x.h,
        w: x.w,
        data,
    }
}

fn block(x: &Map, sd: &StateDict, prefix: &str, out: usize) -> Map {
    let a = conv_bn_relu(x, sd, &format!("{prefix}.0"), &format!("{prefix}.1"), out);
    conv_bn_relu(&a, sd, &format!("{prefix}.3"), &format!("{prefix}.4"), out)
}

fn max_pool(x: &Map) -> Map {
    let (h, w) = (x.h / 2, x.w / 2);
    let mut data = Vec::with_capacity(x.c * h * w);
    for c in 0..x.c {
        for y in 0..h {
            for xx in 0..w {
                let v = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|&(dy, dx)| x.at(c, 2 * y + dy, 2 * xx + dx))
                    .fold(f32::NEG_INFINITY, f32::max);
                data.push(v);
            }
        }
    }
    Map { c: x.c, h, w, data }
}

/// ConvTranspose2d(k=2, stride=2), weight (in, out, 2, 2).
fn up(x: &Map, sd: &StateDict, i: usize, out: usize) -> Map {
    let w = tensor(sd, &format!("up.{i}.weight"));
    let b = tensor(sd, &format!("up.{i}.bias"));
    let (h, wd) = (2 * x.h, 2 * x.w);
    let mut data = vec![0f32; out * h * wd];
    for (o, &bias) in b.iter().enumerate() {
        for y in 0..h {
            for xx in 0..wd {
                let (sy, sx, ky, kx) = (y / 2, xx / 2, y % 2, xx % 2);
                let mut sum = bias;
                for c in 0..x.c {
                    sum += x.at(c, sy, sx) * w[((c * out + o) * 2 + ky) * 2 + kx];
                }
                data[(o * h + y) * wd + xx] = sum;
            }
        }
    }
    Map {
        c: out,
        h,
        w: wd,
        data,
    }
}

fn concat(a: &Map, b: &Map) -> Map {
    let mut data = a.data.clone();
    data.extend_from_slice(&b.data);
    Map {
        c: a.c + b.c,
        h: a.h,
        w: a.w,
        data,
    }
}

/// The class of each pixel and the margin of its logit over the next best.
fn reference(sd: &StateDict, photo: &Map) -> Vec<(usize, f32)> {
    // predict(): replicate-pad bottom and right to a multiple of 2^(LEVELS-1).
    let m = 1 << (LEVELS - 1);
    let (h, w) = (photo.h.div_ceil(m) * m, photo.w.div_ceil(m) * m);
    let mut data = Vec::with_capacity(3 * h * w);
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                data.push(photo.at(c, y.min(photo.h - 1), x.min(photo.w - 1)));
            }
        }
    }
    let mut x = Map { c: 3, h, w, data };
    let widths: Vec<usize> = (0..LEVELS).map(|i| SPEC.width << i).collect();
    let mut skips = Vec::new();
    for (i, &width) in widths.iter().enumerate() {
        if i > 0 {
            x = max_pool(&x);
        }
        x = block(&x, sd, &format!("down.{i}"), width);
        skips.push(x.clone());
    }
    for i in (0..LEVELS - 1).rev() {
        let joined = concat(&up(&x, sd, i, widths[i]), &skips[i]);
        x = block(&joined, sd, &format!("merge.{i}"), widths[i]);
    }
    let (hw, hb) = (tensor(sd, "head.weight"), tensor(sd, "head.bias"));
    let mut out = Vec::with_capacity(photo.h * photo.w);
    for y in 0..photo.h {
        for xx in 0..photo.w {
            let logits: Vec<f32> = (0..SPEC.classes)
                .map(|k| {
                    hb[k]
                        + (0..x.c)
                            .map(|c| hw[k * x.c + c] * x.at(c, y, xx))
                            .sum::<f32>()
                })
                .collect();
            let best = (0..SPEC.classes)
                .fold(0, |best, k| if logits[k] > logits[best] { k } else { best });
            let next = (0..SPEC.classes)
                .filter(|&k| k != best)
                .map(|k| logits[k])
                .fold(f32::NEG_INFINITY, f32::max);
            out.push((best, logits[best] - next));
        }
    }
    out
}

/// A photo of smooth random colours in [-1, 1].
fn photo(h: usize, w: usize, seed: u64) -> Map {
    let mut rng = easel::random::Rng::new(seed);
    let data = (0..3 * h * w).map(|_| rng.range(-1.0, 1.0)).collect();
    Map { c: 3, h, w, data }
}

/// A package holding `model` as its segmenter, opened in ONNX Runtime.
fn session(model: &Model, tmp: &std::path::Path) -> SegmenterSession {
    let mut card = common::fake_card();
    card.segmenter = Some(SegmenterCard {
        file: "segmenter.onnx".into(),
        class_table: "fake".into(),
        precision: "fp32".into(),
        source: SourceFile {
            file: "tiny.pth".into(),
            sha256: String::new(),
        },
    });
    std::fs::write(tmp.join(CARD_FILE), serde_json::to_vec(&card).unwrap()).unwrap();
    std::fs::write(tmp.join(GENERATOR_FILE), b"not read here").unwrap();
    std::fs::write(tmp.join("segmenter.onnx"), model.encode()).unwrap();
    runtime::init(None).expect("ONNX Runtime is installed (make venv)");
    let package = ModelPackage::open(tmp).unwrap();
    let options = SessionOptions {
        threads: 1,
        ..SessionOptions::default()
    };
    SegmenterSession::load(&package, &options)
        .unwrap()
        .expect("the card names the segmenter")
}

/// Runs the exported graph on photos of several sizes and compares every
/// pixel whose class the reference is sure of (margin over `margin`).
fn check(to_package: &[i64], export: ExportOptions, margin: f32) {
    let sd = random_state_dict(&SPEC, 11);
    let weights = Weights::new(sd.clone(), "tiny.pth");
    let model = graph(&SPEC, &weights, to_package, export).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut segmenter = session(&model, tmp.path());
    for (seed, (h, w)) in [(5usize, 7usize), (8, 8), (12, 20), (1, 1)]
        .into_iter()
        .enumerate()
    {
        let input = photo(h, w, seed as u64);
        let (shape, classes) = segmenter
            .own_classes([1, 3, h, w], &input.data)
            .expect("the package has its own segmenter")
            .unwrap();
        assert_eq!(shape, [1, h, w], "the answer is cropped back to {w}×{h}");
        let expected = reference(&sd, &input);
        let sure: Vec<usize> = (0..h * w).filter(|&i| expected[i].1 > margin).collect();
        assert!(
            sure.len() * 2 >= h * w || h * w < 4,
            "{w}×{h}: only {} of {} pixels are clear-cut; pick another seed",
            sure.len(),
            h * w
        );
        for i in sure {
            assert_eq!(
                classes[i], to_package[expected[i].0],
                "{w}×{h}, pixel {i}: the reference says class {} (margin {})",
                expected[i].0, expected[i].1
            );
        }
    }
}

#[test]
fn the_graph_computes_the_trainers_unet() {
    check(&[0, 1, 2], ExportOptions::default(), 1e-4);
}

#[test]
fn the_graph_answers_the_packages_classes() {
    check(&[2, 0, 1], ExportOptions::default(), 1e-4);
}

#[test]
fn half_precision_weights_give_the_same_classes() {
    check(
        &[0, 1, 2],
        ExportOptions {
            half_weights: true,
            ..ExportOptions::default()
        },
        0.05,
    );
}
