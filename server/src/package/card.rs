//! `model.json`, the model card: everything the rest of easel needs to know to
//! use a package's graphs. Its schema is documented in docs/model-card.md.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::classes::ClassInfo;
use super::presets::{check_presets, safe_name, PresetError, StylePreset};

/// The card format this easel writes. Fields added within a format are
/// optional (`#[serde(default)]`), so cards written before them still read;
/// a change that older cards cannot meet raises the format, and
/// [`ModelCard::from_json`] upgrades the older formats it knows.
pub const CARD_FORMAT: u32 = 1;
/// The oldest format this easel reads.
pub const OLDEST_CARD_FORMAT: u32 = 1;

/// Why a card cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("it is not a model card easel can read ({0}); fix the field, or write the package again with `easel import`")]
    Json(String),
    #[error("its format is {0}, newer than this easel reads (up to {CARD_FORMAT}); upgrade easel")]
    Newer(u32),
    #[error("its format is {0}, older than this easel reads (from {OLDEST_CARD_FORMAT}); re-import the checkpoint with this easel")]
    Older(u32),
    #[error("it is not a model card easel can read ({0}); fix the field, or write the package again with `easel import`")]
    Preset(#[from] PresetError),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Size {
    pub width: usize,
    pub height: usize,
}

/// Which label-map sizes the generator accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowedSizes {
    /// Only the native size (models that start from z).
    pub fixed: bool,
    /// Otherwise any height and width that are multiples of this.
    pub multiple_of: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DontCare {
    /// The class index the graph uses for it (label value 255 maps here).
    pub index: usize,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Architecture {
    pub norm_g: String,
    pub ngf: usize,
    pub spade_hidden: usize,
    pub num_upsampling_layers: Upsampling,
    pub semantic_nc: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm_e: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceFile {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    pub checkpoint_dir: String,
    pub epoch: String,
    pub generator: SourceFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<SourceFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt: Option<SourceFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Importer {
    pub name: String,
    pub version: String,
}

/// A segmenter the package carries: a graph that turns a photo into a map
/// of this package's classes (`POST /api/v1/models/{name}/segment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SegmenterCard {
    /// The graph, a plain file name in the package folder (`segmenter.onnx`).
    pub file: String,
    /// The class table the segmenter was trained with. Its classes were
    /// matched to this package's by name at import, so the graph answers
    /// this package's class indices whatever the table.
    pub class_table: String,
    /// "fp32", or "fp16" when its weights are stored in half precision.
    pub precision: String,
    /// The trainer's weights it was exported from.
    pub source: SourceFile,
}

/// A segmenter for real photographs (`easel attach-photo-segmenter`): a
/// network with a fixed input, translated from TFLite with its classes
/// mapped to this package's inside the graph, or brought as ONNX and run
/// as exported, its scores mapped by a head graph of easel's (`onnx`).
/// Photos are letterboxed into its input; its map is cropped back and
/// scaled to the canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhotoSegmenterCard {
    /// The graph, a plain file name in the package folder.
    pub file: String,
    /// Its own classes: a built-in labels name (`ade20k`) or the labels
    /// file it came with.
    pub labels: String,
    /// How its classes became this package's: a built-in mapping
    /// (`ade20k-to-landscapes`), `by name`, or the user's file.
    pub mapping: String,
    /// The (segmenter class, package class) pairs the graph applies; a
    /// segmenter class not listed takes the best class that is.
    pub pairs: Vec<[String; 2]>,
    /// What the network takes.
    pub input: PhotoInput,
    /// Classes the package's own segmenter (`segmenter`) decides inside
    /// this one's regions: clouds in the sky, snow on the mountains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refine: Vec<Refinement>,
    /// The file it was translated from.
    pub source: SourceFile,
    /// A head trained on easel's side (`python -m easel_training
    /// photo-head`) that turns all the segmenter's scores into this
    /// package's in place of the mapping's argmax (the mapping was its
    /// starting point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<SourceFile>,
    /// Where the network comes from and under what licence.
    pub provenance: String,
    /// Set when the network (`file`) is the user's ONNX graph, run as
    /// exported: how to feed it and read its scores, and easel's head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnx: Option<OnnxPorts>,
}

/// A photo segmenter's input contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhotoInput {
    pub width: usize,
    pub height: usize,
    /// The pixel values black and white become (e.g. -1 and 1).
    pub range: [f32; 2],
    /// Per-channel normalisation after the range, (value − mean) / std,
    /// as torchvision's models take photos (range 0..1, ImageNet's
    /// mean and std).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
}

