//! The builtin options of the operators the reader takes (strides,
//! padding, fused activations, axes, resize modes), from each operator's
//! `builtin_options` union. Field numbers are those of TFLite's
//! `schema.fbs`.

use super::flat::Table;
use super::{Op, TfliteError};

/// How a convolution or pool pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// TensorFlow's SAME: the output is ceil(input / stride); the odd pixel
    /// of padding goes after.
    Same,
    Valid,
}

/// An activation fused into the operator's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    Relu6,
}

/// A convolution's or pool's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub padding: Padding,
    /// (height, width), as every pair here.
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    /// A pool's filter; a convolution's comes from its weight.
    pub filter: (usize, usize),
}

/// What an operator's options say, by the operator they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Options {
    None,
    Window {
        window: Window,
        activation: Activation,
    },
    /// ADD, MUL.
    Elementwise(Activation),
    Concatenation {
        axis: i32,
        activation: Activation,
    },
    ResizeBilinear {
        align_corners: bool,
        half_pixel_centers: bool,
    },
}

impl Options {
    /// Reads `op`'s options from `table` (absent: the schema's defaults).
    pub(super) fn read(op: Op, table: Option<Table>, index: usize) -> Result<Self, TfliteError> {
        let int = |id: usize, default: i32| -> Result<i32, TfliteError> {
            match &table {
                Some(t) => t.i32_or(id, default),
                None => Ok(default),
            }
        };
        let byte =
            |id: usize| -> Result<u8, TfliteError> { table.as_ref().map_or(Ok(0), |t| t.u8(id)) };
        let positive = |id: usize, what: &str| -> Result<usize, TfliteError> {
            let v = int(id, 1)?;
            usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| {
                TfliteError::Damaged(format!("operator {index} ({}) has {what} {v}", op.name()))
            })
        };
        let activation = |id: usize| -> Result<Activation, TfliteError> {
            match byte(id)? {
                0 => Ok(Activation::None),
                1 => Ok(Activation::Relu),
                3 => Ok(Activation::Relu6),
                other => Err(TfliteError::Unsupported(format!(
                    "operator {index} ({}) fuses activation {} into its output",
                    op.name(),
                    activation_name(other)
                ))),
            }
        };
        let padding = |id: usize| -> Result<Padding, TfliteError> {
            match byte(id)? {
                0 => Ok(Padding::Same),
                1 => Ok(Padding::Valid),
                other => Err(TfliteError::Damaged(format!(
                    "operator {index} ({}) has padding {other}",
                    op.name()
                ))),
            }
        };
        Ok(match op {
            Op::Conv2d => Options::Window {
                window: Window {
                    padding: padding(0)?,
                    stride: (positive(2, "stride")?, positive(1, "stride")?),
                    dilation: (positive(5, "dilation")?, positive(4, "dilation")?),
                    filter: (0, 0),
                },
                activation: activation(3)?,
            },
            Op::DepthwiseConv2d => Options::Window {
                window: Window {
                    padding: padding(0)?,
                    stride: (positive(2, "stride")?, positive(1, "stride")?),
                    dilation: (positive(6, "dilation")?, positive(5, "dilation")?),
                    filter: (0, 0),
                },
                activation: activation(4)?,
            },
            Op::AveragePool2d => Options::Window {
                window: Window {
                    padding: padding(0)?,
                    stride: (positive(2, "stride")?, positive(1, "stride")?),
                    dilation: (1, 1),
                    filter: (positive(4, "filter")?, positive(3, "filter")?),
                },
                activation: activation(5)?,
            },
            Op::Add | Op::Mul => Options::Elementwise(activation(0)?),
            Op::Concatenation => Options::Concatenation {
                axis: int(0, 0)?,
                activation: activation(1)?,
            },
            Op::ResizeBilinear => Options::ResizeBilinear {
                align_corners: byte(2)? != 0,
                half_pixel_centers: byte(3)? != 0,
            },
            Op::Dequantize | Op::BatchToSpaceNd | Op::SpaceToBatchNd | Op::ArgMax => Options::None,
        })
    }
}

fn activation_name(code: u8) -> String {
    match code {
        2 => "RELU_N1_TO_1".into(),
        4 => "TANH".into(),
        5 => "SIGN_BIT".into(),
        other => format!("number {other}"),
    }
}
