//! What a `torch.save` pickle means: which object is the state dict, how each tensor is
//! rebuilt from a storage (dtype, offset, shape, strides), and how storage bytes become
//! f32 values. Both container formats share this; they differ only in where storages live.

use std::collections::HashMap;

use super::pickle::{Node, Pickle, Value};
use super::{CheckpointError, StateDict, Tensor};

/// Keys under which training scripts commonly nest the state dict.
const WRAPPER_KEYS: [&str; 3] = ["state_dict", "model", "model_state_dict"];

/// Stored element types; every one is converted to f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// A storage as a persistent id names it: `('storage', type, key, location, numel[, view])`.
#[derive(Debug)]
pub struct StorageRef {
    pub key: String,
    pub dtype: Dtype,
    /// Elements in the whole storage, as claimed by the pickle.
    pub numel: usize,
    /// Legacy storage views: `(offset, len)` in elements within the root storage.
    pub window: Option<(usize, usize)>,
}

/// A tensor as `_rebuild_tensor_v2` describes it, before its storage is read.
#[derive(Debug)]
pub struct TensorSpec {
    pub storage: StorageRef,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

impl Dtype {
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }

    /// From a storage class (`torch.FloatStorage`, also `torch.cuda.*`) or a dtype
    /// (`torch.float32`).
    fn from_global(module: &str, name: &str) -> Option<Dtype> {
        if module != "torch" && module != "torch.cuda" {
            return None;
        }
        let name = name.strip_suffix("Storage").unwrap_or(name);
        Some(match name {
            "Float" | "float32" | "float" => Dtype::F32,
            "Double" | "float64" | "double" => Dtype::F64,
            "Half" | "float16" | "half" => Dtype::F16,
            "BFloat16" | "bfloat16" => Dtype::BF16,
            "Long" | "int64" | "long" => Dtype::I64,
            "Int" | "int32" | "int" => Dtype::I32,
            "Short" | "int16" | "short" => Dtype::I16,
            "Char" | "int8" => Dtype::I8,
            "Byte" | "uint8" => Dtype::U8,
            "Bool" | "bool" => Dtype::Bool,
            _ => return None,
        })
    }

    /// Converts raw storage bytes; a trailing partial element is ignored.
    pub fn decode(self, bytes: &[u8], order: ByteOrder) -> Vec<f32> {
        fn each<const N: usize>(
            bytes: &[u8],
            order: ByteOrder,
            convert: impl Fn([u8; N]) -> f32,
        ) -> Vec<f32> {
            bytes
                .chunks_exact(N)
                .map(|chunk| {
                    let mut array = [0; N];
                    array.copy_from_slice(chunk);
                    if order == ByteOrder::Big {
                        array.reverse();
                    }
                    convert(array)
                })
                .collect()
        }
        match self {
            Dtype::F32 => each(bytes, order, f32::from_le_bytes),
            Dtype::F64 => each(bytes, order, |b| f64::from_le_bytes(b) as f32),
            Dtype::F16 => each(bytes, order, |b| f16_to_f32(u16::from_le_bytes(b))),
            Dtype::BF16 => each(bytes, order, |b| {
                f32::from_bits(u32::from(u16::from_le_bytes(b)) << 16)
            }),
            Dtype::I64 => each(bytes, order, |b| i64::from_le_bytes(b) as f32),
            Dtype::I32 => each(bytes, order, |b| i32::from_le_bytes(b) as f32),
            Dtype::I16 => each(bytes, order, |b| f32::from(i16::from_le_bytes(b))),
            Dtype::I8 => each(bytes, order, |[b]| f32::from(b as i8)),
            Dtype::U8 => each(bytes, order, |[b]| f32::from(b)),
            Dtype::Bool => each(bytes, order, |[b]| f32::from(u8::from(b != 0))),
        }
    }
}

fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        0 => mantissa as f32 * 2f32.powi(-24), // zero and subnormals
        0x1f => f32::from_bits(0x7f80_0000 | (mantissa << 13)), // infinities and NaNs
        _ => f32::from_bits(((exponent + 127 - 15) << 23) | (mantissa << 13)),
    };
    f32::from_bits(sign | magnitude.to_bits())
}