/// Per-channel (R, G, B) mean and standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Normalize {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl PhotoInput {
    /// The value channel `c` of a pixel of intensity `v` (0..255) takes.
    pub fn value(&self, c: usize, v: f32) -> f32 {
        let [lo, hi] = self.range;
        let x = lo + (hi - lo) * v / 255.0;
        match &self.normalize {
            Some(n) => (x - n.mean[c]) / n.std[c],
            None => x,
        }
    }

    /// What padding takes: the middle grey, or the mean (zero once
    /// normalised), as the networks' own evaluation pads.
    pub fn pad(&self, c: usize) -> f32 {
        match &self.normalize {
            Some(_) => 0.0,
            None => self.value(c, 127.5),
        }
    }
}

/// How a segmenter brought as ONNX is fed and read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OnnxPorts {
    /// Its photo input's name and layout.
    pub input: String,
    pub input_layout: Layout,
    /// Its class scores output's name and layout; any resolution.
    pub output: String,
    pub output_layout: Layout,
    /// How many classes it scores.
    pub classes: usize,
    /// easel's graph from the scores to this package's classes (the
    /// mapping or trained head, the resize to the input size, the argmax),
    /// a plain file name in the package folder.
    pub head_file: String,
}

/// Where a 4-D tensor keeps its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// (N, C, H, W), as PyTorch exports.
    Nchw,
    /// (N, H, W, C), as TensorFlow exports.
    Nhwc,
}

/// Inside the photo segmenter's `within` classes, a pixel becomes one of
/// `take`: the package segmenter's answer when it is one of them (`by`
/// segmenter), or `take[0]` where the photo is white or light grey in most
/// of the pixel's 5×5 neighbourhood (`by` white: clouds in a sky, snow on
/// the ground, which a segmenter of real photos may have no class for). Rules apply one after another, each to
/// the classes the earlier ones left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refinement {
    pub within: Vec<String>,
    pub take: Vec<String>,
    #[serde(default, skip_serializing_if = "RefineBy::is_segmenter")]
    pub by: RefineBy,
}

/// What decides a refinement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RefineBy {
    /// The package's own segmenter.
    #[default]
    Segmenter,
    /// The photo's colour: bright and nearly grey.
    White,
}

impl RefineBy {
    fn is_segmenter(&self) -> bool {
        *self == RefineBy::Segmenter
    }
}

/// `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelCard {
    pub format: u32,
    pub name: String,
    /// The generator family: spade, clade (per-class affine tables) or
    /// oasis. Added within format 1: older cards read as spade.
    #[serde(default)]
    pub family: ModelFamily,
    /// Where the class names came from: a built-in table, a file, or "generic".
    pub class_table: String,
    pub classes: Vec<ClassInfo>,
    pub dontcare: Option<DontCare>,
    pub uses_instances: bool,
    /// The generator takes CLADE-ICPE's positional encoding of the map
    /// (computed by easel from the label map). Added within format 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uses_positional_encoding: bool,
    /// Some(z_dim) when the generator takes a style vector z.
    pub z_dim: Option<usize>,
    /// z enters as a map, one z per pixel (OASIS's noise, the `noise` input
    /// of shape (N, z_dim, H, W)), so regions can take their own z. Added
    /// within format 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub z_per_pixel: bool,
    /// Whether `encoder.onnx` turns a style image into z.
    pub has_encoder: bool,
    pub native: Size,
    pub sizes: AllowedSizes,
    /// "fp32", or "fp16" when the weights are stored in half precision.
    pub precision: String,
    pub architecture: Architecture,
    pub source: Source,
    pub importer: Importer,
    /// What the model was trained on and for how long, from the checkpoint
    /// folder's `training.json` when the trainer wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub training: Option<serde_json::Value>,
    /// The licence the user should know about: as stated at import
    /// (`--licence`), or a note on the reference code's. Added within format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// Looks the package ships for models with z: named z vectors (the
    /// painting page shows them with their thumbnails). Added within format 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub styles: Vec<StylePreset>,
    /// Evaluation figures, from the checkpoint folder's `evaluation.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub evaluation: Option<serde_json::Value>,
    /// A segmenter that turns photos into maps of these classes, when the
    /// package carries one (`easel import-segmenter`). Added within format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmenter: Option<SegmenterCard>,
    /// A segmenter for real photographs, when the package carries one; it
    /// reads photos, and the package's own `segmenter` (when there is one)
    /// stays the judge that scores generated images. Added within format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_segmenter: Option<PhotoSegmenterCard>,
}

