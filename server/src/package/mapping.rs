//! Class mappings: which of a photo segmenter's classes answer which of a
//! package's, by name, kept as data (`data/classes/mappings/*.tsv`, or a
//! user's file of the same shape). A segmenter class with no counterpart
//! is left out of the argmax, so its pixels take the best-scoring class
//! that has one and a map never has holes.

use std::path::Path;

use super::classes::ClassInfo;

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read {path}: {reason}")]
    Read {
        path: String,
        reason: std::io::Error,
    },
    #[error("{origin}, line {line}: {problem}")]
    Malformed {
        origin: String,
        line: usize,
        problem: String,
    },
    #[error("{origin} names no classes")]
    Empty { origin: String },
    #[error("{origin}, line {line}: the segmenter has no class `{name}` (its classes are {source_table}: {known})")]
    UnknownSource {
        origin: String,
        line: usize,
        name: String,
        source_table: String,
        known: String,
    },
    #[error("{origin}, line {line}: the package has no class `{name}` (its classes: {known})")]
    UnknownTarget {
        origin: String,
        line: usize,
        name: String,
        known: String,
    },
    #[error("no mapping from the segmenter's classes ({from}) to the package's ({to}): none of their names agree; give a mapping file (--map FILE, lines `segmenter class<TAB>package class`)")]
    NoMapping { from: String, to: String },
}

/// A segmenter's class names in index order (a TFLite `labels.txt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmenterLabels {
    /// A built-in name (`ade20k`) or the file it came from.
    pub source: String,
    pub names: Vec<String>,
}

impl SegmenterLabels {
    /// `ade20k`: the 151 labels of ADE20K segmenters (DeepLab's
    /// `labels.txt`): 0 background, then the 150 SceneParsing classes.
    pub fn builtin(name: &str) -> Option<Self> {
        if !matches!(name, "ade20k" | "ade") {
            return None;
        }
        let table = include_str!("../../data/classes/ade20k-151.tsv");
        let mut names: Vec<String> = table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').nth(1).map(str::to_string))
            .collect();
        names[0] = "background".into();
        Some(Self {
            source: "ade20k".into(),
            names,
        })
    }

    /// `--labels`: a built-in name or a file.
    pub fn load(spec: &str) -> Result<Self, MappingError> {
        if let Some(labels) = Self::builtin(spec) {
            return Ok(labels);
        }
        let text =
            std::fs::read_to_string(Path::new(spec)).map_err(|reason| MappingError::Read {
                path: spec.to_string(),
                reason,
            })?;
        Self::parse(&text, spec)
    }

    /// One class a line, in index order: `name`, or `index<TAB>name` (or
    /// `index name`) with the indices running 0, 1, 2, …
    pub fn parse(text: &str, origin: &str) -> Result<Self, MappingError> {
        let mut names = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name = match line.split_once(['\t', ' ']) {
                Some((index, name)) if index.parse::<usize>().is_ok() => {
                    if index.parse::<usize>().ok() != Some(names.len()) {
                        return Err(MappingError::Malformed {
                            origin: origin.to_string(),
                            line: i + 1,
                            problem: format!(
                                "index {index} where {} was expected (indices run 0, 1, 2, … in order)",
                                names.len()
                            ),
                        });
                    }
                    name.trim()
                }
                _ => line,
            };
            names.push(name.to_string());
        }
        if names.is_empty() {
            return Err(MappingError::Empty {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            source: origin.to_string(),
            names,
        })
    }
}

/// Pairs of (segmenter class, package class) names, as a file states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassMapping {
    /// `ade20k-to-landscapes` for a built-in one, `by name`, or a file.
    pub source: String,
    /// With the file's line of each, for errors.
    pairs: Vec<(usize, String, String)>,
}

/// The built-in mappings: (segmenter labels, package class table, file).
const BUILTIN: [(&str, &str, &str, &str); 3] = [
    (
        "ade20k",
        "landscapes",
        "ade20k-to-landscapes",
        include_str!("../../data/classes/mappings/ade20k-to-landscapes.tsv"),
    ),
    (
        "ade20k",
        "coco-stuff",
        "ade20k-to-coco-stuff",
        include_str!("../../data/classes/mappings/ade20k-to-coco-stuff.tsv"),
    ),
    (
        "ade20k",
        "cityscapes",
        "ade20k-to-cityscapes",
        include_str!("../../data/classes/mappings/ade20k-to-cityscapes.tsv"),
    ),
];

/// Which classes the segmenter's argmax runs over (`kept`, its indices in
/// order) and the package class each answers (`package`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMapping {
    pub kept: Vec<usize>,
    pub package: Vec<usize>,
}

