//! Shared by the library tests here and the end-to-end tests in the top-level
//! tests/ (through tests/support): fixture paths, package import, PNG bytes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use easel::import::spade::arch::ArchFlags;
use easel::import::spade::export::ExportOptions;
use easel::import::spade::{self, ImportError, ImportReport, ImportRequest};
use easel::inference::pipeline::{self, Limits, StyleSpec, SynthesisRequest};
use easel::inference::runtime::Output;
use easel::inference::runtime::{self, ModelSession, SessionOptions};
use easel::package::maps::{InstanceMap, LabelEncoding, LabelMap, DEFAULT_MAX_PIXELS};
use easel::package::{ModelCard, ModelPackage};

/// The repository's root (the crate is in server/).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared fixtures: `$EASEL_SHARED_DIR/fixtures`, else `shared/fixtures`
/// beside the repository (the usual checkout) or inside it.
pub fn shared_fixtures() -> PathBuf {
    let repo = repo();
    let candidates = [
        std::env::var_os("EASEL_SHARED_DIR").map(PathBuf::from),
        Some(repo.join("../shared")),
        Some(repo.join("shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|d| d.join("fixtures"))
        .find(|d| d.is_dir())
        .expect("the shared fixtures: set EASEL_SHARED_DIR to the folder that holds fixtures/")
}

/// The shared DeepLabV3 + MobileNetV2 (ADE20K) TFLite segmenter.
pub fn deeplab_tflite() -> PathBuf {
    shared_fixtures().join("segmenters/ade20k_deeplabv3_mnv2/deeplabv3_mobilenetv2_ade20k.tflite")
}

pub fn spade_fixture(name: &str) -> PathBuf {
    shared_fixtures().join("spade").join(name)
}

pub fn request(checkpoint_dir: &Path, out: &Path) -> ImportRequest {
    ImportRequest {
        checkpoint_dir: checkpoint_dir.to_path_buf(),
        epoch: "latest".into(),
        out: out.to_path_buf(),
        classes: None,
        name: None,
        flags: ArchFlags::default(),
        export: ExportOptions::default(),
        licence: None,
        no_ema: false,
    }
}

pub fn import(checkpoint_dir: &Path, out: &Path) -> Result<ImportReport, ImportError> {
    spade::import(&request(checkpoint_dir, out))
}

/// Imports the shared fixture `name` (e.g. `coco182_tiny`) as a package in `out`.
pub fn import_fixture(name: &str, out: &Path) -> PathBuf {
    import(&spade_fixture(name).join("checkpoint"), out).expect("fixture imports");
    out.to_path_buf()
}

/// Opens a package in ONNX Runtime on two threads.
pub fn load(package: &Path) -> ModelSession {
    runtime::init(None).expect("ONNX Runtime is installed (make venv)");
    ModelSession::load(
        ModelPackage::open(package).unwrap(),
        SessionOptions {
            threads: 2,
            ..SessionOptions::default()
        },
    )
    .unwrap()
}

/// Imports a shared fixture into `tmp/<name>` and opens it in ONNX Runtime.
pub fn session(name: &str, tmp: &Path) -> ModelSession {
    load(&import_fixture(name, &tmp.join(name)))
}

/// The model card the fake generators of the tests use: three classes, red,
/// green and blue, at 64×64.
pub fn fake_card() -> ModelCard {
    serde_json::from_str(include_str!("../fixtures/fake_card.json")).unwrap()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A label map and its instance map from PNG files, validated for `card`.
pub fn maps(label: &Path, instance: &Path, card: &ModelCard) -> (LabelMap, InstanceMap) {
    let label = LabelMap::from_png(&read(label), card, DEFAULT_MAX_PIXELS).unwrap();
    let instance = InstanceMap::from_png(&read(instance), DEFAULT_MAX_PIXELS).unwrap();
    (label, instance)
}

/// An image as PNG bytes.
pub fn encode_png(image: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .into()
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A label map as an 8- or 16-bit grayscale PNG of its indices.
pub fn png_of(label: &LabelMap) -> Vec<u8> {
    let (w, h) = (label.width() as u32, label.height() as u32);
    if label.labels().iter().all(|&v| v < 256) {
        let px = label.labels().iter().map(|&v| v as u8).collect();
        encode_png(image::GrayImage::from_raw(w, h, px).unwrap())
    } else {
        let px = label.labels().iter().map(|&v| v as u16).collect();
        encode_png(image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(w, h, px).unwrap())
    }
}

/// The raw output, (1, 3, H, W) in [-1, 1], for a label map PNG (and an
/// instance map PNG) with `style`, through the one pipeline as the API runs
/// it (the map's own size).
pub fn synthesize(
    session: &mut ModelSession,
    label: Vec<u8>,
    instance: Option<Vec<u8>>,
    style: StyleSpec,
) -> Result<Output, pipeline::SynthesisError> {
    let request = SynthesisRequest {
        label: label.into(),
        encoding: LabelEncoding::Index,
        instance: instance.map(Into::into),
        style,
        ..SynthesisRequest::default()
    };
    let limits = Limits {
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    run_one(session, &request, limits).map(|(output, _)| output)
}

/// One image for `request` on a session the test owns, through the
/// pipeline's steps (prepare, one generator call), raw: (1, 3, H, W) in
/// [-1, 1], with how `render` finishes it. Servers, runs and `easel
/// generate` take the same steps through the model's `Synthesizer`.
pub fn run_one(
    session: &mut ModelSession,
    request: &SynthesisRequest,
    limits: Limits,
) -> Result<(Output, pipeline::Finish), pipeline::SynthesisError> {
    let card = session.package.card.clone();
    let prepared = pipeline::prepare(&card, request, limits, session.execution().compute)?;
    let output = pipeline::generate_batch(session, std::slice::from_ref(&prepared.work))?
        .pop()
        .ok_or_else(|| pipeline::SynthesisError::BadOutput("no image".into()))?;
    Ok((output, prepared.finish))
}

/// A style image file as the pipeline takes it.
pub fn style_image(path: &Path) -> StyleSpec {
    StyleSpec::Image {
        image: read(path).into(),
        sample: None,
    }
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "arrays differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Copies a fixture's checkpoint folder so that a test can change it.
pub fn copy_checkpoint(name: &str, to: &Path) -> PathBuf {
    let src = spade_fixture(name).join("checkpoint");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let dest = to.join(entry.file_name());
        std::fs::copy(entry.path(), &dest).unwrap();
        let mut perms = std::fs::metadata(&dest).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&dest, perms).unwrap();
    }
    to.to_path_buf()
}
