//! Reading PyTorch checkpoints: the real SPADE fixtures in both container formats, small
//! checkpoints built here for the cases the fixtures lack (dtypes, views, wrappers), and
//! the refusals, whose messages must say what is wrong and what to do.

mod common;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use easel::import::checkpoint::{
    read_state_dict, read_state_dict_bytes, CheckpointError, StateDict, Tensor,
};
use zip::write::SimpleFileOptions;

fn fixture(path: &str) -> PathBuf {
    common::spade_fixture(path)
}

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

fn error_for(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latest_net_G.pth");
    std::fs::write(&path, bytes).unwrap();
    let error = read_state_dict(&path).expect_err("the checkpoint should be refused");
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the message names no file: {message}"
    );
    message
}

fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "{word:?} missing from: {message}");
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

#[test]
fn rejects_truncated_zip_checkpoint() {
    let bytes = std::fs::read(fixture("coco182_tiny/checkpoint/latest_net_G.pth")).unwrap();
    for len in [100, bytes.len() / 2, bytes.len() - 1] {
        let message = error_for(&bytes[..len]);
        assert_mentions(
            &message,
            &[
                &format!("ends after {len} bytes"),
                "zip",
                "incomplete",
                "copy",
            ],
        );
    }
}

#[test]
fn rejects_truncated_legacy_checkpoint() {
    let bytes = std::fs::read(fixture("city35_tiny/checkpoint/latest_net_G.pth")).unwrap();
    // Inside the header pickles, the object pickle, the key list and the storages.
    for (len, inside) in [
        (10, "magic"),
        (5000, "state dict"),
        (30000, "storage keys"),
        (bytes.len() / 2, "storage"),
    ] {
        let message = error_for(&bytes[..len]);
        assert_mentions(
            &message,
            &[
                &format!("ends after {len} bytes"),
                inside,
                "incomplete",
                "copy",
            ],
        );
    }
    let message = error_for(&bytes[..bytes.len() - 1]);
    assert_mentions(&message, &["storage 167 of 167", "incomplete"]);
}

#[test]
fn rejects_empty_file() {
    assert_mentions(&error_for(b""), &["not a PyTorch checkpoint", "empty"]);
}

#[test]
fn rejects_text_file() {
    // A classic slip: pointing at the options file next to the checkpoint.
    let options = std::fs::read(fixture("coco182_tiny/checkpoint/opt.txt")).unwrap();
    assert_mentions(
        &error_for(&options),
        &["not a PyTorch checkpoint", "text file", "D_steps_per_G"],
    );
}

#[test]
fn rejects_html_page() {
    let page = b"\n<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>\n";
    assert_mentions(
        &error_for(page),
        &["not a PyTorch checkpoint", "HTML page", "download"],
    );
}

#[test]
fn rejects_git_lfs_pointer() {
    let pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 23157851\n";
    assert_mentions(&error_for(pointer), &["Git LFS pointer", "git lfs pull"]);
}

#[test]
fn rejects_safetensors_file() {
    let header = br#"{"fc.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0; 4]);
    assert_mentions(&error_for(&bytes), &["safetensors"]);
}

#[test]
fn rejects_binary_junk_showing_its_first_bytes() {
    assert_mentions(
        &error_for(&[0xde, 0xad, 0xbe, 0xef, 0, 1]),
        &["de ad be ef", "zip", "pickle"],
    );
}

#[test]
fn rejects_zip_without_data_pkl() {
    let bytes = zip_of(&[("photos/readme.txt", b"not a model")]);
    assert_mentions(
        &error_for(&bytes),
        &["zip archive", "data.pkl", "photos/readme.txt"],
    );
}

#[test]
fn rejects_missing_file() {
    let error = read_state_dict(Path::new("/nonexistent/latest_net_G.pth")).unwrap_err();
    assert!(matches!(error, CheckpointError::Io { .. }));
    assert_mentions(&error.to_string(), &["/nonexistent/latest_net_G.pth"]);
}

