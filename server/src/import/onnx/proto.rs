//! The few ONNX protobuf messages easel writes, encoded by hand: the wire format
//! is small and stable, and this keeps protoc and generated code out of the build.
//! Field numbers are those of `onnx.proto` (ONNX 1.12, IR version 8).

/// ONNX tensor element types that easel's graphs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    Float = 1,
    Int8 = 3,
    Int64 = 7,
    Float16 = 10,
    BFloat16 = 16,
}

/// A tensor constant (initializer or attribute value), stored as raw little-endian bytes.
#[derive(Debug, Clone)]
pub struct TensorProto {
    pub name: String,
    pub dims: Vec<i64>,
    pub elem: ElemType,
    pub raw: Vec<u8>,
}

/// One dimension of a declared graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Fixed(i64),
    Named(String),
}

#[derive(Debug, Clone)]
pub struct ValueInfo {
    pub name: String,
    pub elem: ElemType,
    pub dims: Vec<Dim>,
}

#[derive(Debug, Clone)]
pub enum AttrValue {
    Float(f32),
    Int(i64),
    Str(String),
    Tensor(TensorProto),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub graph: Graph,
    pub opset: i64,
    pub producer_version: String,
    pub doc: String,
    pub metadata: Vec<(String, String)>,
}

pub const IR_VERSION: i64 = 8;

/// Protobuf wire writer: varints, length-delimited fields, fixed32.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u32) {
        self.varint(((field << 3) | wire) as u64);
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn message(&mut self, field: u32, encode: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        encode(&mut inner);
        self.bytes(field, &inner.buf);
    }
    fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn packed_ints(&mut self, field: u32, vs: &[i64]) {
        let mut inner = Writer::default();
        vs.iter().for_each(|&v| inner.varint(v as u64));
        self.bytes(field, &inner.buf);
    }
    fn packed_floats(&mut self, field: u32, vs: &[f32]) {
        let raw: Vec<u8> = vs.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(field, &raw);
    }
}

fn write_tensor(w: &mut Writer, t: &TensorProto) {
    w.packed_ints(1, &t.dims);
    w.int(2, t.elem as i64);
    w.string(8, &t.name);
    w.bytes(9, &t.raw);
}

fn write_value_info(w: &mut Writer, v: &ValueInfo) {
    w.string(1, &v.name);
    w.message(2, |ty| {
        ty.message(1, |tensor| {
            tensor.int(1, v.elem as i64);
            tensor.message(2, |shape| {
                for d in &v.dims {
                    shape.message(1, |dim| match d {
                        Dim::Fixed(n) => dim.int(1, *n),
                        Dim::Named(s) => dim.string(2, s),
                    });
                }
            });
        });
    });
}

fn write_attribute(w: &mut Writer, a: &Attribute) {
    w.string(1, &a.name);
    // AttributeProto.type: FLOAT=1, INT=2, STRING=3, TENSOR=4, FLOATS=6, INTS=7.
    match &a.value {
        AttrValue::Float(f) => {
            w.float(2, *f);
            w.int(20, 1);
        }
        AttrValue::Int(i) => {
            w.int(3, *i);
            w.int(20, 2);
        }
        AttrValue::Str(s) => {
            w.string(4, s);
            w.int(20, 3);
        }
        AttrValue::Tensor(t) => {
            w.message(5, |m| write_tensor(m, t));
            w.int(20, 4);
        }
        AttrValue::Floats(fs) => {
            w.packed_floats(7, fs);
            w.int(20, 6);
        }
        AttrValue::Ints(is) => {
            w.packed_ints(8, is);
            w.int(20, 7);
        }
    }
}

fn write_node(w: &mut Writer, n: &Node) {
    n.inputs.iter().for_each(|i| w.string(1, i));
    n.outputs.iter().for_each(|o| w.string(2, o));
    w.string(3, &n.name);
    w.string(4, &n.op_type);
    for a in &n.attributes {
        w.message(5, |m| write_attribute(m, a));
    }
}

fn write_graph(w: &mut Writer, g: &Graph) {
    for n in &g.nodes {
        w.message(1, |m| write_node(m, n));
    }
    w.string(2, &g.name);
    for t in &g.initializers {
        w.message(5, |m| write_tensor(m, t));
    }
    for v in &g.inputs {
        w.message(11, |m| write_value_info(m, v));
    }
    for v in &g.outputs {
        w.message(12, |m| write_value_info(m, v));
    }
}

impl Model {
    /// Serialises the model to the bytes of an `.onnx` file.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.int(1, IR_VERSION);
        w.string(2, "easel");
        w.string(3, &self.producer_version);
        w.string(6, &self.doc);
        w.message(7, |m| write_graph(m, &self.graph));
        w.message(8, |m| {
            m.string(1, "");
            m.int(2, self.opset);
        });
        for (k, v) in &self.metadata {
            w.message(14, |m| {
                m.string(1, k);
                m.string(2, v);
            });
        }
        w.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_use_seven_bits_per_byte() {
        let mut w = Writer::default();
        w.varint(300);
        assert_eq!(w.buf, vec![0xac, 0x02]);
        let mut w = Writer::default();
        w.varint(-1i64 as u64);
        assert_eq!(w.buf.len(), 10, "negative int64 takes ten bytes");
    }

    #[test]
    fn model_starts_with_ir_version_field() {
        let model = Model {
            graph: Graph::default(),
            opset: 17,
            producer_version: "0".into(),
            doc: String::new(),
            metadata: vec![],
        };
        let bytes = model.encode();
        assert_eq!(&bytes[..2], &[0x08, IR_VERSION as u8]);
    }
}
