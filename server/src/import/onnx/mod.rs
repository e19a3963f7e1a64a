//! Building ONNX graphs from Rust: a small builder over the protobuf messages in
//! `proto`, with one method per operator that easel's exporters use.
//! Hand-written on purpose: the graphs need a few dozen protobuf fields, and a
//! hand encoder (`proto`) avoids a protobuf compiler and generated code at
//! build time; ONNX Runtime checks each graph as it loads it, and the parity
//! tests load every variant the exporter writes.

pub mod proto;
pub mod read;

use proto::{AttrValue, Attribute, Dim, ElemType, Graph, Model, Node, TensorProto, ValueInfo};

/// The opset every exported graph declares.
pub const OPSET: i64 = 17;

/// Accumulates nodes and initializers; names every value uniquely.
pub struct GraphBuilder {
    graph: Graph,
    counter: usize,
    /// fp16 packages store weights as float16 and cast them up at load.
    pub half_weights: bool,
    /// Emulates bf16 arithmetic in fp32 (see `ExportOptions`): weights
    /// rounded to bf16, and every convolution's input rounded through bf16.
    pub emulate_bf16: bool,
}

pub fn attr(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.to_string(),
        value,
    }
}

pub fn ints(name: &str, v: &[i64]) -> Attribute {
    attr(name, AttrValue::Ints(v.to_vec()))
}

pub fn int(name: &str, v: i64) -> Attribute {
    attr(name, AttrValue::Int(v))
}

pub fn float(name: &str, v: f32) -> Attribute {
    attr(name, AttrValue::Float(v))
}

pub fn string(name: &str, v: &str) -> Attribute {
    attr(name, AttrValue::Str(v.to_string()))
}

impl GraphBuilder {
    pub fn new(name: &str) -> Self {
        Self {
            graph: Graph {
                name: name.to_string(),
                ..Graph::default()
            },
            counter: 0,
            half_weights: false,
            emulate_bf16: false,
        }
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }

    pub fn input(&mut self, name: &str, elem: ElemType, dims: Vec<Dim>) -> String {
        self.graph.inputs.push(ValueInfo {
            name: name.to_string(),
            elem,
            dims,
        });
        name.to_string()
    }

    /// Declares `value` as a graph output named `name`.
    pub fn output(&mut self, value: &str, name: &str, elem: ElemType, dims: Vec<Dim>) {
        self.node_outputs("Identity", &[value], vec![], &[name.to_string()]);
        self.graph.outputs.push(ValueInfo {
            name: name.to_string(),
            elem,
            dims,
        });
    }

    /// A float weight. In fp16 packages it is stored as float16 and cast to
    /// float32 once, when ONNX Runtime folds constants at session creation.
    pub fn weight(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        let name = self.fresh(hint);
        let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        let rounded: Vec<f32>;
        let data = if self.emulate_bf16 {
            rounded = data
                .iter()
                .map(|&v| half::bf16::from_f32(v).to_f32())
                .collect();
            &rounded[..]
        } else {
            data
        };
        if self.half_weights {
            let raw = data
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect();
            let stored = format!("{name}_f16");
            self.graph.initializers.push(TensorProto {
                name: stored.clone(),
                dims,
                elem: ElemType::Float16,
                raw,
            });
            let cast = self.node(
                "Cast",
                &[&stored],
                vec![int("to", ElemType::Float as i64)],
                hint,
            );
            return cast;
        }
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.graph.initializers.push(TensorProto {
            name: name.clone(),
            dims,
            elem: ElemType::Float,
            raw,
        });
        name
    }

    /// A float constant that stays float32 whatever the weight precision.
    pub fn const_f32(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        let half = std::mem::replace(&mut self.half_weights, false);
        let emulate = std::mem::replace(&mut self.emulate_bf16, false);
        let name = self.weight(hint, dims, data);
        self.half_weights = half;
        self.emulate_bf16 = emulate;
        name
    }

    /// `x` rounded to bf16 and back, when emulating bf16: a convolution's
    /// input as a bf16 convolution (fp32 accumulation) sees it.
    fn conv_input(&mut self, x: &str) -> String {
        if !self.emulate_bf16 {
            return x.to_string();
        }
        let down = self.node(
            "Cast",
            &[x],
            vec![int("to", ElemType::BFloat16 as i64)],
            "to_bf16",
        );
        self.node(
            "Cast",
            &[&down],
            vec![int("to", ElemType::Float as i64)],
            "from_bf16",
        )
    }

