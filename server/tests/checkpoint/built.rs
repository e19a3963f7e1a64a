//! Checkpoints built here for what the fixtures lack: every dtype, strided and
//! offset views, wrappers and prefixes; pickles that are not state dicts,
//! storages that are missing or too small; and damaged bytes that must be
//! refused without a panic.

use easel::import::checkpoint::{read_state_dict_bytes, Tensor};

use super::torch_save::{
    f32_bytes, legacy_checkpoint, tensor, zip_checkpoint, FakeTensor, Pickler,
};
use super::{assert_mentions, error_for, fixture};

#[test]
fn converts_every_supported_dtype_to_f32() {
    let tensors = [
        FakeTensor {
            shape: &[2],
            stride: &[1],
            ..tensor("half", "HalfStorage", "0", 2)
        },
        FakeTensor {
            shape: &[2],
            stride: &[1],
            ..tensor("bfloat", "BFloat16Storage", "1", 2)
        },
        FakeTensor {
            shape: &[1],
            stride: &[1],
            ..tensor("double", "DoubleStorage", "2", 1)
        },
        tensor("long", "LongStorage", "3", 1),
        FakeTensor {
            shape: &[2],
            stride: &[1],
            ..tensor("int", "IntStorage", "4", 2)
        },
        FakeTensor {
            shape: &[3],
            stride: &[1],
            ..tensor("byte", "ByteStorage", "5", 3)
        },
        FakeTensor {
            shape: &[2],
            stride: &[1],
            ..tensor("bool", "BoolStorage", "6", 2)
        },
    ];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let records = [
        ("0", vec![0x00, 0x3c, 0x00, 0xb8]), // 1.0, -0.5
        ("1", vec![0x80, 0x3f, 0x40, 0xc0]), // 1.0, -3.0
        ("2", 0.25f64.to_le_bytes().to_vec()),
        ("3", (-7i64).to_le_bytes().to_vec()),
        (
            "4",
            [5i32, -6].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        ("5", vec![0, 128, 255]),
        ("6", vec![1, 0]),
    ];
    let state_dict = read_state_dict_bytes(&zip_checkpoint(&pickle, &records)).unwrap();
    let data = |name: &str| state_dict[name].data.clone();
    assert_eq!(data("half"), [1.0, -0.5]);
    assert_eq!(data("bfloat"), [1.0, -3.0]);
    assert_eq!(data("double"), [0.25]);
    assert_eq!(
        state_dict["long"],
        Tensor {
            shape: vec![],
            data: vec![-7.0]
        }
    );
    assert_eq!(data("int"), [5.0, -6.0]);
    assert_eq!(data("byte"), [0.0, 128.0, 255.0]);
    assert_eq!(data("bool"), [1.0, 0.0]);
}

#[test]
fn materialises_offset_and_strided_views_in_c_order() {
    // One storage of 0..7 shared by a transposed view and an offset slice.
    let tensors = [
        FakeTensor {
            offset: 1,
            shape: &[2, 3],
            stride: &[1, 2],
            ..tensor("transposed", "FloatStorage", "0", 7)
        },
        FakeTensor {
            offset: 4,
            shape: &[3],
            stride: &[1],
            ..tensor("tail", "FloatStorage", "0", 7)
        },
    ];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let storage = f32_bytes(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    for bytes in [
        zip_checkpoint(&pickle, &[("0", storage.clone())]),
        legacy_checkpoint(&pickle, &[("0", 7, storage.clone())]),
    ] {
        let state_dict = read_state_dict_bytes(&bytes).unwrap();
        assert_eq!(state_dict["transposed"].shape, [2, 3]);
        assert_eq!(
            state_dict["transposed"].data,
            [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
        );
        assert_eq!(state_dict["tail"].data, [4.0, 5.0, 6.0]);
    }
}

#[test]
fn reads_legacy_storage_views() {
    // torch < 1.0 could pickle a view (key, offset, len) of a larger root storage.
    let mut pickle = Pickler::new();
    pickle
        .global("collections", "OrderedDict")
        .op(b")R")
        .str("w");
    let view = FakeTensor {
        shape: &[2],
        stride: &[1],
        offset: 1,
        ..tensor("w", "FloatStorage", "root", 6)
    };
    let pickle = pickle.tensor(&view, Some(("view", 2, 3))).op(b"s").finish();
    let storage = f32_bytes(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let state_dict =
        read_state_dict_bytes(&legacy_checkpoint(&pickle, &[("root", 6, storage)])).unwrap();
    assert_eq!(state_dict["w"].data, [3.0, 4.0]);
}

#[test]
fn unwraps_a_state_dict_entry_and_strips_the_data_parallel_prefix() {
    let tensors = [
        FakeTensor {
            shape: &[1],
            stride: &[1],
            ..tensor("module.fc.weight", "FloatStorage", "0", 1)
        },
        tensor("module.fc.bias", "FloatStorage", "1", 1),
    ];
    let mut pickle = Pickler::new();
    pickle
        .op(b"}(")
        .str("epoch")
        .int(20)
        .str("state_dict")
        .state_dict(&tensors)
        .op(b"u");
    let records = [("0", f32_bytes(&[2.0])), ("1", f32_bytes(&[3.0]))];
    let state_dict = read_state_dict_bytes(&zip_checkpoint(&pickle.finish(), &records)).unwrap();
    assert_eq!(
        state_dict.keys().collect::<Vec<_>>(),
        ["fc.bias", "fc.weight"]
    );
    assert_eq!(state_dict["fc.weight"].data, [2.0]);
}

#[test]
fn reads_tensors_wrapped_as_parameters() {
    let weight = FakeTensor {
        shape: &[2],
        stride: &[1],
        ..tensor("weight", "FloatStorage", "0", 2)
    };
    let mut pickle = Pickler::new();
    pickle
        .global("collections", "OrderedDict")
        .op(b")R")
        .str("weight");
    pickle
        .global("torch._utils", "_rebuild_parameter")
        .op(b"(")
        .tensor(&weight, None);
    pickle
        .op(b"\x88")
        .global("collections", "OrderedDict")
        .op(b")RtRs");
    let bytes = zip_checkpoint(&pickle.finish(), &[("0", f32_bytes(&[1.5, -1.5]))]);
    assert_eq!(
        read_state_dict_bytes(&bytes).unwrap()["weight"].data,
        [1.5, -1.5]
    );
}

#[test]
fn rejects_a_pickled_module_with_advice_to_save_its_state_dict() {
    let mut pickle = Pickler::new();
    pickle
        .global("models.networks.generator", "SPADEGenerator")
        .op(b")\x81}")
        .str("training")
        .op(b"\x89sb");
    let message = error_for(&zip_checkpoint(&pickle.finish(), &[]));
    assert_mentions(
        &message,
        &[
            "models.networks.generator.SPADEGenerator",
            "nn.Module",
            "model.state_dict()",
        ],
    );
}

#[test]
fn rejects_a_training_checkpoint_whose_entries_are_not_tensors() {
    let mut pickle = Pickler::new();
    pickle
        .op(b"}(")
        .str("epoch")
        .int(20)
        .str("netG")
        .op(b"}")
        .op(b"u");
    let message = error_for(&zip_checkpoint(&pickle.finish(), &[]));
    assert_mentions(
        &message,
        &[
            "not hold a state dict",
            "\"epoch\"",
            "integer 20",
            "state_dict()",
        ],
    );
}

#[test]
fn rejects_unsupported_dtype_naming_the_tensor() {
    let tensors = [FakeTensor {
        shape: &[1],
        stride: &[1],
        ..tensor("fc.weight", "ComplexFloatStorage", "0", 1)
    }];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let message = error_for(&zip_checkpoint(&pickle, &[("0", vec![0; 8])]));
    assert_mentions(
        &message,
        &[
            "fc.weight",
            "torch.ComplexFloatStorage",
            "unsupported dtype",
            ".float()",
        ],
    );
}

#[test]
fn rejects_missing_storage_record() {
    let tensors = [
        FakeTensor {
            shape: &[1],
            stride: &[1],
            ..tensor("fc.weight", "FloatStorage", "0", 1)
        },
        FakeTensor {
            shape: &[1],
            stride: &[1],
            ..tensor("fc.bias", "FloatStorage", "1", 1)
        },
    ];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let message = error_for(&zip_checkpoint(&pickle, &[("0", f32_bytes(&[1.0]))]));
    assert_mentions(&message, &["no data for storage \"1\"", "fc.bias", "copy"]);
}

#[test]
fn rejects_views_reaching_outside_their_storage() {
    let tensors = [FakeTensor {
        offset: 2,
        shape: &[2, 2],
        stride: &[2, 1],
        ..tensor("w", "FloatStorage", "0", 4)
    }];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let message = error_for(&zip_checkpoint(&pickle, &[("0", f32_bytes(&[0.0; 4]))]));
    assert_mentions(
        &message,
        &["damaged", "\"w\"", "past the end of its storage"],
    );
}

#[test]
fn rejects_storage_sizes_larger_than_the_file() {
    let tensors = [FakeTensor {
        shape: &[1],
        stride: &[1],
        ..tensor("w", "FloatStorage", "0", 1)
    }];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let mut bytes = legacy_checkpoint(&pickle, &[("0", 1, f32_bytes(&[1.0]))]);
    let count_at = bytes.len() - 12;
    bytes[count_at..count_at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert_mentions(&error_for(&bytes), &["ends after", "storage 1 of 1"]);
}

#[test]
fn survives_corrupted_pickle_bytes_without_panicking() {
    // The fixture's pickles fill its first 32497 bytes; keeping a little more leaves the
    // storages cut short, so each damaged variant is parsed in full but decodes nothing.
    let mut bytes = std::fs::read(fixture("city35_tiny/checkpoint/latest_net_G.pth")).unwrap();
    bytes.truncate(32_600);
    for position in (0..32_497).step_by(11) {
        let original = bytes[position];
        for replacement in [original ^ 0x01, original ^ 0x80, b'(', b'h', 0xff] {
            bytes[position] = replacement;
            let _ = read_state_dict_bytes(&bytes);
        }
        bytes[position] = original;
    }
}

#[test]
fn survives_every_single_byte_corruption_of_a_small_checkpoint() {
    let tensors = [
        FakeTensor {
            offset: 1,
            shape: &[2, 3],
            stride: &[1, 2],
            ..tensor("transposed", "FloatStorage", "0", 7)
        },
        FakeTensor {
            offset: 4,
            shape: &[3],
            stride: &[1],
            ..tensor("module.tail", "HalfStorage", "1", 7)
        },
    ];
    let pickle = Pickler::new().state_dict(&tensors).finish();
    let records = [("0", 7, f32_bytes(&[0.0; 7])), ("1", 7, vec![0; 14])];
    let mut bytes = legacy_checkpoint(&pickle, &records);
    for position in 0..bytes.len() {
        let original = bytes[position];
        for replacement in 0..=255 {
            bytes[position] = replacement;
            let _ = read_state_dict_bytes(&bytes);
        }
        bytes[position] = original;
    }
}
