//! Reads what an ONNX model someone else exported offers to its caller: its
//! graph's inputs and outputs (names, element types, shapes) and whether its
//! tensors live in external files. Only these few fields are decoded; the
//! rest of the protobuf is skipped, so any opset or producer reads.

use super::proto::Dim;

/// ONNX's element type code for float32.
pub const FLOAT: i32 = 1;

/// One graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    /// ONNX's `TensorProto.DataType` code (1 float32, 2 uint8, 7 int64…);
    /// 0 when the graph does not say.
    pub elem: i32,
    /// None when the graph declares no shape.
    pub dims: Option<Vec<Dim>>,
}

impl Port {
    /// The shape as it reads in a message: `1×3×513×513`, `1×?×?×3`.
    pub fn shape(&self) -> String {
        match &self.dims {
            None => "of no declared shape".into(),
            Some(dims) => dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(v) => v.to_string(),
                    Dim::Named(n) if n.is_empty() => "?".into(),
                    Dim::Named(n) => n.clone(),
                })
                .collect::<Vec<_>>()
                .join("×"),
        }
    }

    /// The element type's name in messages.
    pub fn elem_name(&self) -> &'static str {
        match self.elem {
            1 => "float32",
            2 => "uint8",
            3 => "int8",
            6 => "int32",
            7 => "int64",
            10 => "float16",
            11 => "float64",
            16 => "bfloat16",
            0 => "undeclared",
            _ => "other",
        }
    }
}

/// What a model offers: the inputs a caller feeds (initializers that older
/// exporters also list as inputs are left out) and its outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    /// Some tensor's data lives in a file beside the model.
    pub external_data: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("not an ONNX model: {0}")]
pub struct ReadError(String);

fn bad(what: &str) -> ReadError {
    ReadError(what.to_string())
}

impl Interface {
    pub fn read(bytes: &[u8]) -> Result<Self, ReadError> {
        let mut graph = None;
        for field in Fields::new(bytes) {
            if let (7, Value::Bytes(b)) = field? {
                graph = Some(b);
            }
        }
        let graph = graph.ok_or_else(|| bad("it holds no graph"))?;
        let (mut inputs, mut outputs, mut initializers) = (Vec::new(), Vec::new(), Vec::new());
        let mut external_data = false;
        for field in Fields::new(graph) {
            match field? {
                (5, Value::Bytes(t)) => {
                    let (name, external) = initializer(t)?;
                    initializers.push(name);
                    external_data |= external;
                }
                (11, Value::Bytes(v)) => inputs.push(port(v)?),
                (12, Value::Bytes(v)) => outputs.push(port(v)?),
                _ => {}
            }
        }
        inputs.retain(|p: &Port| !initializers.contains(&p.name));
        Ok(Self {
            inputs,
            outputs,
            external_data,
        })
    }
}

/// A TensorProto's name (field 8) and whether its data is external
/// (`data_location`, field 14, EXTERNAL = 1).
fn initializer(bytes: &[u8]) -> Result<(String, bool), ReadError> {
    let (mut name, mut external) = (String::new(), false);
    for field in Fields::new(bytes) {
        match field? {
            (8, Value::Bytes(b)) => name = text(b)?,
            (14, Value::Varint(1)) => external = true,
            _ => {}
        }
    }
    Ok((name, external))
}

/// A ValueInfoProto: name (1) and type (2) → TypeProto.tensor_type (1) →
/// elem_type (1) and shape (2) → dims (1) → dim_value (1) / dim_param (2).
fn port(bytes: &[u8]) -> Result<Port, ReadError> {
    let mut port = Port {
        name: String::new(),
        elem: 0,
        dims: None,
    };
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Bytes(b)) => port.name = text(b)?,
            (2, Value::Bytes(type_proto)) => {
                for field in Fields::new(type_proto) {
                    if let (1, Value::Bytes(tensor)) = field? {
                        tensor_type(tensor, &mut port)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(port)
}

fn tensor_type(bytes: &[u8], port: &mut Port) -> Result<(), ReadError> {
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Varint(e)) => port.elem = i32::try_from(e).unwrap_or(-1),
            (2, Value::Bytes(shape)) => {
                let mut dims = Vec::new();
                for field in Fields::new(shape) {
                    if let (1, Value::Bytes(dim)) = field? {
                        dims.push(dimension(dim)?);
                    }
                }
                port.dims = Some(dims);
            }
            _ => {}
        }
    }
    Ok(())
}

