//! Class tables: the names and colours of a model's classes. COCO-Stuff,
//! ADE20K, Cityscapes and easel's landscapes are built in; others are read
//! from a TSV (`id<TAB>name<TAB>#rrggbb[<TAB>coco-stuff name]`), a CamVid
//! `label_colors.txt` (`R G B<ws>Name`) or JSON (a model card's `classes`, or
//! a plain list of `{"name", "color"}`).

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ClassTableError {
    #[error("cannot read class table {path}: {reason}")]
    Read {
        path: String,
        reason: std::io::Error,
    },
    #[error(
        "{origin}, line {line}: {problem}; expected `id<TAB>name<TAB>#rrggbb` or `R G B<TAB>name`"
    )]
    Malformed {
        origin: String,
        line: usize,
        problem: String,
    },
    #[error("{origin}: ids must run 0, 1, 2, … in order, but line {line} has id {id}")]
    Gap {
        origin: String,
        line: usize,
        id: usize,
    },
    #[error("{origin} has no classes")]
    Empty { origin: String },
    #[error("{origin}: {problem}; expected a model card (model.json) or a list of {{\"name\": ..., \"color\": \"#rrggbb\"}}")]
    Json { origin: String, problem: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassInfo {
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    /// The matching COCO-Stuff class, so that a painting can move between models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coco_stuff: Option<String>,
}

impl ClassInfo {
    pub fn rgb(&self) -> [u8; 3] {
        parse_hex(&self.color).unwrap_or([0, 0, 0])
    }
}

/// A table of classes in index order, as a model numbers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTable {
    pub source: String,
    pub classes: Vec<ClassInfo>,
}

pub const BUILTIN: [&str; 4] = ["coco-stuff", "ade20k", "cityscapes", "landscapes"];

