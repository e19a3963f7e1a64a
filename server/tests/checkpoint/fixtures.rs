//! The real SPADE fixtures, in the zip and the legacy container format, read
//! with their shapes and values as a Python reader of the same bytes sees them.

use easel::import::checkpoint::{read_state_dict, read_state_dict_bytes, StateDict, Tensor};

use super::fixture;

fn read_fixture(path: &str) -> StateDict {
    read_state_dict(&fixture(path)).unwrap_or_else(|error| panic!("{error}"))
}

fn shape(state_dict: &StateDict, key: &str) -> Vec<usize> {
    let tensor = state_dict
        .get(key)
        .unwrap_or_else(|| panic!("no tensor {key:?}"));
    tensor.shape.clone()
}

fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= 1e-7, "{actual:?} != {expected:?}");
    }
}

/// Every tensor has as many values as its shape says, all finite, and the weights of
/// the layers are not all zero (the fixtures' biases are).
fn assert_well_formed(state_dict: &StateDict) {
    for (name, tensor) in state_dict {
        assert_eq!(
            tensor.data.len(),
            tensor.shape.iter().product::<usize>(),
            "{name}"
        );
        assert!(
            tensor.data.iter().all(|v| v.is_finite()),
            "{name} has non-finite values"
        );
        if name.ends_with("weight") || name.ends_with("weight_orig") {
            assert!(tensor.data.iter().any(|&v| v != 0.0), "{name} is all zeros");
        }
    }
}

#[test]
fn reads_zip_checkpoint() {
    let state_dict = read_fixture("coco182_tiny/checkpoint/latest_net_G.pth");
    assert_eq!(state_dict.len(), 234);
    // ngf 4 and 182 labels + dontcare + instance edges = 184 semantic channels.
    assert_eq!(shape(&state_dict, "fc.weight"), [64, 184, 3, 3]);
    assert_eq!(
        shape(&state_dict, "head_0.conv_0.weight_orig"),
        [64, 64, 3, 3]
    );
    assert_eq!(shape(&state_dict, "head_0.conv_0.weight_u"), [64]);
    assert_eq!(shape(&state_dict, "head_0.conv_0.weight_v"), [576]);
    assert_eq!(
        shape(&state_dict, "head_0.norm_0.mlp_shared.0.weight"),
        [128, 184, 3, 3]
    );
    assert_eq!(
        shape(&state_dict, "head_0.norm_0.param_free_norm.running_mean"),
        [64]
    );
    assert_eq!(shape(&state_dict, "conv_img.weight"), [3, 4, 3, 3]);
    // Values as a Python reader of the same bytes sees them.
    assert_close(
        &state_dict["fc.weight"].data[..3],
        &[0.014900192, 0.0046103853, -0.017883727],
    );
    assert_close(
        &state_dict["head_0.norm_0.param_free_norm.running_var"].data[..2],
        &[0.0464537, 0.04629625],
    );
    // An int64 buffer, zero-dimensional.
    let tracked = &state_dict["head_0.norm_0.param_free_norm.num_batches_tracked"];
    assert_eq!(
        *tracked,
        Tensor {
            shape: vec![],
            data: vec![30.0]
        }
    );
    assert_well_formed(&state_dict);
}

#[test]
fn reads_legacy_pickle_checkpoint() {
    let state_dict = read_fixture("city35_tiny/checkpoint/latest_net_G.pth");
    assert_eq!(state_dict.len(), 167);
    // 35 labels + instance edges; instance norm, so no spectral norm and no running stats.
    assert_eq!(shape(&state_dict, "fc.weight"), [64, 36, 3, 3]);
    assert_eq!(shape(&state_dict, "head_0.conv_0.weight"), [64, 64, 3, 3]);
    assert_eq!(
        shape(&state_dict, "head_0.norm_0.mlp_shared.0.weight"),
        [128, 36, 3, 3]
    );
    assert!(state_dict
        .keys()
        .all(|k| !k.ends_with("weight_orig") && !k.contains("running")));
    assert_close(
        &state_dict["fc.weight"].data[..3],
        &[-0.013045165, -0.011651144, 0.05095228],
    );
    assert_close(
        &state_dict["head_0.conv_0.weight"].data[..2],
        &[-0.02236486, -0.030818209],
    );
    assert_well_formed(&state_dict);
}

#[test]
fn reads_vae_generator_and_encoder_checkpoints() {
    let generator = read_fixture("vae_tiny/checkpoint/latest_net_G.pth");
    assert_eq!(generator.len(), 234);
    assert_eq!(shape(&generator, "fc.weight"), [512, 256]); // z_dim 256 → 16·ngf channels of a 4×2 start map
    assert_close(
        &generator["fc.weight"].data[..2],
        &[-0.06353346, -0.0467501],
    );
    assert_well_formed(&generator);

    let encoder = read_fixture("vae_tiny/checkpoint/latest_net_E.pth");
    assert_eq!(encoder.len(), 22);
    assert_eq!(shape(&encoder, "layer1.0.weight_orig"), [4, 3, 3, 3]);
    assert_eq!(shape(&encoder, "fc_mu.weight"), [256, 512]);
    assert_eq!(shape(&encoder, "fc_var.weight"), [256, 512]);
    assert_close(
        &encoder["layer1.0.weight_u"].data[..2],
        &[0.489_845_8, 0.622_570_4],
    );
    assert_well_formed(&encoder);
}

#[test]
fn reads_the_same_from_memory_as_from_a_file() {
    let path = fixture("vae_tiny/checkpoint/latest_net_E.pth");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        read_state_dict_bytes(&bytes).unwrap(),
        read_state_dict(&path).unwrap()
    );
}