/// Finds the state dict in the unpickled object and describes its tensors, in order.
pub fn state_dict_specs(
    file: &str,
    pickle: &Pickle,
) -> Result<Vec<(String, TensorSpec)>, CheckpointError> {
    let not_a_state_dict = |found: String| CheckpointError::NotAStateDict {
        file: file.to_owned(),
        found,
    };
    let mut root = pickle.root;
    if let Some((key, inner)) = WRAPPER_KEYS
        .iter()
        .find_map(|&key| pickle.get(root, key).map(|inner| (key, inner)))
        .filter(|(_, inner)| !is_tensor(pickle, *inner))
    {
        if pickle.dict(inner).is_none() {
            return Err(not_a_state_dict(format!(
                "under the key {key:?} {}",
                what_is(pickle, inner)
            )));
        }
        root = inner;
    }
    let Some(entries) = pickle.dict(root) else {
        return Err(not_a_state_dict(what_is(pickle, root)));
    };
    let mut specs = Vec::with_capacity(entries.len());
    for &(key, value) in entries {
        let Some(name) = pickle.str(key) else {
            return Err(not_a_state_dict(format!(
                "a dict with a key that is {}",
                pickle.describe(key)
            )));
        };
        if !is_tensor(pickle, value) {
            let keys: Vec<_> = entries.iter().filter_map(|(k, _)| pickle.str(*k)).collect();
            let more = if keys.len() > 8 { ", …" } else { "" };
            return Err(not_a_state_dict(format!(
                "a dict with keys {}{more}, whose entry {name:?} is {}, not a tensor \
                 (if the state dict is one of these entries, save only that entry)",
                keys[..keys.len().min(8)].join(", "),
                what_is(pickle, value)
            )));
        }
        specs.push((name.to_owned(), tensor_spec(file, pickle, name, value)?));
    }
    if specs.is_empty() {
        return Err(not_a_state_dict("an empty dict".into()));
    }
    Ok(specs)
}

/// Builds the tensors from decoded storages (keyed by storage key) and applies the
/// `module.` prefix rule.
pub fn build_state_dict(
    file: &str,
    specs: &[(String, TensorSpec)],
    storages: &HashMap<String, Vec<f32>>,
) -> Result<StateDict, CheckpointError> {
    // Tensors may share a storage, but a file cannot describe much more data than it
    // holds; this caps what crafted strides and repeated references can make us allocate.
    let stored: usize = storages.values().map(Vec::len).sum();
    let mut budget = stored.saturating_mul(4).saturating_add(1 << 16);
    let strip = specs.iter().all(|(name, _)| name.starts_with("module."));
    let mut state_dict = StateDict::new();
    for (name, spec) in specs {
        let data =
            storages
                .get(&spec.storage.key)
                .ok_or_else(|| CheckpointError::MissingStorage {
                    file: file.to_owned(),
                    key: spec.storage.key.clone(),
                    tensor: name.clone(),
                })?;
        let malformed = |reason: &str| CheckpointError::Malformed {
            file: file.to_owned(),
            reason: format!("tensor {name:?} {reason}"),
        };
        let numel = spec.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let numel = numel
            .filter(|&n| n <= budget)
            .ok_or_else(|| malformed("claims more values than the file holds"))?;
        budget -= numel;
        let data = window(data, spec.storage.window)
            .ok_or_else(|| malformed("lies outside its storage view"))?;
        let data =
            gather(data, spec).ok_or_else(|| malformed("reads past the end of its storage"))?;
        let name = if strip {
            &name["module.".len()..]
        } else {
            name
        };
        state_dict.insert(
            name.to_owned(),
            Tensor {
                shape: spec.shape.clone(),
                data,
            },
        );
    }
    Ok(state_dict)
}

/// Every storage reference anywhere in the pickle; the legacy format needs them all to
/// know each stored record's element size.
pub fn all_storages(file: &str, pickle: &Pickle) -> Result<Vec<StorageRef>, CheckpointError> {
    let ids = pickle.nodes.iter().filter_map(|node| match node {
        Node::PersistentId(id) => Some(*id),
        _ => None,
    });
    ids.map(|id| storage_ref(file, pickle, id, "a storage"))
        .collect()
}

fn is_tensor(pickle: &Pickle, value: Value) -> bool {
    let Some(Node::Object { callable, .. }) = pickle.node(value) else {
        return false;
    };
    matches!(pickle.global(*callable), Some((module, name))
        if (module == "torch._utils" && name.starts_with("_rebuild_"))
            || (module == "torch._tensor" && name == "_rebuild_from_type_v2"))
}

fn what_is(pickle: &Pickle, value: Value) -> String {
    if is_tensor(pickle, value) {
        return "a single tensor".into();
    }
    let class = match pickle.node(value) {
        Some(Node::Object { callable, .. }) => pickle.global(*callable),
        _ => None,
    };
    match class {
        Some((module, name)) => format!(
            "a pickled Python object of class `{module}.{name}`, which only its own Python \
             code can load (a whole nn.Module is saved this way)"
        ),
        None => pickle.describe(value),
    }
}

