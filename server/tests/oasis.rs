//! OASIS generators import and reproduce the reference's outputs: the EMA
//! weights by default and the raw generator with --no-ema, the noise given
//! per image or per region (local re-roll), in fp32 and fp16; what cannot be
//! determined or does not fit is refused with the fix.

mod common;

use std::path::{Path, PathBuf};

use common::{max_abs_diff, read, shared_fixtures};
use easel::import::spade::export::ExportOptions;
use easel::import::spade::{self, ImportReport};
use easel::inference::pipeline::{
    self, Limits, NoiseRegion, NoiseSpec, RegionZ, StyleSpec, SynthesisRequest, Work, ZVector,
};
use easel::inference::runtime::{ModelSession, Output};
use easel::package::maps::{LabelEncoding, DEFAULT_MAX_PIXELS};
use easel::package::{npy, ModelFamily};

const TOLERANCE: f32 = 1e-4;
const LIMITS: Limits = Limits {
    max_pixels: DEFAULT_MAX_PIXELS,
};

fn fixture() -> PathBuf {
    shared_fixtures().join("oasis_tiny")
}

fn z(i: usize) -> ZVector {
    ZVector(
        npy::read(&fixture().join(format!("inputs/z_{i}.npy")))
            .unwrap()
            .data,
    )
}

fn import_with(out: &Path, edit: impl FnOnce(&mut spade::ImportRequest)) -> ImportReport {
    let mut req = common::request(&fixture().join("checkpoint"), out);
    edit(&mut req);
    spade::import(&req).expect("the OASIS fixture imports")
}

fn request(i: usize, style: StyleSpec, regions: Vec<NoiseRegion>) -> SynthesisRequest {
    SynthesisRequest {
        label: read(&fixture().join(format!("inputs/label_{i}.png"))).into(),
        encoding: LabelEncoding::Index,
        style,
        noise: NoiseSpec { regions },
        ..SynthesisRequest::default()
    }
}

fn run(session: &mut ModelSession, request: &SynthesisRequest) -> Output {
    common::run_one(session, request, LIMITS).unwrap().0
}

/// The fixture's three maps with their noise, against `expected`.
fn reproduces(session: &mut ModelSession, expected: &str, tolerance: f32) {
    let expected = npy::read(&fixture().join(expected)).unwrap();
    let plane = 3 * 64 * 64;
    for i in 0..3 {
        let out = run(session, &request(i, StyleSpec::Vector(z(i)), vec![]));
        let err = max_abs_diff(&out.data, &expected.data[i * plane..(i + 1) * plane]);
        assert!(err < tolerance, "image {i}: max abs error {err}");
    }
}

#[test]
fn the_ema_generator_is_imported_by_default_and_matches_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let report = import_with(&tmp.path().join("p"), |_| {});
    let card = &report.card;
    assert_eq!(card.family, ModelFamily::Oasis);
    assert_eq!((card.z_dim, card.z_per_pixel), (Some(64), true));
    assert_eq!(card.source.generator.file, "latest_EMA.pth");
    assert_eq!(card.label_classes(), 21, "every channel is a class");
    assert!(!card.sizes.fixed && card.sizes.multiple_of == 32);
    assert!(card.licence.as_deref().unwrap().contains("AGPL-3.0"));
    assert!(report.notes.iter().any(|n| n.contains("EMA")));
    reproduces(
        &mut common::load(&tmp.path().join("p")),
        "expected_output.npy",
        TOLERANCE,
    );
}

#[test]
fn the_raw_generator_is_imported_with_no_ema_and_matches_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let report = import_with(&tmp.path().join("p"), |r| r.no_ema = true);
    assert_eq!(report.card.source.generator.file, "latest_G.pth");
    reproduces(
        &mut common::load(&tmp.path().join("p")),
        "expected_output_G.npy",
        TOLERANCE,
    );
}

#[test]
fn a_region_with_its_own_noise_matches_the_references_local_reroll() {
    let tmp = tempfile::tempdir().unwrap();
    import_with(&tmp.path().join("p"), |_| {});
    let mut session = common::load(&tmp.path().join("p"));
    let region_z = npy::read(&fixture().join("inputs/reroll_z_region.npy")).unwrap();
    let region = NoiseRegion {
        mask: read(&fixture().join("inputs/reroll_mask.png")).into(),
        z: RegionZ::Vector(ZVector(region_z.data)),
    };
    let out = run(
        &mut session,
        &request(0, StyleSpec::Vector(z(0)), vec![region]),
    );
    let expected = npy::read(&fixture().join("expected_output_reroll.npy")).unwrap();
    let err = max_abs_diff(&out.data, &expected.data);
    assert!(err < TOLERANCE, "max abs error {err}");
}

/// OASIS's 3D noise given whole, one z per pixel (here the re-roll case's
/// z_spatial, built as the fixture's README says), through `--z`'s parser.
#[test]
fn a_per_pixel_z_map_matches_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    import_with(&tmp.path().join("p"), |_| {});
    let mut session = common::load(&tmp.path().join("p"));
    let mask = image::open(fixture().join("inputs/reroll_mask.png"))
        .unwrap()
        .to_luma8();
    let (outside, inside) = (
        z(0).0,
        npy::read(&fixture().join("inputs/reroll_z_region.npy"))
            .unwrap()
            .data,
    );
    let plane = 64 * 64;
    let mut map = vec![0f32; 64 * plane];
    for (i, px) in mask.pixels().enumerate() {
        let z = if px[0] == 255 { &inside } else { &outside };
        for c in 0..64 {
            map[c * plane + i] = z[c];
        }
    }
    let style = StyleSpec::parse_z(&npy::encode(&[1, 64, 64, 64], &map)).unwrap();
    assert!(matches!(style, StyleSpec::Map(_)));
    let out = run(&mut session, &request(0, style, vec![]));
    let expected = npy::read(&fixture().join("expected_output_reroll.npy")).unwrap();
    let err = max_abs_diff(&out.data, &expected.data);
    assert!(err < TOLERANCE, "max abs error {err}");

    // A map of another size, or for a model that takes one z, is refused.
    let small = StyleSpec::parse_z(&npy::encode(&[64, 32, 32], &map[..64 * 1024])).unwrap();
    let e = common::run_one(&mut session, &request(0, small, vec![]), LIMITS)
        .unwrap_err()
        .to_string();
    assert!(e.contains("32×32") && e.contains("64×64"), "{e}");
}

