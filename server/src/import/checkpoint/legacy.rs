//! The legacy format (torch < 1.6, and `_use_new_zipfile_serialization=False`): pickles
//! of the magic number, the protocol version, the writer's system info, the object and
//! the storage keys, then each storage's raw bytes in key order.

use std::collections::{HashMap, HashSet};

use super::pickle::{self, Pickle, PickleError, Value};
use super::torch::{self, ByteOrder};
use super::{CheckpointError, StateDict};

const MAGIC: i128 = 0x1950a86a20f9469cfc6c;
const PROTOCOL_VERSION: i128 = 1001;

pub fn read(file: &str, bytes: &[u8]) -> Result<StateDict, CheckpointError> {
    let mut records = Records {
        file,
        bytes,
        pos: 0,
    };
    let magic = records.pickle("the magic number")?;
    if magic.root != Value::Int(MAGIC) {
        return Err(CheckpointError::NotACheckpoint {
            file: file.to_owned(),
            looks_like:
                "it is a Python pickle, but not one written by torch.save (no PyTorch magic number)"
                    .into(),
        });
    }
    let version = records.pickle("the format version")?;
    if version.root != Value::Int(PROTOCOL_VERSION) {
        return Err(records.malformed(format!(
            "unknown legacy format version {}",
            version.describe(version.root)
        )));
    }
    let system = records.pickle("the writer's system info")?;
    let order = match system.get(system.root, "little_endian") {
        Some(Value::Bool(false)) => ByteOrder::Big,
        _ => ByteOrder::Little,
    };
    let object = records.pickle("the pickled state dict")?;
    let keys = records.pickle("the list of storage keys")?;
    let keys = keys.items(keys.root).and_then(|items| {
        items
            .iter()
            .map(|&k| keys.str(k))
            .collect::<Option<Vec<_>>>()
    });
    let keys = keys
        .ok_or_else(|| records.malformed("the storage key list is not a list of strings".into()))?;

    let specs = torch::state_dict_specs(file, &object)?;
    let needed: HashSet<&str> = specs
        .iter()
        .map(|(_, spec)| spec.storage.key.as_str())
        .collect();
    let dtypes: HashMap<String, torch::Dtype> = torch::all_storages(file, &object)?
        .into_iter()
        .map(|storage| (storage.key, storage.dtype))
        .collect();
    let mut storages = HashMap::new();
    for (index, &key) in keys.iter().enumerate() {
        let dtype = *dtypes.get(key).ok_or_else(|| {
            records.malformed(format!("storage {key:?} is listed but never used"))
        })?;
        let inside = || format!("storage {} of {} (key {key:?})", index + 1, keys.len());
        let mut count = [0; 8];
        count.copy_from_slice(records.take(8, &inside)?);
        let count = match order {
            ByteOrder::Little => u64::from_le_bytes(count),
            ByteOrder::Big => u64::from_be_bytes(count),
        };
        // The count is checked against the bytes that remain before anything is allocated.
        let len = usize::try_from(count)
            .ok()
            .and_then(|n| n.checked_mul(dtype.size()));
        let data = records.take(len.unwrap_or(usize::MAX), &inside)?;
        if needed.contains(key) {
            storages.insert(key.to_owned(), dtype.decode(data, order));
        }
    }
    torch::build_state_dict(file, &specs, &storages)
}

/// A cursor over the file that reports where it ran out.
struct Records<'a> {
    file: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Records<'a> {
    fn pickle(&mut self, what: &str) -> Result<Pickle, CheckpointError> {
        match pickle::parse(self.bytes, self.pos) {
            Ok((pickle, end)) => {
                self.pos = end;
                Ok(pickle)
            }
            Err(PickleError::Truncated) => Err(self.truncated(what.to_owned())),
            Err(PickleError::Invalid { offset, reason }) => {
                Err(self.malformed(format!("{reason} at byte {offset}, in {what}")))
            }
        }
    }

    fn take(
        &mut self,
        len: usize,
        inside: &dyn Fn() -> String,
    ) -> Result<&'a [u8], CheckpointError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| self.truncated(inside()))?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    fn truncated(&self, inside: String) -> CheckpointError {
        CheckpointError::Truncated {
            file: self.file.to_owned(),
            len: self.bytes.len(),
            inside,
        }
    }

    fn malformed(&self, reason: String) -> CheckpointError {
        CheckpointError::Malformed {
            file: self.file.to_owned(),
            reason,
        }
    }
}