fn tensor_spec(
    file: &str,
    pickle: &Pickle,
    name: &str,
    value: Value,
) -> Result<TensorSpec, CheckpointError> {
    let malformed = |reason: &str| CheckpointError::Malformed {
        file: file.to_owned(),
        reason: format!("tensor {name:?} {reason}"),
    };
    let (mut callable, mut args) = match pickle.node(value) {
        Some(Node::Object { callable, args, .. }) => (*callable, *args),
        _ => return Err(malformed("is not a tensor")),
    };
    // Parameters and tensor subclasses wrap the plain rebuild once; more nesting is not
    // something torch writes, and following it unboundedly would let input pick our depth.
    for _ in 0..3 {
        let items = pickle
            .items(args)
            .ok_or_else(|| malformed("has no rebuild arguments"))?;
        let rebuild = pickle
            .global(callable)
            .ok_or_else(|| malformed("is rebuilt by a non-global"))?;
        match rebuild {
            ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
                let [storage, offset, shape, stride, ..] = items else {
                    return Err(malformed("has too few rebuild arguments"));
                };
                let storage = match pickle.node(*storage) {
                    Some(Node::PersistentId(id)) => {
                        storage_ref(file, pickle, *id, &format!("tensor {name:?}"))?
                    }
                    _ => return Err(malformed("has no storage reference")),
                };
                let offset =
                    to_usize(*offset).ok_or_else(|| malformed("has a bad storage offset"))?;
                let sizes = |v: Value| {
                    pickle
                        .items(v)?
                        .iter()
                        .map(|&d| to_usize(d))
                        .collect::<Option<Vec<_>>>()
                };
                let shape = sizes(*shape).ok_or_else(|| malformed("has a bad shape"))?;
                let stride = sizes(*stride).ok_or_else(|| malformed("has bad strides"))?;
                if shape.len() != stride.len() {
                    return Err(malformed("does not have one stride per dimension"));
                }
                return Ok(TensorSpec {
                    storage,
                    offset,
                    shape,
                    stride,
                });
            }
            ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
                let data = items.first().and_then(|&data| pickle.node(data));
                let Some(Node::Object {
                    callable: c,
                    args: a,
                    ..
                }) = data
                else {
                    return Err(malformed("is a parameter without data"));
                };
                (callable, args) = (*c, *a);
            }
            ("torch._tensor", "_rebuild_from_type_v2") => {
                let [function, _, function_args, ..] = items else {
                    return Err(malformed("has too few rebuild arguments"));
                };
                (callable, args) = (*function, *function_args);
            }
            (module, function) => {
                return Err(CheckpointError::UnsupportedTensor {
                    file: file.to_owned(),
                    tensor: name.to_owned(),
                    kind: format!("rebuilt by `{module}.{function}`"),
                });
            }
        }
    }
    Err(malformed("is nested too deeply"))
}

fn storage_ref(
    file: &str,
    pickle: &Pickle,
    id: Value,
    user: &str,
) -> Result<StorageRef, CheckpointError> {
    let malformed = |reason: &str| CheckpointError::Malformed {
        file: file.to_owned(),
        reason: format!("the storage reference of {user} {reason}"),
    };
    let items = pickle
        .items(id)
        .ok_or_else(|| malformed("is not a tuple"))?;
    let [tag, storage_type, key, _location, numel, rest @ ..] = items else {
        return Err(malformed("has too few fields"));
    };
    if pickle.str(*tag) != Some("storage") {
        return Err(malformed("is not tagged 'storage'"));
    }
    let key = pickle
        .str(*key)
        .ok_or_else(|| malformed("has no key"))?
        .to_owned();
    let numel = to_usize(*numel).ok_or_else(|| malformed("has a bad size"))?;
    let (module, type_name) = pickle
        .global(*storage_type)
        .ok_or_else(|| malformed("has no storage type"))?;
    let (dtype, numel) = if type_name == "UntypedStorage" {
        // Untyped storages count bytes; a dtype, if the id carries one, says how to read them.
        let dtype = rest
            .iter()
            .find_map(|&v| pickle.global(v).and_then(|(m, n)| Dtype::from_global(m, n)))
            .unwrap_or(Dtype::U8);
        (dtype, numel / dtype.size())
    } else {
        let dtype = Dtype::from_global(module, type_name).ok_or_else(|| {
            CheckpointError::UnsupportedDtype {
                file: file.to_owned(),
                tensor: user.to_owned(),
                dtype: format!("{module}.{type_name}"),
            }
        })?;
        (dtype, numel)
    };
    // Legacy (torch < 1.0) storage views: (view_key, offset, size) within the root storage.
    let window = match rest.first().map(|&v| (v, pickle.items(v))) {
        None | Some((Value::None, _)) => None,
        Some((_, Some([_, offset, len]))) => Some(
            to_usize(*offset)
                .zip(to_usize(*len))
                .ok_or_else(|| malformed("has a bad view"))?,
        ),
        Some(_) => return Err(malformed("has a bad view")),
    };
    Ok(StorageRef {
        key,
        dtype,
        numel,
        window,
    })
}

