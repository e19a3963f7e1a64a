//! `easel import` and `easel generate` as a user runs them, and the messages
//! the binary prints when ONNX Runtime or a checkpoint is missing.

use crate::support::{assert_ok, easel, max_abs_diff, spade_fixture, stderr, stdout};

#[test]
fn import_then_generate_reproduces_the_reference_image() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("city");
    let out = easel()
        .arg("import")
        .arg(spade_fixture("city35_tiny/checkpoint"))
        .arg("--out")
        .arg(&pkg)
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = stdout(&out);
    assert!(
        stdout.contains("35 classes + instance edges") && stdout.contains("most upsampling"),
        "{stdout}"
    );
    assert!(stdout.contains("built-in cityscapes table"), "{stdout}");

    let png = tmp.path().join("out.png");
    let raw = tmp.path().join("out.npy");
    let out = easel()
        .args(["generate", "--model"])
        .arg(&pkg)
        .arg("--label")
        .arg(spade_fixture("city35_tiny/inputs/label_1.png"))
        .arg("--instance")
        .arg(spade_fixture("city35_tiny/inputs/inst_1.png"))
        .arg("-o")
        .arg(&png)
        .arg("--raw")
        .arg(&raw)
        .output()
        .unwrap();
    assert_ok(&out);
    let image = image::open(&png).unwrap();
    assert_eq!((image.width(), image.height()), (256, 128));
    let ours = easel::package::npy::read(&raw).unwrap();
    let expected =
        easel::package::npy::read(&spade_fixture("city35_tiny/expected_output.npy")).unwrap();
    let plane = 3 * 256 * 128;
    assert!(max_abs_diff(&ours.data, &expected.data[plane..]) < 1e-4);
}

#[test]
fn missing_onnx_runtime_says_what_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    let out = easel()
        .current_dir(tmp.path())
        .env(
            "ORT_DYLIB_PATH",
            tmp.path().join("nowhere/libonnxruntime.so"),
        )
        .args([
            "generate", "--model", "m", "--label", "l.png", "-o", "o.png",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr(&out);
    assert!(
        stderr.contains("ONNX Runtime was not found")
            && stderr.contains("make venv")
            && stderr.contains("onnxruntime==1.22"),
        "{stderr}"
    );
}

#[test]
fn a_library_that_is_not_onnx_runtime_is_refused_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("libonnxruntime.so");
    std::fs::write(&fake, "not a library").unwrap();
    let out = easel()
        .arg("generate")
        .arg("--ort-lib")
        .arg(&fake)
        .args(["--model", "m", "--label", "l.png", "-o", "o.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr(&out);
    assert!(
        stderr.contains("could not be loaded as ONNX Runtime") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn import_failure_exits_non_zero_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let out = easel()
        .arg("import")
        .arg(tmp.path())
        .arg("--out")
        .arg(tmp.path().join("pkg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr(&out);
    assert!(stderr.contains("latest_net_G.pth"), "{stderr}");
    assert!(!tmp.path().join("pkg").exists());
}

/// `--z` feeds an explicit style vector: the fixture's first z gives the
/// reference's first image; an array of several vectors is refused.
#[test]
fn generate_takes_an_explicit_z_from_a_npy_file() {
    use easel::package::npy;
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("vae");
    assert_ok(
        &easel()
            .arg("import")
            .arg(spade_fixture("vae_tiny/checkpoint"))
            .arg("--out")
            .arg(&pkg)
            .args(["--licence", "CC BY 4.0, weights by the tests"])
            .output()
            .unwrap(),
    );
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("model.json")).unwrap()).unwrap();
    assert_eq!(card["licence"], "CC BY 4.0, weights by the tests");
    let z = npy::read(&spade_fixture("vae_tiny/z.npy")).unwrap();
    let z_dim = z.shape[1];
    let one = tmp.path().join("z0.npy");
    std::fs::write(&one, npy::encode(&[1, z_dim], &z.data[..z_dim])).unwrap();
    let raw = tmp.path().join("out.npy");
    let generate = |z: &std::path::Path| {
        easel()
            .args(["generate", "--model"])
            .arg(&pkg)
            .arg("--label")
            .arg(spade_fixture("vae_tiny/inputs/label_0.png"))
            .arg("--z")
            .arg(z)
            .arg("-o")
            .arg(tmp.path().join("out.png"))
            .arg("--raw")
            .arg(&raw)
            .output()
            .unwrap()
    };
    assert_ok(&generate(&one));
    let ours = npy::read(&raw).unwrap();
    let expected = npy::read(&spade_fixture("vae_tiny/expected_output.npy")).unwrap();
    let err = max_abs_diff(&ours.data, &expected.data[..ours.data.len()]);
    assert!(err < 1e-4, "max abs error {err}");
    let out = generate(&spade_fixture("vae_tiny/z.npy"));
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("shape [3, 256]") && e.contains("one vector"),
        "{e}"
    );
}

/// An OASIS checkpoint folder imports (its EMA weights), and `--z` with a
/// `--region` of its own z gives the reference's local re-roll.
#[test]
fn an_oasis_folder_imports_and_rerolls_a_region_from_the_command_line() {
    use easel::package::npy;
    let fixture = crate::support::shared_fixtures().join("oasis_tiny");
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("oasis");
    let out = easel()
        .arg("import")
        .arg(fixture.join("checkpoint"))
        .arg("--out")
        .arg(&pkg)
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = stdout(&out);
    assert!(
        stdout.contains("oasis generator") && stdout.contains("z 64 per pixel"),
        "{stdout}"
    );
    assert!(stdout.contains("latest_EMA.pth"), "{stdout}");
    let raw = tmp.path().join("out.npy");
    let input = |name: &str| fixture.join("inputs").join(name);
    let region = format!(
        "{}={}",
        input("reroll_mask.png").display(),
        input("reroll_z_region.npy").display()
    );
    let out = easel()
        .args(["generate", "--model"])
        .arg(&pkg)
        .arg("--label")
        .arg(input("label_0.png"))
        .arg("--z")
        .arg(input("z_0.npy"))
        .args(["--region", &region])
        .arg("-o")
        .arg(tmp.path().join("out.png"))
        .arg("--raw")
        .arg(&raw)
        .output()
        .unwrap();
    assert_ok(&out);
    let ours = npy::read(&raw).unwrap();
    let expected = npy::read(&fixture.join("expected_output_reroll.npy")).unwrap();
    let err = max_abs_diff(&ours.data, &expected.data);
    assert!(err < 1e-4, "max abs error {err}");
}

/// `--style-preset` picks a look the package ships; an unknown name is
/// refused with the names there are.
#[test]
fn generate_takes_a_style_preset_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("vae");
    assert_ok(
        &easel()
            .arg("import")
            .arg(spade_fixture("vae_tiny/checkpoint"))
            .arg("--out")
            .arg(&pkg)
            .output()
            .unwrap(),
    );
    let card_path = pkg.join("model.json");
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&card_path).unwrap()).unwrap();
    let z_dim = card["z_dim"].as_u64().unwrap() as usize;
    card["styles"] = serde_json::json!([
        {"name": "noon", "z": vec![0.5; z_dim]},
        {"name": "dawn", "z": vec![-0.5; z_dim]},
    ]);
    std::fs::write(&card_path, serde_json::to_vec(&card).unwrap()).unwrap();
    let generate = |preset: &str, out: &str| {
        easel()
            .args(["generate", "--model"])
            .arg(&pkg)
            .arg("--label")
            .arg(spade_fixture("vae_tiny/inputs/label_0.png"))
            .args(["--style-preset", preset, "-o"])
            .arg(tmp.path().join(out))
            .output()
            .unwrap()
    };
    assert_ok(&generate("noon", "noon.png"));
    assert_ok(&generate("dawn", "dawn.png"));
    let read = |name: &str| image::open(tmp.path().join(name)).unwrap().to_rgb8();
    assert_ne!(read("noon.png"), read("dawn.png"), "two presets, two looks");
    let out = generate("dusk", "dusk.png");
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("`dusk`") && e.contains("noon, dawn"), "{e}");
}