#[test]
fn a_seeded_region_is_reproducible_and_a_region_over_nothing_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    import_with(&tmp.path().join("p"), |_| {});
    let mut session = common::load(&tmp.path().join("p"));
    let mask = read(&fixture().join("inputs/reroll_mask.png"));
    let seeded = |seed| NoiseRegion {
        mask: mask.clone().into(),
        z: RegionZ::Seed(seed),
    };
    let base = run(&mut session, &request(1, StyleSpec::Seed(3), vec![]));
    let a = run(
        &mut session,
        &request(1, StyleSpec::Seed(3), vec![seeded(9)]),
    );
    let again = run(
        &mut session,
        &request(1, StyleSpec::Seed(3), vec![seeded(9)]),
    );
    let b = run(
        &mut session,
        &request(1, StyleSpec::Seed(3), vec![seeded(10)]),
    );
    assert_eq!(a.data, again.data, "the same seed gives the same image");
    assert!(
        max_abs_diff(&a.data, &base.data) > 1e-2,
        "the region changed"
    );
    assert!(
        max_abs_diff(&a.data, &b.data) > 1e-2,
        "another seed, another image"
    );
    // A region whose seed draws the image's own z leaves it as it was.
    let same = run(
        &mut session,
        &request(1, StyleSpec::Seed(3), vec![seeded(3)]),
    );
    assert!(max_abs_diff(&same.data, &base.data) < 1e-6);
}

#[test]
fn three_maps_in_one_batch_give_what_they_give_alone() {
    let tmp = tempfile::tempdir().unwrap();
    import_with(&tmp.path().join("p"), |_| {});
    let mut session = common::load(&tmp.path().join("p"));
    let card = session.package.card.clone();
    let works: Vec<Work> = (0..3)
        .map(|i| {
            pipeline::prepare(
                &card,
                &request(i, StyleSpec::Vector(z(i)), vec![]),
                LIMITS,
                pipeline::Compute::Fp32,
            )
            .unwrap()
            .work
        })
        .collect();
    let batch = pipeline::generate_batch(&mut session, &works).unwrap();
    for (i, out) in batch.iter().enumerate() {
        let alone = pipeline::generate_batch(&mut session, &works[i..=i]).unwrap();
        let err = max_abs_diff(&out.data, &alone[0].data);
        assert!(err < 1e-5, "image {i}: batch and alone differ by {err}");
    }
}

#[test]
fn an_fp16_package_stays_within_the_half_precision_bound() {
    let tmp = tempfile::tempdir().unwrap();
    import_with(&tmp.path().join("p"), |r| {
        r.export = ExportOptions {
            half_weights: true,
            ..ExportOptions::default()
        }
    });
    reproduces(
        &mut common::load(&tmp.path().join("p")),
        "expected_output.npy",
        2e-2,
    );
}

/// A copy of the fixture's checkpoint folder that a test can change.
fn copy_checkpoint(to: &Path) -> PathBuf {
    let src = fixture().join("checkpoint");
    std::fs::create_dir_all(to.join("models")).unwrap();
    for file in ["opt.txt", "models/latest_EMA.pth", "models/latest_G.pth"] {
        std::fs::copy(src.join(file), to.join(file)).unwrap();
        let mut perms = std::fs::metadata(to.join(file)).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(to.join(file), perms).unwrap();
    }
    to.to_path_buf()
}

fn refusal(dir: &Path, edit: impl FnOnce(&mut spade::ImportRequest)) -> String {
    let mut req = common::request(dir, &dir.join("out"));
    edit(&mut req);
    spade::import(&req).unwrap_err().to_string()
}

#[test]
fn an_oasis_folder_without_opt_txt_or_its_weights_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_checkpoint(&tmp.path().join("ck"));
    std::fs::remove_file(dir.join("opt.txt")).unwrap();
    let e = refusal(&dir, |_| {});
    assert!(e.contains("85 channels") && e.contains("opt.txt"), "{e}");

    let dir = copy_checkpoint(&tmp.path().join("ck2"));
    std::fs::write(
        dir.join("opt.txt"),
        std::fs::read_to_string(dir.join("opt.txt"))
            .unwrap()
            .replace("spade_ks: 1 ", "spade_ks: 3 "),
    )
    .unwrap();
    let e = refusal(&dir, |_| {});
    assert!(e.contains("spade_ks 3") && e.contains("1×1"), "{e}");

    std::fs::remove_file(dir.join("models/latest_G.pth")).unwrap();
    let e = refusal(&dir, |r| r.no_ema = true);
    assert!(
        e.contains("latest_G.pth") && e.contains("only the EMA"),
        "{e}"
    );
    let e = refusal(&dir, |r| r.epoch = "200".into());
    assert!(e.contains("OASIS") && e.contains("latest"), "{e}");
}