    pub fn const_i64(&mut self, hint: &str, dims: &[usize], data: &[i64]) -> String {
        let name = self.fresh(hint);
        self.graph.initializers.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            elem: ElemType::Int64,
            raw: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    /// An int8 constant (quantised weights, dequantised in the graph).
    pub fn const_i8(&mut self, hint: &str, dims: &[usize], data: &[i8]) -> String {
        let name = self.fresh(hint);
        self.graph.initializers.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            elem: ElemType::Int8,
            raw: data.iter().map(|&v| v as u8).collect(),
        });
        name
    }

    pub fn scalar_i64(&mut self, hint: &str, v: i64) -> String {
        self.const_i64(hint, &[], &[v])
    }

    pub fn vec_i64(&mut self, hint: &str, v: &[i64]) -> String {
        self.const_i64(hint, &[v.len()], v)
    }

    /// Adds a node with one output and returns the output's name.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<Attribute>,
        hint: &str,
    ) -> String {
        let out = self.fresh(hint);
        self.node_outputs(op, inputs, attributes, std::slice::from_ref(&out));
        out
    }

    /// Adds a node with several outputs named `hint_0..`.
    pub fn node_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<Attribute>,
        hint: &str,
        n: usize,
    ) -> Vec<String> {
        let base = self.fresh(hint);
        let outs: Vec<String> = (0..n).map(|i| format!("{base}_{i}")).collect();
        self.node_outputs(op, inputs, attributes, &outs);
        outs
    }

    fn node_outputs(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<Attribute>,
        outputs: &[String],
    ) {
        let name = format!("{op}_{}", self.graph.nodes.len());
        self.graph.nodes.push(Node {
            name,
            op_type: op.to_string(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.to_vec(),
            attributes,
        });
    }

    /// 2-D convolution with a square k×k `weight` (out, in, k, k), padded by
    /// k/2 on every side as all of SPADE's convolutions are.
    pub fn conv(
        &mut self,
        x: &str,
        weight: &str,
        bias: Option<&str>,
        k: usize,
        stride: usize,
        hint: &str,
    ) -> String {
        let x = self.conv_input(x);
        let mut inputs = vec![x.as_str(), weight];
        if let Some(b) = bias {
            inputs.push(b);
        }
        let p = (k / 2) as i64;
        let attrs = vec![
            ints("kernel_shape", &[k as i64, k as i64]),
            ints("pads", &[p, p, p, p]),
            ints("strides", &[stride as i64, stride as i64]),
        ];
        self.node("Conv", &inputs, attrs, hint)
    }

    /// Transposed 2-D convolution with a k×k `weight` (in, out, k, k) and no
    /// padding: each input pixel spreads into a k×k patch, `stride` apart.
    pub fn conv_transpose(
        &mut self,
        x: &str,
        weight: &str,
        bias: Option<&str>,
        k: usize,
        stride: usize,
        hint: &str,
    ) -> String {
        let x = self.conv_input(x);
        let mut inputs = vec![x.as_str(), weight];
        if let Some(b) = bias {
            inputs.push(b);
        }
        let attrs = vec![
            ints("kernel_shape", &[k as i64, k as i64]),
            ints("strides", &[stride as i64, stride as i64]),
        ];
        self.node("ConvTranspose", &inputs, attrs, hint)
    }

    /// k×k max pooling, `stride` apart, without padding.
    pub fn max_pool(&mut self, x: &str, k: usize, stride: usize) -> String {
        let attrs = vec![
            ints("kernel_shape", &[k as i64, k as i64]),
            ints("strides", &[stride as i64, stride as i64]),
        ];
        self.node("MaxPool", &[x], attrs, "pool")
    }

    pub fn relu(&mut self, x: &str) -> String {
        self.node("Relu", &[x], vec![], "relu")
    }

    pub fn leaky_relu(&mut self, x: &str, alpha: f32) -> String {
        self.node("LeakyRelu", &[x], vec![float("alpha", alpha)], "lrelu")
    }

    pub fn binary(&mut self, op: &str, a: &str, b: &str) -> String {
        self.node(op, &[a, b], vec![], &op.to_lowercase())
    }

    pub fn finish(self, doc: &str, metadata: Vec<(String, String)>) -> Model {
        Model {
            graph: self.graph,
            opset: OPSET,
            producer_version: env!("CARGO_PKG_VERSION").to_string(),
            doc: doc.to_string(),
            metadata,
        }
    }
}