fn dimension(bytes: &[u8]) -> Result<Dim, ReadError> {
    let mut dim = Dim::Named(String::new());
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Varint(v)) => dim = Dim::Fixed(v as i64),
            (2, Value::Bytes(p)) => dim = Dim::Named(text(p)?),
            _ => {}
        }
    }
    Ok(dim)
}

fn text(bytes: &[u8]) -> Result<String, ReadError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("a name is not UTF-8"))
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// Fixed 32- or 64-bit values, which none of the fields read here use.
    Fixed,
}

/// The fields of one protobuf message: (number, value).
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            failed: false,
        }
    }

    fn varint(&mut self) -> Result<u64, ReadError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| bad("it ends inside a number"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("a number runs past ten bytes"))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], ReadError> {
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| bad("a field runs past the end of the file (is it cut short?)"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn field(&mut self) -> Result<(u64, Value<'a>), ReadError> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 {
            return Err(bad("a field numbered 0"));
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed
            }
            2 => {
                let len = self.varint()?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Fixed
            }
            other => return Err(ReadError(format!("a field of wire type {other}"))),
        };
        Ok((number, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let field = self.field();
        self.failed = field.is_err();
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::onnx::proto::ElemType;
    use crate::import::onnx::GraphBuilder;

    fn model() -> Vec<u8> {
        let mut b = GraphBuilder::new("user");
        let x = b.input(
            "image",
            ElemType::Float,
            vec![
                Dim::Fixed(1),
                Dim::Named("height".into()),
                Dim::Named("width".into()),
                Dim::Fixed(3),
            ],
        );
        let w = b.const_f32("w", &[], &[2.0]);
        let y = b.binary("Mul", &x, &w);
        b.output(&y, "scores", ElemType::Float, vec![Dim::Fixed(1)]);
        b.finish("", vec![]).encode()
    }

    #[test]
    fn reads_the_inputs_and_outputs_a_graph_declares() {
        let interface = Interface::read(&model()).unwrap();
        assert_eq!(interface.inputs.len(), 1, "the constant is no input");
        let input = &interface.inputs[0];
        assert_eq!((input.name.as_str(), input.elem), ("image", FLOAT));
        assert_eq!(input.shape(), "1×height×width×3");
        assert_eq!(interface.outputs[0].name, "scores");
        assert!(!interface.external_data);
    }

    /// A length-delimited protobuf field (lengths under 128 bytes).
    fn field(number: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, body.len() as u8];
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn initializers_listed_as_inputs_are_not_inputs_and_external_data_is_seen() {
        // IR < 4 exporters list every weight among the inputs too; big
        // models keep weights in files beside the graph.
        let tensor = [field(8, b"w"), vec![14 << 3, 1]].concat();
        let graph = [
            field(5, &tensor),
            field(11, &field(1, b"w")),
            field(11, &field(1, b"image")),
            field(12, &field(1, b"out")),
        ]
        .concat();
        let interface = Interface::read(&field(7, &graph)).unwrap();
        let names: Vec<&str> = interface.inputs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["image"]);
        assert_eq!(interface.inputs[0].shape(), "of no declared shape");
        assert!(interface.external_data);
    }

    #[test]
    fn a_cut_file_and_other_bytes_are_refused() {
        let bytes = model();
        let cut = Interface::read(&bytes[..bytes.len() - 10]).unwrap_err();
        assert!(cut.to_string().contains("past the end"), "{cut}");
        assert!(Interface::read(b"TFL3 not onnx").is_err());
        assert_eq!(
            Interface::read(&[0x08, 0x07]).unwrap_err(),
            bad("it holds no graph")
        );
    }
}