fn to_usize(value: Value) -> Option<usize> {
    match value {
        Value::Int(n) => usize::try_from(n).ok(),
        _ => None,
    }
}

fn window(data: &[f32], window: Option<(usize, usize)>) -> Option<&[f32]> {
    match window {
        None => Some(data),
        Some((offset, len)) => data.get(offset..offset.checked_add(len)?),
    }
}

/// Copies a strided view into C order; `None` if it reaches outside `data`.
fn gather(data: &[f32], spec: &TensorSpec) -> Option<Vec<f32>> {
    let numel = spec
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    if numel == 0 {
        return Some(Vec::new());
    }
    let mut last = spec.offset;
    for (&size, &stride) in spec.shape.iter().zip(&spec.stride) {
        last = last.checked_add((size - 1).checked_mul(stride)?)?;
    }
    if last >= data.len() {
        return None;
    }
    let contiguous = spec
        .shape
        .iter()
        .zip(&spec.stride)
        .rev()
        .try_fold(1, |expected, (&size, &stride)| {
            (size == 1 || stride == expected).then_some(expected * size)
        })
        .is_some();
    if contiguous {
        return Some(data[spec.offset..spec.offset + numel].to_vec());
    }
    // Wrapping steps: a rolled-over axis may overshoot (stride × size) before stepping
    // back, and the arithmetic is exact modulo 2^64 wherever the index is valid.
    let mut out = Vec::with_capacity(numel);
    let mut index = vec![0; spec.shape.len()];
    let mut position = spec.offset;
    for _ in 0..numel {
        out.push(*data.get(position)?);
        for axis in (0..index.len()).rev() {
            index[axis] += 1;
            position = position.wrapping_add(spec.stride[axis]);
            if index[axis] < spec.shape[axis] {
                break;
            }
            position = position.wrapping_sub(spec.stride[axis].wrapping_mul(spec.shape[axis]));
            index[axis] = 0;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(offset: usize, shape: &[usize], stride: &[usize]) -> TensorSpec {
        let storage = StorageRef {
            key: "0".into(),
            dtype: Dtype::F32,
            numel: 0,
            window: None,
        };
        TensorSpec {
            storage,
            offset,
            shape: shape.to_vec(),
            stride: stride.to_vec(),
        }
    }

    #[test]
    fn gathers_transposed_views_in_c_order() {
        let data: Vec<f32> = (0..7).map(|i| i as f32).collect();
        // A 2×3 matrix stored column-major from offset 1.
        let out = gather(&data, &spec(1, &[2, 3], &[1, 2])).unwrap();
        assert_eq!(out, [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert_eq!(gather(&data, &spec(4, &[], &[])).unwrap(), [4.0]);
        assert_eq!(
            gather(&data, &spec(1, &[2, 3], &[3, 1])).unwrap(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert!(gather(&data, &spec(2, &[2, 3], &[1, 2])).is_none());
        assert!(gather(&data, &spec(0, &[usize::MAX, 2], &[usize::MAX, 1])).is_none());
    }

    #[test]
    fn decodes_half_precision_and_integers() {
        let half = [0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c];
        let out = Dtype::F16.decode(&half, ByteOrder::Little);
        assert_eq!(out[..2], [1.0, -2.0]);
        assert_eq!(out[2], 2f32.powi(-24));
        assert_eq!(out[3], f32::INFINITY);
        assert_eq!(Dtype::BF16.decode(&[0x80, 0x3f], ByteOrder::Little), [1.0]);
        assert_eq!(
            Dtype::I64.decode(&(-3i64).to_be_bytes(), ByteOrder::Big),
            [-3.0]
        );
        assert_eq!(Dtype::Bool.decode(&[0, 2], ByteOrder::Little), [0.0, 1.0]);
    }
}
