//! `model.json`, the model card: everything the rest of easel needs to know to
//! use a package's graphs. Its schema is documented in docs/model-card.md.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::classes::ClassInfo;

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

/// A style preset that does not fit its model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error("style preset `{0}`: names are letters, digits, `-` and `_`")]
    Name(String),
    #[error("style preset `{0}` is listed twice")]
    Twice(String),
    #[error("style preset `{name}` has {given} values, but the model takes z of {z_dim}")]
    ZLength {
        name: String,
        given: usize,
        z_dim: usize,
    },
    #[error("style preset `{name}`: its spread does not have {z_dim} values")]
    SpreadLength { name: String, z_dim: usize },
    #[error("style preset `{0}`: its thumbnail must be a plain file name in styles/")]
    Thumbnail(String),
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
        card.check_styles()?;
        if let Some(segmenter) = &card.segmenter {
            if !safe_name(&segmenter.file) {
                return Err(CardError::Json(format!(
                    "segmenter.file `{}` must be a plain file name in the package folder",
                    segmenter.file
                )));
            }
        }
        Ok(card)
    }

    /// Presets must fit the model: a z of z_dim values (and spread), safe
    /// names, no name twice.
    fn check_styles(&self) -> Result<(), PresetError> {
        let mut seen = std::collections::BTreeSet::new();
        for preset in &self.styles {
            let name = &preset.name;
            if !safe_name(name) || name.contains('.') {
                return Err(PresetError::Name(name.clone()));
            }
            if !seen.insert(name.as_str()) {
                return Err(PresetError::Twice(name.clone()));
            }
            let z_dim = self.z_dim.unwrap_or(0);
            if preset.z.len() != z_dim {
                return Err(PresetError::ZLength {
                    name: name.clone(),
                    given: preset.z.len(),
                    z_dim,
                });
            }
            if preset.spread.as_ref().is_some_and(|s| s.len() != z_dim) {
                return Err(PresetError::SpreadLength {
                    name: name.clone(),
                    z_dim,
                });
            }
            if preset.thumbnail.as_deref().is_some_and(|t| !safe_name(t)) {
                return Err(PresetError::Thumbnail(name.clone()));
            }
        }
        Ok(())
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

    /// The canvas sizes the page offers: native as it is; a 2:1 panorama and
    /// 3:2 on the native's shorter side, and twice native, each side rounded
    /// to the nearest multiple of `multiple_of` (at least one); those over
    /// `max_pixels` and repeats left out. A fixed-size model: native alone.
    pub fn canvas_sizes(&self, max_pixels: u64) -> Vec<CanvasSize> {
        let Size { width, height } = self.native;
        let mut sizes = vec![CanvasSize {
            name: "native",
            width,
            height,
        }];
        if self.sizes.fixed {
            return sizes;
        }
        let m = self.sizes.multiple_of.max(1);
        // Half away from zero, as the page rounded before this moved here.
        let round = |v: f64| ((v / m as f64).round() as usize).max(1) * m;
        let short = width.min(height) as f64;
        let candidates = [
            ("panorama", round(2.0 * short), round(short)),
            ("3:2", round(1.5 * short), round(short)),
            (
                "double",
                round(2.0 * width as f64),
                round(2.0 * height as f64),
            ),
        ];
        for (name, width, height) in candidates {
            let repeat = sizes.iter().any(|s| s.width == width && s.height == height);
            if (width * height) as u64 <= max_pixels && !repeat {
                sizes.push(CanvasSize {
                    name,
                    width,
                    height,
                });
            }
        }
        sizes
    }

    /// Why `height`×`width` cannot be generated, or None if it can.
    pub fn size_problem(&self, height: usize, width: usize) -> Option<String> {
        let native = &self.native;
        if self.sizes.fixed {
            return (height != native.height || width != native.width).then(|| {
                format!(
                    "the map is {width}×{height}, but this model starts from a style vector and only makes \
                     {}×{} images; resize the map to {}×{} (nearest neighbour)",
                    native.width, native.height, native.width, native.height
                )
            });
        }
        let m = self.sizes.multiple_of;
        (height == 0 || width == 0 || !height.is_multiple_of(m) || !width.is_multiple_of(m)).then(|| {
            let round = |v: usize| (v.div_ceil(m)).max(1) * m;
            format!(
                "the map is {width}×{height}, but this model needs width and height that are multiples of {m} \
                 (its native size is {}×{}); resize or pad it to {}×{}",
                native.width,
                native.height,
                round(width),
                round(height)
            )
        })
    }
}

/// A canvas size the painting page offers for a model (and the server warms
/// up where a new input shape costs a compile).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CanvasSize {
    /// `native`, `panorama` (2:1), `3:2` or `double` (twice native).
    pub name: &'static str,
    pub width: usize,
    pub height: usize,
}

