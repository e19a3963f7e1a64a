//! The zip format (torch >= 1.6): `<name>/data.pkl` holds the object, `<name>/data/<key>`
//! each storage's raw bytes, and `<name>/byteorder` their byte order (little if absent).

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::ops::Range;

use zip::ZipArchive;

use super::pickle::{self, PickleError};
use super::torch::{self, ByteOrder};
use super::{CheckpointError, StateDict};

/// The object pickle of a state dict is small (about 150 bytes per tensor); this only
/// keeps a crafted, highly compressed entry from inflating without bound.
const MAX_PICKLE_BYTES: u64 = 1 << 30;

/// Why an entry of the archive cannot be read; reported as a
/// [`CheckpointError::Malformed`] file.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    #[error("cannot open {name}: {source}")]
    Open {
        name: String,
        source: zip::result::ZipError,
    },
    #[error("cannot read {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    /// Two names of the directory point at the same bytes: a zip bomb's trick.
    #[error("the entries {other} and {name} share the same bytes of the file")]
    Shared { other: String, name: String },
}

pub fn read(file: &str, bytes: &[u8]) -> Result<StateDict, CheckpointError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|error| CheckpointError::Truncated {
            file: file.to_owned(),
            len: bytes.len(),
            inside: format!(
                "a zip archive whose directory, stored at its end, is missing ({error})"
            ),
        })?;
    let malformed = |reason: String| CheckpointError::Malformed {
        file: file.to_owned(),
        reason,
    };
    let entry_failed = |error: EntryError| malformed(error.to_string());
    let pickle_name = archive
        .file_names()
        .find(|name| {
            name.strip_suffix("data.pkl")
                .is_some_and(|dir| dir.ends_with('/') && dir.matches('/').count() == 1)
        })
        .map(str::to_owned);
    let Some(pickle_name) = pickle_name else {
        let mut names: Vec<_> = archive.file_names().take(6).collect();
        names.sort_unstable();
        return Err(CheckpointError::NoPickleInZip {
            file: file.to_owned(),
            entries: names.join(", "),
        });
    };
    let dir = &pickle_name[..pickle_name.len() - "data.pkl".len()];

    let mut claimed = Claimed::default();
    let data = read_entry(&mut archive, &mut claimed, &pickle_name, MAX_PICKLE_BYTES)
        .map_err(entry_failed)?;
    let object = match pickle::parse(&data, 0) {
        Ok((object, _)) => object,
        Err(PickleError::Truncated) => {
            return Err(malformed(format!(
                "{pickle_name} ends in the middle of the object"
            )))
        }
        Err(PickleError::Invalid { offset, reason }) => {
            return Err(malformed(format!(
                "{reason} at byte {offset} of {pickle_name}"
            )));
        }
    };
    let order = match read_entry(&mut archive, &mut claimed, &format!("{dir}byteorder"), 16) {
        Ok(text) if text.trim_ascii() == b"big" => ByteOrder::Big,
        _ => ByteOrder::Little,
    };

    let specs = torch::state_dict_specs(file, &object)?;
    let mut storages = HashMap::new();
    for (tensor, spec) in &specs {
        let storage = &spec.storage;
        if storages.contains_key(&storage.key) {
            continue;
        }
        let name = format!("{dir}data/{}", storage.key);
        if archive.index_for_name(&name).is_none() {
            return Err(CheckpointError::MissingStorage {
                file: file.to_owned(),
                key: storage.key.clone(),
                tensor: tensor.clone(),
            });
        }
        let want = storage
            .numel
            .checked_mul(storage.dtype.size())
            .and_then(|n| u64::try_from(n).ok());
        let want =
            want.ok_or_else(|| malformed(format!("storage {name} claims an impossible size")))?;
        let data = read_entry(&mut archive, &mut claimed, &name, want).map_err(entry_failed)?;
        if (data.len() as u64) < want {
            return Err(malformed(format!(
                "record {name} holds {} bytes, but tensor {tensor:?} needs {want}",
                data.len()
            )));
        }
        storages.insert(storage.key.clone(), storage.dtype.decode(&data, order));
    }
    torch::build_state_dict(file, &specs, &storages)
}

/// Reads at most `limit` bytes of an entry; memory grows only with what is really there,
/// whatever sizes the archive claims.
fn read_entry(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    claimed: &mut Claimed,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, EntryError> {
    let entry = archive.by_name(name).map_err(|source| EntryError::Open {
        name: name.to_owned(),
        source,
    })?;
    let end = entry.data_start().saturating_add(entry.compressed_size());
    claimed.claim(name, entry.header_start()..end)?;
    let mut data = Vec::new();
    entry
        .take(limit)
        .read_to_end(&mut data)
        .map_err(|source| EntryError::Read {
            name: name.to_owned(),
            source,
        })?;
    Ok(data)
}

/// Where the entries read so far lie in the file. A zip directory can point many names at
/// the same bytes, so that one small compressed record inflates again for every name;
/// torch.save never writes that, so each entry must have bytes of its own.
#[derive(Default)]
struct Claimed(BTreeMap<u64, (u64, String)>);

impl Claimed {
    fn claim(&mut self, name: &str, span: Range<u64>) -> Result<(), EntryError> {
        // Claimed spans are disjoint, so the last one starting before `span` ends is the
        // only one that can reach into it.
        if let Some((_, (end, other))) = self.0.range(..span.end).next_back() {
            if *end > span.start {
                return Err(EntryError::Shared {
                    other: other.clone(),
                    name: name.to_owned(),
                });
            }
        }
        self.0.insert(span.start, (span.end, name.to_owned()));
        Ok(())
    }
}
