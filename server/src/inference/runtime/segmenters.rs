//! A package's segmenters loaded into ONNX Runtime (always fp32: they
//! answer classes, not pixels): its own, and the one for real photographs,
//! either one graph (photo → classes) or the user's ONNX graph (photo →
//! scores) followed by easel's head (scores → classes).

use std::path::Path;

use ort::session::Session;
use ort::value::TensorRef;

use super::{extract, session, Output, RuntimeError, SessionOptions};
use crate::package::card::{Layout, OnnxPorts};
use crate::package::graph::{CLASSES_OUTPUT, PHOTO_INPUT, SCORES_INPUT};
use crate::package::{ModelCard, ModelPackage};

/// A map's shape and class indices, as a segmenter graph answers them.
pub type Classes = (Vec<usize>, Vec<i64>);

/// A graph that turns photos into class indices (`photo` → `classes`),
/// loaded into ONNX Runtime.
pub struct ClassesGraph {
    session: Session,
}

impl ClassesGraph {
    pub fn open(path: &Path, opts: &SessionOptions) -> Result<Self, RuntimeError> {
        Ok(Self {
            session: session(path, opts)?,
        })
    }

    /// Class indices, (N, H', W'), for N photos (N, 3, H, W) as the graph
    /// takes them: the shape and the values.
    pub fn classes(&mut self, shape: [usize; 4], pixels: &[f32]) -> Result<Classes, RuntimeError> {
        classes_of(&mut self.session, PHOTO_INPUT, shape.to_vec(), pixels)
    }
}

/// `classes` (int64) of a graph fed `values` of `shape` as `input`.
fn classes_of(
    session: &mut Session,
    input: &str,
    shape: Vec<usize>,
    values: &[f32],
) -> Result<Classes, RuntimeError> {
    let outputs = session.run(vec![(
        input,
        TensorRef::from_array_view((shape, values))?.into_dyn(),
    )])?;
    let (shape, data) = outputs[CLASSES_OUTPUT].try_extract_tensor::<i64>()?;
    let shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if shape.iter().product::<usize>() != data.len() {
        return Err(RuntimeError::BadOutput(format!(
            "a map of shape {shape:?} with {} values",
            data.len()
        )));
    }
    Ok((shape, data.to_vec()))
}

/// The segmenter for real photographs, as its card entry says.
enum PhotoGraph {
    /// One graph, translated by easel with its head inside.
    Whole(ClassesGraph),
    /// The user's ONNX graph as exported, then easel's head.
    Scores {
        network: Session,
        head: Session,
        ports: OnnxPorts,
    },
}

impl PhotoGraph {
    fn open(package: &ModelPackage, opts: &SessionOptions) -> Result<Option<Self>, RuntimeError> {
        let Some(path) = package.photo_segmenter_path() else {
            return Ok(None);
        };
        let ports = package
            .card
            .photo_segmenter
            .as_ref()
            .and_then(|p| p.onnx.clone());
        Ok(Some(match (ports, package.photo_head_path()) {
            (Some(ports), Some(head)) => PhotoGraph::Scores {
                network: session(&path, opts)?,
                head: session(&head, opts)?,
                ports,
            },
            _ => PhotoGraph::Whole(ClassesGraph::open(&path, opts)?),
        }))
    }

    /// Class indices (1, H, W) for one photo (1, 3, H, W) in the input's
    /// range.
    fn classes(&mut self, shape: [usize; 4], pixels: &[f32]) -> Result<Classes, RuntimeError> {
        match self {
            PhotoGraph::Whole(graph) => graph.classes(shape, pixels),
            PhotoGraph::Scores {
                network,
                head,
                ports,
            } => {
                let scores = scores(network, ports, shape, pixels)?;
                classes_of(head, SCORES_INPUT, scores.shape, &scores.data)
            }
        }
    }
}