/// A look a package ships: a z vector with a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StylePreset {
    /// Letters, digits, `-` and `_` (it appears in URLs and flags).
    pub name: String,
    /// What the look is, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The z vector, z_dim values.
    pub z: Vec<f32>,
    /// Per-value spread for variations around the look (z + spread·ε);
    /// without it, 0.5 for every value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Vec<f32>>,
    /// A picture of the look: a file in the package's `styles/` folder,
    /// served at `/api/v1/models/{model}/styles/{file}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

/// The spread of variations around a preset that does not state its own.
pub const DEFAULT_PRESET_SPREAD: f32 = 0.5;

/// Whether `name` is safe as a file or preset name in URLs: letters,
/// digits, `-`, `_` and (for files) one `.` before an extension.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.matches('.').count() <= 1
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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

    fn free(width: usize, height: usize, multiple_of: usize) -> ModelCard {
        let mut card = ModelCard::from_json(FORMAT_1).unwrap();
        card.native = Size { width, height };
        card.sizes = AllowedSizes {
            fixed: false,
            multiple_of,
        };
        card
    }

    /// Each size as "name W×H".
    fn listed(card: &ModelCard, max_pixels: u64) -> Vec<String> {
        let sizes = card.canvas_sizes(max_pixels);
        sizes
            .iter()
            .map(|s| format!("{} {}×{}", s.name, s.width, s.height))
            .collect()
    }

    const MAX: u64 = 16 << 20;

    #[test]
    fn a_free_256_model_is_offered_native_a_panorama_3_2_and_twice_native() {
        let card = free(256, 256, 32);
        let all = [
            "native 256×256",
            "panorama 512×256",
            "3:2 384×256",
            "double 512×512",
        ];
        assert_eq!(listed(&card, MAX), all);
        // Over max_pixels left out, never native; 512×256 is exactly 131,072.
        assert_eq!(listed(&card, 200_000), all[..3]);
        assert_eq!(listed(&card, 131_072), all[..3]);
        assert_eq!(listed(&card, 131_071), ["native 256×256", "3:2 384×256"]);
        assert_eq!(listed(&card, 1000), ["native 256×256"]);
    }

    #[test]
    fn canvas_sides_round_to_the_nearest_multiple_and_repeats_are_left_out() {
        // A 2:1 native is its own panorama.
        let wide = ["native 256×128", "3:2 192×128", "double 512×256"];
        assert_eq!(listed(&free(256, 128, 32), MAX), wide);
        // short side 150 → 160; 300 → 288; 225 → 224; 400 → 416 (12.5 rounds up).
        let odd = [
            "native 200×150",
            "panorama 288×160",
            "3:2 224×160",
            "double 416×288",
        ];
        assert_eq!(listed(&free(200, 150, 32), MAX), odd);
        // multiple_of 0 reads as 1: no rounding.
        let any = [
            "native 100×60",
            "panorama 120×60",
            "3:2 90×60",
            "double 200×120",
        ];
        assert_eq!(listed(&free(100, 60, 0), MAX), any);
        let mut fixed = free(256, 128, 32);
        fixed.sizes.fixed = true;
        assert_eq!(listed(&fixed, MAX), ["native 256×128"]);
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
    fn style_presets_must_fit_the_models_z() {
        let preset = |z: usize| serde_json::json!([{"name": "noon", "z": vec![0.5; z]}]);
        let mut card: serde_json::Value = serde_json::from_str(FORMAT_1).unwrap();
        card["z_dim"] = 4.into();
        card["styles"] = preset(4);
        let ok = ModelCard::from_json(&card.to_string()).unwrap();
        assert_eq!(ok.style_preset("noon").unwrap().z, vec![0.5; 4]);
        card["styles"] = preset(3);
        let e = ModelCard::from_json(&card.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 values") && e.contains("z of 4"), "{e}");
        card["styles"] = serde_json::json!([{"name": "../x", "z": vec![0.5; 4]}]);
        let e = ModelCard::from_json(&card.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("letters, digits"), "{e}");
        card["styles"] =
            serde_json::json!([{"name": "a", "z": vec![0.5; 4], "thumbnail": "../a.jpg"}]);
        let e = ModelCard::from_json(&card.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("thumbnail"), "{e}");
    }

    #[test]
    fn a_preset_listed_twice_is_refused_as_an_unreadable_card() {
        let noon = serde_json::json!({"name": "noon", "z": vec![0.5; 4]});
        let mut card: serde_json::Value = serde_json::from_str(FORMAT_1).unwrap();
        card["z_dim"] = 4.into();
        card["styles"] = serde_json::json!([noon.clone(), noon]);
        let e = ModelCard::from_json(&card.to_string()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is not a model card easel can read (style preset `noon` is listed twice); \
             fix the field, or write the package again with `easel import`"
        );
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
}