/// `#rrggbb` as bytes.
pub fn parse_hex(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

pub fn hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

impl ClassTable {
    /// A built-in table by name (`coco-stuff`, `ade20k`, `cityscapes`).
    pub fn builtin(name: &str) -> Option<Self> {
        let text = match name {
            "coco-stuff" | "coco" => include_str!("../../data/classes/coco-stuff-182.tsv"),
            "ade20k" | "ade" => include_str!("../../data/classes/ade20k-151.tsv"),
            "cityscapes" => include_str!("../../data/classes/cityscapes-35.tsv"),
            "landscapes" => include_str!("../../data/classes/landscapes-12.tsv"),
            _ => return None,
        };
        let table = Self::parse(text, name).ok()?;
        Some(if name.starts_with("ade") {
            // The reference numbers ADE20K's 150 classes from 0 and makes
            // "other" (annotation 0) the dontcare class after them.
            let mut classes = table.classes[1..].to_vec();
            classes.push(table.classes[0].clone());
            Self {
                source: "ade20k".into(),
                classes,
            }
        } else {
            Self {
                source: name.to_string(),
                ..table
            }
        })
    }

    /// `--classes`: a built-in name or a file.
    pub fn load(spec: &str) -> Result<Self, ClassTableError> {
        if let Some(t) = Self::builtin(spec) {
            return Ok(t);
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|reason| ClassTableError::Read {
            path: spec.to_string(),
            reason,
        })?;
        Self::parse(&text, spec)
    }

    /// Reads TSV, CamVid `label_colors.txt` or JSON, told apart by content.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ClassTableError> {
        if text.trim_start().starts_with(['{', '[']) {
            return Self::parse_json(text, origin);
        }
        let mut classes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let malformed = |problem: &str| ClassTableError::Malformed {
                origin: origin.to_string(),
                line: line_no,
                problem: problem.to_string(),
            };
            let fields: Vec<&str> = line
                .split('\t')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect();
            // An optional fourth column names the matching COCO-Stuff class.
            let class = if (fields.len() == 3 || fields.len() == 4) && fields[2].starts_with('#') {
                let id: usize = fields[0]
                    .parse()
                    .map_err(|_| malformed("the id is not a number"))?;
                if id != classes.len() {
                    return Err(ClassTableError::Gap {
                        origin: origin.to_string(),
                        line: line_no,
                        id,
                    });
                }
                let rgb =
                    parse_hex(fields[2]).ok_or_else(|| malformed("the colour is not #rrggbb"))?;
                ClassInfo {
                    name: fields[1].to_string(),
                    color: hex(rgb),
                    coco_stuff: fields.get(3).map(|s| s.to_string()),
                }
            } else {
                // CamVid: three numbers then the name, any whitespace between.
                let mut parts = trimmed.split_whitespace();
                let mut rgb = [0u8; 3];
                for c in rgb.iter_mut() {
                    *c = parts
                        .next()
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(|| malformed("the colour is not three numbers 0-255"))?;
                }
                let name = parts.collect::<Vec<_>>().join(" ");
                if name.is_empty() {
                    return Err(malformed("the class has no name"));
                }
                ClassInfo {
                    name,
                    color: hex(rgb),
                    coco_stuff: None,
                }
            };
            classes.push(class);
        }
        if classes.is_empty() {
            return Err(ClassTableError::Empty {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            source: origin.to_string(),
            classes,
        })
    }

    /// A model card's `classes`, or a plain list of classes, in index order;
    /// a colour is `"#rrggbb"` or `[r, g, b]`.
    fn parse_json(text: &str, origin: &str) -> Result<Self, ClassTableError> {
        let problem = |problem: String| ClassTableError::Json {
            origin: origin.to_string(),
            problem,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| problem(format!("not valid JSON ({e})")))?;
        let list = match &value {
            serde_json::Value::Array(list) => list,
            serde_json::Value::Object(card) => match card.get("classes") {
                Some(serde_json::Value::Array(list)) => list,
                _ => return Err(problem("the object has no \"classes\" list".into())),
            },
            _ => return Err(problem("neither an object nor a list".into())),
        };
        let classes = list
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let name = entry
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| problem(format!("class {i} has no \"name\"")))?;
                let color = entry.get("color").and_then(|c| match c {
                    serde_json::Value::String(s) => parse_hex(s),
                    serde_json::Value::Array(rgb) if rgb.len() == 3 => {
                        let mut out = [0u8; 3];
                        for (o, v) in out.iter_mut().zip(rgb) {
                            *o = u8::try_from(v.as_u64()?).ok()?;
                        }
                        Some(out)
                    }
                    _ => None,
                });
                let color = color.ok_or_else(|| {
                    problem(format!(
                        "class {i} ({name}) has no \"color\" as \"#rrggbb\" or [r, g, b]"
                    ))
                })?;
                Ok(ClassInfo {
                    name: name.to_string(),
                    color: hex(color),
                    coco_stuff: entry
                        .get("coco_stuff")
                        .and_then(|c| c.as_str())
                        .map(str::to_string),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if classes.is_empty() {
            return Err(ClassTableError::Empty {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            source: origin.to_string(),
            classes,
        })
    }

    /// The table as TSV (`id<TAB>name<TAB>#rrggbb[<TAB>coco_stuff]`), which
    /// [`ClassTable::load`] reads back.
    pub fn to_tsv(&self) -> String {
        let mut s = String::from("# id\tname\tcolor\tcoco_stuff\n");
        for (i, c) in self.classes.iter().enumerate() {
            s += &format!("{i}\t{}\t{}", c.name, c.color);
            if let Some(coco) = &c.coco_stuff {
                s += &format!("\t{coco}");
            }
            s += "\n";
        }
        s
    }

    /// `n` classes named by number, coloured by the usual bit-interleaving
    /// scheme so that neighbouring ids get distinct colours.
    pub fn generic(n: usize) -> Self {
        let classes = (0..n)
            .map(|i| {
                let (mut rgb, mut id) = ([0u8; 3], i + 1);
                for shift in (0..8).rev() {
                    for (c, value) in rgb.iter_mut().enumerate() {
                        *value |= (((id >> c) & 1) as u8) << shift;
                    }
                    id >>= 3;
                }
                ClassInfo {
                    name: format!("class {i}"),
                    color: hex(rgb),
                    coco_stuff: None,
                }
            })
            .collect();
        Self {
            source: "generic".into(),
            classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_have_the_reference_sizes() {
        assert_eq!(
            ClassTable::builtin("coco-stuff").unwrap().classes.len(),
            182
        );
        assert_eq!(ClassTable::builtin("cityscapes").unwrap().classes.len(), 35);
        let ade = ClassTable::builtin("ade20k").unwrap();
        assert_eq!(ade.classes.len(), 151);
        assert_eq!(ade.classes[0].name, "wall");
        assert_eq!(ade.classes[150].name, "other");
    }

    #[test]
    fn landscape_classes_name_their_coco_stuff_counterparts() {
        let coco = ClassTable::builtin("coco-stuff").unwrap();
        let landscapes = ClassTable::builtin("landscapes").unwrap();
        assert_eq!(landscapes.classes.len(), 12);
        for class in &landscapes.classes {
            let name = class
                .coco_stuff
                .as_deref()
                .expect("every landscape class has a COCO-Stuff name");
            assert!(
                coco.classes.iter().any(|c| c.name == name),
                "{name} is a COCO-Stuff class"
            );
        }
    }

    #[test]
    fn rejects_tables_with_gaps_in_ids() {
        let err = ClassTable::parse("0\tsky\t#000000\n2\tsea\t#ffffff\n", "t.tsv").unwrap_err();
        assert!(err.to_string().contains("line 2 has id 2"), "{err}");
    }

    #[test]
    fn reads_model_cards_and_plain_json_lists() {
        let card = r##"{"name": "m", "classes": [{"name": "sky", "color": "#0000ff"},
            {"name": "sea", "color": [0, 64, 255], "coco_stuff": "sea"}]}"##;
        let t = ClassTable::parse(card, "model.json").unwrap();
        assert_eq!(t.classes[1].color, "#0040ff");
        assert_eq!(t.classes[1].coco_stuff.as_deref(), Some("sea"));
        let list = r##"[{"name": "a", "color": "#010203"}]"##;
        assert_eq!(
            ClassTable::parse(list, "l.json").unwrap().classes[0].rgb(),
            [1, 2, 3]
        );
        let err = ClassTable::parse(r#"[{"name": "a"}]"#, "l.json").unwrap_err();
        assert!(
            err.to_string().contains("class 0 (a) has no \"color\""),
            "{err}"
        );
    }

    #[test]
    fn tsv_output_reads_back_as_the_same_table() {
        let t = ClassTable::builtin("landscapes").unwrap();
        assert_eq!(
            ClassTable::parse(&t.to_tsv(), "x").unwrap().classes,
            t.classes
        );
    }

    #[test]
    fn generic_colours_are_distinct() {
        let t = ClassTable::generic(64);
        let mut colors: Vec<&str> = t.classes.iter().map(|c| c.color.as_str()).collect();
        colors.sort();
        colors.dedup();
        assert_eq!(colors.len(), 64);
    }
}