impl ClassMapping {
    /// Every built-in mapping: (from, to, name).
    pub fn builtins() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
        BUILTIN
            .iter()
            .map(|(from, to, name, _)| (*from, *to, *name))
    }

    /// The built-in mapping from `labels` (e.g. ade20k) to a package's
    /// built-in class table (landscapes, coco-stuff, cityscapes).
    pub fn builtin(labels: &str, table: &str) -> Option<Self> {
        let table = if table == "coco" { "coco-stuff" } else { table };
        BUILTIN
            .iter()
            .find(|(from, to, ..)| *from == labels && *to == table)
            .and_then(|(.., name, text)| Self::parse(text, name).ok())
    }

    /// A mapping file: `segmenter class<TAB>package class` a line (`#`
    /// comments and a `from<TAB>to` header allowed).
    pub fn load(path: &str) -> Result<Self, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|reason| MappingError::Read {
            path: path.to_string(),
            reason,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, MappingError> {
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            let [from, to] = fields[..] else {
                return Err(MappingError::Malformed {
                    origin: origin.to_string(),
                    line: i + 1,
                    problem: format!(
                        "{} tab-separated fields; expected `segmenter class<TAB>package class`",
                        fields.len()
                    ),
                });
            };
            if pairs.is_empty() && (from, to) == ("from", "to") {
                continue;
            }
            if let Some((first, ..)) = pairs.iter().find(|(_, f, _)| f == from) {
                return Err(MappingError::Malformed {
                    origin: origin.to_string(),
                    line: i + 1,
                    problem: format!("`{from}` is mapped already, on line {first}"),
                });
            }
            pairs.push((i + 1, from.to_string(), to.to_string()));
        }
        if pairs.is_empty() {
            return Err(MappingError::Empty {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            source: origin.to_string(),
            pairs,
        })
    }

    /// Each segmenter class to the package class of the same name (an
    /// ADE20K package and an ADE20K segmenter: the identity).
    pub fn by_name(labels: &SegmenterLabels, classes: &[ClassInfo]) -> Result<Self, MappingError> {
        let pairs: Vec<(usize, String, String)> = labels
            .names
            .iter()
            .filter(|n| classes.iter().any(|c| &c.name == *n))
            .map(|n| (0, n.clone(), n.clone()))
            .collect();
        if pairs.is_empty() {
            return Err(MappingError::NoMapping {
                from: labels.source.clone(),
                to: "the package's table".into(),
            });
        }
        Ok(Self {
            source: "by name".into(),
            pairs,
        })
    }

    /// The mapping for a package: `explicit` (a file) when given, else the
    /// built-in one for its class table, else by name.
    pub fn for_package(
        labels: &SegmenterLabels,
        class_table: &str,
        classes: &[ClassInfo],
        explicit: Option<&str>,
    ) -> Result<Self, MappingError> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        if let Some(builtin) = Self::builtin(&labels.source, class_table) {
            return Ok(builtin);
        }
        Self::by_name(labels, classes).map_err(|_| MappingError::NoMapping {
            from: labels.source.clone(),
            to: class_table.to_string(),
        })
    }

    /// (segmenter class, package class) names, in the file's order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(_, f, t)| (f.as_str(), t.as_str()))
    }

    /// The indices: every name must be a class of its side.
    pub fn resolve(
        &self,
        labels: &SegmenterLabels,
        classes: &[ClassInfo],
    ) -> Result<ResolvedMapping, MappingError> {
        let mut resolved: Vec<(usize, usize)> = Vec::with_capacity(self.pairs.len());
        for (line, from, to) in &self.pairs {
            let source = labels.names.iter().position(|n| n == from).ok_or_else(|| {
                MappingError::UnknownSource {
                    origin: self.source.clone(),
                    line: *line,
                    name: from.clone(),
                    source_table: labels.source.clone(),
                    known: sample(labels.names.iter().map(String::as_str)),
                }
            })?;
            let target = classes.iter().position(|c| &c.name == to).ok_or_else(|| {
                MappingError::UnknownTarget {
                    origin: self.source.clone(),
                    line: *line,
                    name: to.clone(),
                    known: sample(classes.iter().map(|c| c.name.as_str())),
                }
            })?;
            resolved.push((source, target));
        }
        resolved.sort_unstable();
        Ok(ResolvedMapping {
            kept: resolved.iter().map(|&(s, _)| s).collect(),
            package: resolved.iter().map(|&(_, t)| t).collect(),
        })
    }
}

