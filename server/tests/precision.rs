//! `easel import --precision fp16`: weights stored as float16, computed in
//! float32; the package is half the size and stays close to the reference.

mod common;

use common::{max_abs_diff, request, spade_fixture};
use easel::inference::pipeline::StyleSpec;
use easel::package::npy;

#[test]
fn fp16_package_is_smaller_and_close_to_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let checkpoint = spade_fixture("city35_tiny/checkpoint");
    let fp32 = tmp.path().join("fp32");
    common::import(&checkpoint, &fp32).unwrap();
    let mut req = request(&checkpoint, &tmp.path().join("fp16"));
    req.export.half_weights = true;
    let card = easel::import::spade::import(&req).unwrap().card;
    assert_eq!(card.precision, "fp16");
    let size = |dir: &std::path::Path| std::fs::metadata(dir.join("generator.onnx")).unwrap().len();
    let (full, half) = (size(&fp32), size(&tmp.path().join("fp16")));
    assert!(
        half * 10 < full * 6,
        "fp16 package {half} bytes against fp32 {full}"
    );

    let mut s = common::load(&tmp.path().join("fp16"));
    let inputs = spade_fixture("city35_tiny/inputs");
    let out = common::synthesize(
        &mut s,
        common::read(&inputs.join("label_0.png")),
        Some(common::read(&inputs.join("inst_0.png"))),
        StyleSpec::Default,
    )
    .unwrap();
    let expected = npy::read(&spade_fixture("city35_tiny/expected_output.npy")).unwrap();
    let err = max_abs_diff(&out.data, &expected.data[..out.data.len()]);
    eprintln!("fp16 weights: max abs error against the fp32 reference {err}");
    assert!(err < 2e-2, "max abs error {err}");
    assert!(err > 0.0, "half precision changes the weights");
}