impl ModelCard {
    /// Reads `model.json`, checking its format first so that a card from a
    /// newer easel is refused for what it is, not for a missing field.
    pub fn from_json(text: &str) -> Result<Self, CardError> {
        #[derive(Deserialize)]
        struct Format {
            format: Option<u32>,
        }
        let format = serde_json::from_str::<Format>(text)
            .map_err(|e| CardError::Json(e.to_string()))?
            .format
            .ok_or_else(|| CardError::Json("it has no `format` field".into()))?;
        if format > CARD_FORMAT {
            return Err(CardError::Newer(format));
        }
        if format < OLDEST_CARD_FORMAT {
            return Err(CardError::Older(format));
        }
        let card: Self = serde_json::from_str(text).map_err(|e| CardError::Json(e.to_string()))?;
        check_presets(&card.styles, card.z_dim.unwrap_or(0))?;
        let files = [
            ("segmenter.file", card.segmenter.as_ref().map(|s| &s.file)),
            (
                "photo_segmenter.file",
                card.photo_segmenter.as_ref().map(|s| &s.file),
            ),
            (
                "photo_segmenter.onnx.head_file",
                card.photo_segmenter
                    .as_ref()
                    .and_then(|s| s.onnx.as_ref())
                    .map(|o| &o.head_file),
            ),
        ];
        for (entry, file) in files {
            if let Some(file) = file.filter(|f| !safe_name(f)) {
                return Err(CardError::Json(format!(
                    "{entry} `{file}` must be a plain file name in the package folder"
                )));
            }
        }
        if let Some(photo) = &card.photo_segmenter {
            check_photo_segmenter(photo, &card)?;
        }
        Ok(card)
    }

    /// The preset called `name`.
    pub fn style_preset(&self, name: &str) -> Option<&StylePreset> {
        self.styles.iter().find(|p| p.name == name)
    }

    /// Label values a map may hold: the classes and the dontcare class.
    pub fn label_classes(&self) -> usize {
        self.classes.len() + self.dontcare.is_some() as usize
    }

    /// The name and colour (`#rrggbb`) of label value `value`: its class,
    /// the dontcare class past them, else `class N` in black.
    pub fn value_class(&self, value: usize) -> (String, String) {
        match (self.classes.get(value), &self.dontcare) {
            (Some(c), _) => (c.name.clone(), c.color.clone()),
            (None, Some(d)) if value == self.classes.len() => (d.name.clone(), d.color.clone()),
            _ => (format!("class {value}"), "#000000".into()),
        }
    }
}

/// Which published generator design a model follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelFamily {
    /// NVlabs/SPADE (GauGAN).
    #[default]
    Spade,
    /// CLADE: class-adaptive normalisation (tzt101/CLADE).
    Clade,
    /// OASIS (boschresearch/OASIS).
    Oasis,
}

/// `num_upsampling_layers`: how many ×2 steps lie between the latent map and the image.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Upsampling {
    Normal,
    More,
    Most,
}

impl Upsampling {
    pub fn steps(self) -> u32 {
        match self {
            Upsampling::Normal => 5,
            Upsampling::More => 6,
            Upsampling::Most => 7,
        }
    }
}

/// A `num_upsampling_layers` that is none of the reference's three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("num_upsampling_layers `{0}` is not one of normal, more, most")]
pub struct UnknownUpsampling(pub String);