/// The first names of a list, for an error message.
fn sample<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let shown = names
        .iter()
        .take(12)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 12 {
        format!("{shown}, … ({} in all)", names.len())
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::classes::ClassTable;

    #[test]
    fn every_builtin_mapping_loads_and_names_only_classes_its_tables_have() {
        let labels = SegmenterLabels::builtin("ade20k").unwrap();
        assert_eq!(labels.names.len(), 151);
        assert_eq!(
            (labels.names[0].as_str(), labels.names[3].as_str()),
            ("background", "sky")
        );
        for (from, to, name) in ClassMapping::builtins() {
            let mapping = ClassMapping::builtin(from, to).unwrap_or_else(|| panic!("{name} loads"));
            let table = ClassTable::builtin(to).unwrap();
            let resolved = mapping.resolve(&labels, &table.classes).unwrap();
            assert_eq!(resolved.kept.len(), mapping.pairs().count(), "{name}");
            assert!(
                resolved.kept.windows(2).all(|w| w[0] < w[1]),
                "{name}: each class once"
            );
            assert!(
                !resolved.kept.contains(&0),
                "{name}: background answers nothing"
            );
        }
    }

    #[test]
    fn the_landscape_mapping_covers_every_class_ade20k_has_a_counterpart_for() {
        let labels = SegmenterLabels::builtin("ade20k").unwrap();
        let table = ClassTable::builtin("landscapes").unwrap();
        let resolved = ClassMapping::builtin("ade20k", "landscapes")
            .unwrap()
            .resolve(&labels, &table.classes)
            .unwrap();
        let answered: Vec<&str> = table
            .classes
            .iter()
            .enumerate()
            .filter(|(i, _)| resolved.package.contains(i))
            .map(|(_, c)| c.name.as_str())
            .collect();
        // Clouds and snow have no ADE20K class: the package's own segmenter finds them.
        assert_eq!(
            answered,
            ["sky", "mountain", "rock", "hill", "grass", "tree", "bush", "water", "sand", "dirt"]
        );
        let water: Vec<&str> = resolved
            .kept
            .iter()
            .zip(&resolved.package)
            .filter(|(_, &p)| table.classes[p].name == "water")
            .map(|(&k, _)| labels.names[k].as_str())
            .collect();
        // In the segmenter's order.
        assert_eq!(
            water,
            [
                "water",
                "sea",
                "river",
                "swimming pool",
                "waterfall",
                "lake"
            ]
        );
    }

    #[test]
    fn an_ade20k_package_maps_by_name_onto_its_own_numbering() {
        let labels = SegmenterLabels::builtin("ade20k").unwrap();
        let table = ClassTable::builtin("ade20k").unwrap();
        let mapping = ClassMapping::for_package(&labels, "ade20k", &table.classes, None).unwrap();
        assert_eq!(mapping.source, "by name");
        let resolved = mapping.resolve(&labels, &table.classes).unwrap();
        // Labels 1..=150 are the package's 0..150; background (its `other`) answers nothing.
        assert_eq!(resolved.kept, (1..151).collect::<Vec<_>>());
        assert_eq!(resolved.package, (0..150).collect::<Vec<_>>());
    }

    #[test]
    fn mapping_files_that_name_unknown_classes_or_a_class_twice_are_refused() {
        let labels = SegmenterLabels::builtin("ade20k").unwrap();
        let table = ClassTable::builtin("landscapes").unwrap();
        let e = ClassMapping::parse("sky\tsky\nskye\tsky\n", "mine.tsv")
            .unwrap()
            .resolve(&labels, &table.classes)
            .unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("`skye`"),
            "{e}"
        );
        let e = ClassMapping::parse("sky\tblue\n", "mine.tsv")
            .unwrap()
            .resolve(&labels, &table.classes)
            .unwrap_err();
        assert!(
            e.to_string().contains("no class `blue`") && e.to_string().contains("clouds"),
            "{e}"
        );
        let e = ClassMapping::parse("sky\tsky\nsky\tclouds\n", "mine.tsv").unwrap_err();
        assert!(e.to_string().contains("mapped already, on line 1"), "{e}");
        let e = ClassMapping::parse("sky sky\n", "mine.tsv").unwrap_err();
        assert!(e.to_string().contains("1 tab-separated"), "{e}");
        assert!(matches!(
            ClassMapping::parse("# nothing\n", "mine.tsv"),
            Err(MappingError::Empty { .. })
        ));
    }

    #[test]
    fn labels_files_read_with_or_without_indices() {
        let labels =
            SegmenterLabels::parse("0\tbackground\n1\tsky\n2 tall tree\n", "l.txt").unwrap();
        assert_eq!(labels.names, ["background", "sky", "tall tree"]);
        let plain = SegmenterLabels::parse("sky\nsea\n", "l.txt").unwrap();
        assert_eq!(plain.names, ["sky", "sea"]);
        let e = SegmenterLabels::parse("0\tsky\n2\tsea\n", "l.txt").unwrap_err();
        assert!(e.to_string().contains("index 2 where 1"), "{e}");
    }
}