/// `easel generate` on the city fixture with `flags`: its raw output.
fn generate_city(tmp: &std::path::Path, name: &str, flags: &[&str]) -> std::process::Output {
    let pkg = tmp.join("city");
    if !pkg.join("model.json").is_file() {
        let out = easel()
            .arg("import")
            .arg(spade_fixture("city35_tiny/checkpoint"))
            .arg("--out")
            .arg(&pkg)
            .output()
            .unwrap();
        assert_ok(&out);
    }
    easel()
        .args(["generate", "--model"])
        .arg(&pkg)
        .arg("--label")
        .arg(spade_fixture("city35_tiny/inputs/label_0.png"))
        .arg("--instance")
        .arg(spade_fixture("city35_tiny/inputs/inst_0.png"))
        .arg("-o")
        .arg(tmp.join(format!("{name}.png")))
        .arg("--raw")
        .arg(tmp.join(format!("{name}.npy")))
        .args(flags)
        .output()
        .unwrap()
}

#[test]
fn compute_bf16_runs_where_the_cpu_has_it_and_is_refused_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    assert_ok(&generate_city(tmp.path(), "fp32", &["--compute", "fp32"]));
    let out = generate_city(tmp.path(), "bf16", &["--compute", "bf16"]);
    if easel::inference::compute::this_cpu_bf16().is_empty() {
        assert_eq!(out.status.code(), Some(1));
        let stderr = stderr(&out);
        assert!(
            stderr.contains("amx_bf16 or avx512_bf16") && stderr.contains("--compute fp32"),
            "{stderr}"
        );
        return;
    }
    assert_ok(&out);
    let read = |name: &str| {
        easel::package::npy::read(&tmp.path().join(name))
            .unwrap()
            .data
    };
    let err = max_abs_diff(&read("bf16.npy"), &read("fp32.npy"));
    assert!(err > 0.0 && err < 0.15, "bf16 against fp32: {err}");
}

#[test]
fn without_openvino_auto_runs_fp32_and_bf16_says_what_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("nowhere/libopenvino_c.so");
    let nowhere = nowhere.to_str().unwrap();
    let out = generate_city(
        tmp.path(),
        "auto",
        &["--openvino-lib", nowhere, "--compute", "auto"],
    );
    assert_ok(&out);
    let out = generate_city(
        tmp.path(),
        "bf16",
        &["--openvino-lib", nowhere, "--compute", "bf16"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr(&out);
    let expected = if easel::inference::compute::this_cpu_bf16().is_empty() {
        "needs a CPU with native bf16"
    } else {
        "make venv-openvino"
    };
    assert!(
        stderr.contains(expected) && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn a_library_that_is_not_openvino_is_refused_for_bf16_with_a_message() {
    if easel::inference::compute::this_cpu_bf16().is_empty() {
        return; // refused for the CPU first: the test above covers it
    }
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("libopenvino_c.so.2641");
    std::fs::write(&fake, "not a library").unwrap();
    let out = generate_city(
        tmp.path(),
        "bf16",
        &[
            "--openvino-lib",
            fake.to_str().unwrap(),
            "--compute",
            "bf16",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr(&out);
    assert!(
        stderr.contains("could not be loaded as OpenVINO's C library")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
}