impl FromStr for Upsampling {
    type Err = UnknownUpsampling;
    fn from_str(s: &str) -> Result<Self, UnknownUpsampling> {
        match s {
            "normal" => Ok(Upsampling::Normal),
            "more" => Ok(Upsampling::More),
            "most" => Ok(Upsampling::Most),
            other => Err(UnknownUpsampling(other.to_string())),
        }
    }
}

impl fmt::Display for Upsampling {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Upsampling::Normal => "normal",
            Upsampling::More => "more",
            Upsampling::Most => "most",
        })
    }
}

/// What reading a photo relies on: refinements that name the package's
/// classes (and its own segmenter, for those it decides) and a usable
/// normalisation, so that no photo is read with a rule silently skipped.
fn check_photo_segmenter(photo: &PhotoSegmenterCard, card: &ModelCard) -> Result<(), CardError> {
    let bad = |what: String| Err(CardError::Json(format!("photo_segmenter: {what}")));
    for rule in &photo.refine {
        if rule.by == RefineBy::Segmenter && card.segmenter.is_none() {
            return bad(format!(
                "the refinement within {} is decided by the package's own segmenter, and the card names none",
                rule.within.join(",")
            ));
        }
        if let Some(name) = rule
            .within
            .iter()
            .chain(&rule.take)
            .find(|n| !card.classes.iter().any(|c| &c.name == *n))
        {
            return bad(format!(
                "a refinement names `{name}`, which is no class of the model"
            ));
        }
    }
    if let Some(n) = &photo.input.normalize {
        if n.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || n.mean.iter().any(|m| !m.is_finite())
        {
            return bad(format!(
                "normalize needs finite means and positive standard deviations, not {n:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card as easel wrote it in format 1 (the default model's, 2026-11).
    const FORMAT_1: &str = include_str!("../../tests/fixtures/cards/landscapes-format1.json");

    fn with(field: &str, value: serde_json::Value) -> String {
        let mut card: serde_json::Value = serde_json::from_str(FORMAT_1).unwrap();
        card[field] = value;
        card.to_string()
    }

    #[test]
    fn reads_a_card_written_in_format_1() {
        let card = ModelCard::from_json(FORMAT_1).unwrap();
        assert_eq!(card.format, 1);
        assert_eq!(card.name, "landscapes");
        assert_eq!(card.classes.len(), 12);
        assert_eq!(card.architecture.num_upsampling_layers, Upsampling::Normal);
        assert!(card.training.is_some());
    }

    #[test]
    fn a_format_1_card_from_before_the_family_field_is_a_spade_model() {
        let card = ModelCard::from_json(FORMAT_1).unwrap();
        assert!(!FORMAT_1.contains("\"family\""));
        assert_eq!(card.family, ModelFamily::Spade);
        let clade = with("family", serde_json::json!("clade"));
        assert_eq!(
            ModelCard::from_json(&clade).unwrap().family,
            ModelFamily::Clade
        );
    }

    #[test]
    fn fields_added_later_in_the_format_do_not_break_older_readers() {
        let card = with("painted_by", serde_json::json!({"file": "hand.onnx"}));
        assert_eq!(ModelCard::from_json(&card).unwrap().name, "landscapes");
    }

    #[test]
    fn a_segmenter_entry_names_its_file_and_classes() {
        let entry = serde_json::json!({
            "file": "segmenter.onnx",
            "class_table": "landscapes",
            "precision": "fp32",
            "source": {"file": "segmenter.pth", "sha256": "ab"},
        });
        let card = ModelCard::from_json(&with("segmenter", entry.clone())).unwrap();
        let segmenter = card.segmenter.expect("the entry is read");
        assert_eq!(segmenter.file, "segmenter.onnx");
        assert_eq!(segmenter.class_table, "landscapes");
        assert!(ModelCard::from_json(FORMAT_1).unwrap().segmenter.is_none());
        let mut outside = entry;
        outside["file"] = "../segmenter.onnx".into();
        let e = ModelCard::from_json(&with("segmenter", outside))
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain file name"), "{e}");
    }

    #[test]
    fn a_card_from_a_newer_easel_is_refused_for_its_format() {
        let card = with("format", serde_json::json!(CARD_FORMAT + 1));
        let e = ModelCard::from_json(&card).unwrap_err().to_string();
        assert!(
            e.contains("newer than this easel reads") && e.contains("upgrade easel"),
            "{e}"
        );
        let card = with("format", serde_json::json!(0));
        let e = ModelCard::from_json(&card).unwrap_err().to_string();
        assert!(e.contains("re-import"), "{e}");
    }

    #[test]
    fn a_card_without_a_format_or_with_a_missing_field_says_what_is_wrong() {
        let mut card: serde_json::Value = serde_json::from_str(FORMAT_1).unwrap();
        card.as_object_mut().unwrap().remove("native");
        let e = ModelCard::from_json(&card.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("native"), "{e}");
        card.as_object_mut().unwrap().remove("format");
        let e = ModelCard::from_json(&card.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `format` field"), "{e}");
    }

    fn photo_segmenter(extra: serde_json::Value) -> serde_json::Value {
        let mut entry = serde_json::json!({
            "file": "photo_segmenter.onnx", "labels": "ade20k", "mapping": "by name",
            "pairs": [], "input": {"width": 64, "height": 48, "range": [0.0, 1.0]},
            "source": {"file": "net.onnx", "sha256": "ab"}, "provenance": "made for a test",
        });
        for (k, v) in extra.as_object().unwrap() {
            entry[k] = v.clone();
        }
        entry
    }

    #[test]
    fn an_onnx_photo_segmenter_entry_says_how_to_feed_and_read_it() {
        let entry = photo_segmenter(serde_json::json!({
            "input": {"width": 64, "height": 48, "range": [0.0, 1.0],
                      "normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}},
            "onnx": {"input": "pixel_values", "input_layout": "nchw", "output": "logits",
                     "output_layout": "nhwc", "classes": 151, "head_file": "photo_segmenter_head.onnx"},
        }));
        let card = ModelCard::from_json(&with("photo_segmenter", entry)).unwrap();
        let photo = card.photo_segmenter.unwrap();
        let ports = photo.onnx.unwrap();
        assert_eq!(
            (ports.input_layout, ports.output_layout),
            (Layout::Nchw, Layout::Nhwc)
        );
        // White's red is (1 − 0.485) / 0.229; padding is the mean, 0 once normalised.
        assert!((photo.input.value(0, 255.0) - 2.2489).abs() < 1e-3);
        assert_eq!(photo.input.pad(2), 0.0);
        let plain = PhotoInput {
            width: 1,
            height: 1,
            range: [-1.0, 1.0],
            normalize: None,
        };
        assert_eq!((plain.value(1, 0.0), plain.pad(1)), (-1.0, 0.0));
    }

    #[test]
    fn a_photo_segmenter_whose_rules_or_files_cannot_hold_is_refused_at_load() {
        let refused = |extra: serde_json::Value| {
            let card = with("photo_segmenter", photo_segmenter(extra));
            ModelCard::from_json(&card).unwrap_err().to_string()
        };
        let e = refused(
            serde_json::json!({"refine": [{"within": ["sky"], "take": ["nebula"], "by": "white"}]}),
        );
        assert!(e.contains("`nebula`, which is no class"), "{e}");
        // The format-1 card names no segmenter of its own to decide with.
        let e = refused(serde_json::json!({"refine": [{"within": ["sky"], "take": ["clouds"]}]}));
        assert!(e.contains("names none"), "{e}");
        let e = refused(
            serde_json::json!({"input": {"width": 1, "height": 1, "range": [0.0, 1.0],
            "normalize": {"mean": [0.0, 0.0, 0.0], "std": [1.0, 0.0, 1.0]}}}),
        );
        assert!(e.contains("positive standard deviations"), "{e}");
        let e = refused(
            serde_json::json!({"onnx": {"input": "x", "input_layout": "nchw", "output": "y",
            "output_layout": "nchw", "classes": 3, "head_file": "../head.onnx"}}),
        );
        assert!(
            e.contains("head_file `../head.onnx` must be a plain file name"),
            "{e}"
        );
        let ok = with(
            "photo_segmenter",
            photo_segmenter(serde_json::json!({
            "refine": [{"within": ["sky"], "take": ["clouds"], "by": "white"}]})),
        );
        assert!(ModelCard::from_json(&ok).is_ok());
    }
}
