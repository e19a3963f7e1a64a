//! Small checkpoints written here with the opcodes and globals torch.save
//! writes, in the zip and the legacy format.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

/// A tensor as `_rebuild_tensor_v2(storage, offset, shape, stride, ...)` pickles it.
pub struct FakeTensor {
    pub name: &'static str,
    pub storage_class: &'static str,
    pub key: &'static str,
    pub numel: usize,
    pub offset: usize,
    pub shape: &'static [usize],
    pub stride: &'static [usize],
}

pub fn tensor(
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
pub struct Pickler(Vec<u8>);

impl Pickler {
    pub fn new() -> Self {
        Pickler(vec![0x80, 2])
    }
    pub fn op(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    pub fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.op(format!("c{module}\n{name}\n").as_bytes())
    }
    pub fn str(&mut self, text: &str) -> &mut Self {
        self.op(b"X")
            .op(&(text.len() as u32).to_le_bytes())
            .op(text.as_bytes())
    }
    pub fn int(&mut self, n: usize) -> &mut Self {
        self.op(b"J").op(&(n as i32).to_le_bytes())
    }
    pub fn tuple_of_ints(&mut self, ints: &[usize]) -> &mut Self {
        self.op(b"(");
        for &n in ints {
            self.int(n);
        }
        self.op(b"t")
    }
    pub fn tensor(&mut self, t: &FakeTensor, view: Option<(&str, usize, usize)>) -> &mut Self {
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
    pub fn state_dict(&mut self, tensors: &[FakeTensor]) -> &mut Self {
        self.global("collections", "OrderedDict").op(b")R(");
        for t in tensors {
            self.str(t.name).tensor(t, None);
        }
        self.op(b"u")
    }
    pub fn finish(&mut self) -> Vec<u8> {
        self.op(b".");
        std::mem::take(&mut self.0)
    }
}

pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A zip checkpoint of `pickle` and `archive/data/<key>` records.
pub fn zip_checkpoint(pickle: &[u8], records: &[(&str, Vec<u8>)]) -> Vec<u8> {
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
pub fn legacy_checkpoint(pickle: &[u8], records: &[(&str, usize, Vec<u8>)]) -> Vec<u8> {
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

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
