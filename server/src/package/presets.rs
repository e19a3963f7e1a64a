//! Style presets: the named z vectors a package ships (with a spread for
//! variations and a thumbnail), the rules a card's presets must meet to fit
//! its model, and which names are safe in URLs and file names.

use serde::{Deserialize, Serialize};

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

/// Presets must fit the model: a z of `z_dim` values (and spread), safe
/// names, no name twice.
pub fn check_presets(presets: &[StylePreset], z_dim: usize) -> Result<(), PresetError> {
    let mut seen = std::collections::BTreeSet::new();
    for preset in presets {
        let name = &preset.name;
        if !safe_name(name) || name.contains('.') {
            return Err(PresetError::Name(name.clone()));
        }
        if !seen.insert(name.as_str()) {
            return Err(PresetError::Twice(name.clone()));
        }
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

#[cfg(test)]
mod tests {
    use crate::package::ModelCard;

    /// A card as easel wrote it in format 1 (the default model's, 2026-11).
    const FORMAT_1: &str = include_str!("../../tests/fixtures/cards/landscapes-format1.json");

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
}
