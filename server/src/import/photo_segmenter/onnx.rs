//! A segmenter brought as ONNX: kept byte for byte as the user exported it
//! (any opset, any producer), its photo input and scores output chosen and
//! their layouts read from the graph where it leaves no doubt, and easel's
//! head written beside it as a graph of its own: scores at any resolution
//! → the package's classes at the input size.

use super::{Head, PhotoSegmenterError, PhotoSegmenterImport, Prepared};
use super::{PHOTO_HEAD_FILE, PHOTO_SEGMENTER_FILE};
use crate::import::onnx::proto::Dim;
use crate::import::onnx::read::{Interface, Port, FLOAT};
use crate::import::scores_head::head_graph;
use crate::package::card::{Layout, OnnxPorts};

pub(super) fn prepare(
    req: &PhotoSegmenterImport,
    bytes: &[u8],
    head: &Head,
    classes: usize,
) -> Result<Prepared, PhotoSegmenterError> {
    let problem = |problem: String| PhotoSegmenterError::Onnx {
        path: req.network.display().to_string(),
        problem,
    };
    let doubt = |Doubt(d): Doubt| problem(d);
    let interface = Interface::read(bytes).map_err(|e| {
        problem(format!(
            "is neither a TFLite model (no `TFL3` at byte 4) nor an ONNX model ({e})"
        ))
    })?;
    if interface.external_data {
        return Err(problem(
            "keeps its weights in files beside the graph; save it as one file \
             (`onnx.save(model, path, save_as_external_data=False)`, under 2 GB)"
                .into(),
        ));
    }
    if req.scores {
        return Err(problem(
            "is ONNX, whose own scores output is what --scores would add; leave --scores out"
                .into(),
        ));
    }
    let ports = &req.ports;
    let input = pick(
        &interface.inputs,
        ports.input.as_deref(),
        ("input", "--input"),
        |_| true,
    )
    .map_err(doubt)?;
    if input.elem != FLOAT && input.elem != 0 {
        return Err(problem(format!(
            "its input `{}` takes {}; easel feeds photos as float32 (export it with a float input)",
            input.name,
            input.elem_name()
        )));
    }
    let input_layout = match ports.input_layout {
        Some(layout) => layout,
        None => layout_of(input, 3).ok_or_else(|| {
            problem(format!(
                "its input `{}` is {}; say whether it takes channels first or last with --layout nchw|nhwc",
                input.name,
                input.shape()
            ))
        })?,
    };
    let size = input_size(input, input_layout, ports.input_size).map_err(doubt)?;
    let output = pick(
        &interface.outputs,
        ports.output.as_deref(),
        ("output", "--output"),
        |p| p.elem == FLOAT && p.dims.as_ref().is_some_and(|d| d.len() == 4),
    )
    .map_err(doubt)?;
    if output.elem != FLOAT && output.elem != 0 {
        return Err(problem(format!(
            "its output `{}` is {}; easel reads float32 class scores (logits), not class indices: \
             export the graph without its final ArgMax",
            output.name,
            output.elem_name()
        )));
    }
    let output_layout = match ports.output_layout {
        Some(layout) => layout,
        None => layout_of(output, classes).ok_or_else(|| {
            problem(format!(
                "its output `{}` is {}, with no axis of the labels' {classes} classes in place; \
                 say where the classes are with --scores-layout nchw|nhwc",
                output.name,
                output.shape()
            ))
        })?,
    };
    if let Some(found) = fixed_channels(output, output_layout).filter(|&c| c != classes) {
        return Err(PhotoSegmenterError::LabelCount {
            classes: found,
            labels: req.labels.clone(),
            names: classes,
        });
    }
    head.check(classes).map_err(|e| problem(e.0))?;
    let head_model = head_graph(head, classes, output_layout, size);
    Ok(Prepared {
        files: vec![
            (PHOTO_SEGMENTER_FILE, bytes.to_vec()),
            (PHOTO_HEAD_FILE, head_model.encode()),
        ],
        input: size,
        classes,
        onnx: Some(OnnxPorts {
            input: input.name.clone(),
            input_layout,
            output: output.name.clone(),
            output_layout,
            classes,
            head_file: PHOTO_HEAD_FILE.into(),
        }),
    })
}

/// What the graph leaves in doubt, and the flag that settles it.
#[derive(Debug)]
struct Doubt(String);

/// The port named, or the only one (the only one `likely` accepts, when
/// there are several).
fn pick<'a>(
    ports: &'a [Port],
    named: Option<&str>,
    (what, flag): (&str, &str),
    likely: impl Fn(&Port) -> bool,
) -> Result<&'a Port, Doubt> {
    let listed = || {
        ports
            .iter()
            .map(|p| format!("`{}` ({}, {})", p.name, p.elem_name(), p.shape()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(name) = named {
        return ports
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Doubt(format!("has no {what} `{name}`; its {what}s: {}", listed())));
    }
    match ports {
        [] => Err(Doubt(format!("declares no {what}"))),
        [one] => Ok(one),
        _ => {
            let candidates: Vec<&Port> = ports.iter().filter(|p| likely(p)).collect();
            match candidates[..] {
                [one] => Ok(one),
                _ => Err(Doubt(format!(
                    "has {} {what}s: {}; say which with {flag} NAME",
                    ports.len(),
                    listed()
                ))),
            }
        }
    }
}

/// Channels first or last, where exactly one of the two places holds
/// `channels`.
fn layout_of(port: &Port, channels: usize) -> Option<Layout> {
    let dims = port.dims.as_ref().filter(|d| d.len() == 4)?;
    let is = |d: &Dim| *d == Dim::Fixed(channels as i64);
    match (is(&dims[1]), is(&dims[3])) {
        (true, false) => Some(Layout::Nchw),
        (false, true) => Some(Layout::Nhwc),
        _ => None,
    }
}

fn fixed_channels(port: &Port, layout: Layout) -> Option<usize> {
    let dims = port.dims.as_ref().filter(|d| d.len() == 4)?;
    match dims[if layout == Layout::Nchw { 1 } else { 3 }] {
        Dim::Fixed(c) if c > 0 => Some(c as usize),
        _ => None,
    }
}

/// (width, height) the network is fed at: its declared size, or the one
/// asked for where the input takes any.
fn input_size(
    input: &Port,
    layout: Layout,
    asked: Option<(usize, usize)>,
) -> Result<(usize, usize), Doubt> {
    let declared = match input.dims.as_deref() {
        Some([_, a, b, c]) => {
            let (h, w) = match layout {
                Layout::Nchw => (b, c),
                Layout::Nhwc => (a, b),
            };
            match (h, w) {
                (Dim::Fixed(h), Dim::Fixed(w)) if *h > 0 && *w > 0 => {
                    Some((*w as usize, *h as usize))
                }
                _ => None,
            }
        }
        Some(_) => {
            return Err(Doubt(format!(
            "its input `{}` is {}; a photo input has four axes (batch, channels and the two sides)",
            input.name,
            input.shape()
        )))
        }
        None => None,
    };
    match (declared, asked) {
        (Some(d), Some(a)) if d != a => Err(Doubt(format!(
            "its input `{}` is fixed at {}×{}, not the {}×{} asked for with --input-size",
            input.name, d.0, d.1, a.0, a.1
        ))),
        (Some(d), _) => Ok(d),
        (None, Some(a)) => Ok(a),
        (None, None) => Err(Doubt(format!(
            "its input `{}` ({}) takes photos of any size; say which size to feed it with \
             --input-size WxH (the size it was trained or evaluated at, e.g. 513x513)",
            input.name,
            input.shape()
        ))),
    }
}