// Small checkpoints built here, with the opcodes and globals torch.save writes.

/// A tensor as `_rebuild_tensor_v2(storage, offset, shape, stride, ...)` pickles it.
struct FakeTensor {
    name: &'static str,
    storage_class: &'static str,
    key: &'static str,
    numel: usize,
    offset: usize,
    shape: &'static [usize],
    stride: &'static [usize],
}

fn tensor(
    name: &'static str,
    storage_class: &'static str,
    key: &'static str,
    numel: usize,
) -> FakeTensor {
    FakeTensor {
        name,
        storage_class,
        key,
        numel,
        offset: 0,
        shape: &[],
        stride: &[],
    }
}

/// A protocol 2 pickle writer for just what these tests need.
struct Pickler(Vec<u8>);

impl Pickler {
    fn new() -> Self {
        Pickler(vec![0x80, 2])
    }
    fn op(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.op(format!("c{module}\n{name}\n").as_bytes())
    }
    fn str(&mut self, text: &str) -> &mut Self {
        self.op(b"X")
            .op(&(text.len() as u32).to_le_bytes())
            .op(text.as_bytes())
    }
    fn int(&mut self, n: usize) -> &mut Self {
        self.op(b"J").op(&(n as i32).to_le_bytes())
    }
    fn tuple_of_ints(&mut self, ints: &[usize]) -> &mut Self {
        self.op(b"(");
        for &n in ints {
            self.int(n);
        }
        self.op(b"t")
    }
    fn tensor(&mut self, t: &FakeTensor, view: Option<(&str, usize, usize)>) -> &mut Self {
        self.global("torch._utils", "_rebuild_tensor_v2").op(b"(");
        self.op(b"(")
            .str("storage")
            .global("torch", t.storage_class)
            .str(t.key)
            .str("cpu")
            .int(t.numel);
        match view {
            Some((key, offset, len)) => self.op(b"(").str(key).int(offset).int(len).op(b"t"),
            None => self,
        };
        self.op(b"tQ")
            .int(t.offset)
            .tuple_of_ints(t.shape)
            .tuple_of_ints(t.stride);
        self.op(b"\x89")
            .global("collections", "OrderedDict")
            .op(b")R")
            .op(b"tR")
    }
    fn state_dict(&mut self, tensors: &[FakeTensor]) -> &mut Self {
        self.global("collections", "OrderedDict").op(b")R(");
        for t in tensors {
            self.str(t.name).tensor(t, None);
        }
        self.op(b"u")
    }
    fn finish(&mut self) -> Vec<u8> {
        self.op(b".");
        std::mem::take(&mut self.0)
    }
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A zip checkpoint of `pickle` and `archive/data/<key>` records.
fn zip_checkpoint(pickle: &[u8], records: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut entries: Vec<(String, &[u8])> = vec![
        ("archive/data.pkl".into(), pickle),
        ("archive/version".into(), b"3\n"),
    ];
    entries.extend(
        records
            .iter()
            .map(|(key, data)| (format!("archive/data/{key}"), data.as_slice())),
    );
    let entries: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(name, data)| (name.as_str(), *data))
        .collect();
    zip_of(&entries)
}

/// A legacy checkpoint: magic, version, system info, `pickle`, keys, then each record
/// as an element count and little-endian bytes.
fn legacy_checkpoint(pickle: &[u8], records: &[(&str, usize, Vec<u8>)]) -> Vec<u8> {
    let mut bytes =
        b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.".to_vec();
    bytes.extend(
        Pickler::new()
            .op(b"}")
            .str("little_endian")
            .op(b"\x88s")
            .finish(),
    );
    bytes.extend_from_slice(pickle);
    let mut keys = Pickler::new();
    keys.op(b"(");
    for (key, _, _) in records {
        keys.str(key);
    }
    bytes.extend(keys.op(b"l").finish());
    for (_, numel, data) in records {
        bytes.extend_from_slice(&(*numel as u64).to_le_bytes());
        bytes.extend_from_slice(data);
    }
    bytes
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

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