/// The user's graph's scores for one photo, checked against its card.
fn scores(
    network: &mut Session,
    ports: &OnnxPorts,
    shape: [usize; 4],
    pixels: &[f32],
) -> Result<Output, RuntimeError> {
    let [n, c, h, w] = shape;
    let channels_last;
    let (fed_shape, fed) = match ports.input_layout {
        Layout::Nchw => (shape.to_vec(), pixels),
        Layout::Nhwc => {
            channels_last = to_channels_last(pixels, c, h * w);
            (vec![n, h, w, c], channels_last.as_slice())
        }
    };
    let outputs = network.run(vec![(
        ports.input.as_str(),
        TensorRef::from_array_view((fed_shape, fed))?.into_dyn(),
    )])?;
    let value = outputs.get(ports.output.as_str()).ok_or_else(|| {
        RuntimeError::BadOutput(format!(
            "no output `{}`, which the card's photo_segmenter.onnx.output names; attach the \
             segmenter again (`easel attach-photo-segmenter`)",
            ports.output
        ))
    })?;
    let scores = extract(value)?;
    let (axis, order) = match ports.output_layout {
        Layout::Nchw => (1, "channels first"),
        Layout::Nhwc => (3, "channels last"),
    };
    if scores.shape.len() != 4 || scores.shape[axis] != ports.classes {
        return Err(RuntimeError::BadOutput(format!(
            "scores `{}` of shape {:?}, where its card says {} classes, {order}",
            ports.output, scores.shape, ports.classes
        )));
    }
    Ok(scores)
}

/// (C, P) planes → (P, C) pixels.
fn to_channels_last(planes: &[f32], channels: usize, pixels: usize) -> Vec<f32> {
    let mut out = vec![0.0; planes.len()];
    for (c, plane) in planes.chunks_exact(pixels).enumerate().take(channels) {
        for (p, &v) in plane.iter().enumerate() {
            out[p * channels + c] = v;
        }
    }
    out
}
/// A package's segmenters loaded into ONNX Runtime: its own (`segmenter`,
/// any photo size) and the one for real photographs (`photo_segmenter`,
/// a fixed input), either or both. `inference::segment` says which reads
/// what.
pub struct SegmenterSession {
    /// The card of the package whose classes they answer.
    pub card: ModelCard,
    own: Option<ClassesGraph>,
    photo: Option<PhotoGraph>,
    /// Which graph scores generated images, and its digest.
    judge: String,
}

impl SegmenterSession {
    /// The segmenters `package` carries; None when its card names none.
    pub fn load(
        package: &ModelPackage,
        opts: &SessionOptions,
    ) -> Result<Option<Self>, RuntimeError> {
        let own = package.segmenter_path();
        let photo = package.photo_segmenter_path();
        let Some(judge_path) = own.clone().or_else(|| photo.clone()) else {
            return Ok(None);
        };
        // A photo segmenter brought as ONNX judges with easel's head.
        let head = own.is_none().then(|| package.photo_head_path()).flatten();
        let judge = [Some(judge_path), head]
            .into_iter()
            .flatten()
            .map(|path| {
                let digest = crate::package::sha256_file(&path).map_err(|e| {
                    RuntimeError::Unsupported(format!("cannot read {}: {e}", path.display()))
                })?;
                Ok(format!(
                    "{} (sha256 {})",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    &digest[..12]
                ))
            })
            .collect::<Result<Vec<_>, RuntimeError>>()?
            .join(" + ");
        Ok(Some(Self {
            card: package.card.clone(),
            own: own.map(|p| ClassesGraph::open(&p, opts)).transpose()?,
            photo: PhotoGraph::open(package, opts)?,
            judge,
        }))
    }

    /// The graph that scores generated images: the package's own segmenter
    /// when it has one (scores stay comparable across releases), else the
    /// photo segmenter; named with the first digits of its digest.
    pub fn judge(&self) -> &str {
        &self.judge
    }

    /// Class indices, (N, H, W), from the package's own segmenter for N
    /// photos (N, 3, H, W) in [-1, 1]; None when it has none.
    pub fn own_classes(
        &mut self,
        shape: [usize; 4],
        pixels: &[f32],
    ) -> Option<Result<Classes, RuntimeError>> {
        self.own.as_mut().map(|g| g.classes(shape, pixels))
    }

    /// Class indices from the photo segmenter, for photos at its input
    /// size in its range; None when the package has none.
    pub fn photo_classes(
        &mut self,
        shape: [usize; 4],
        pixels: &[f32],
    ) -> Option<Result<Classes, RuntimeError>> {
        self.photo.as_mut().map(|g| g.classes(shape, pixels))
    }
}
