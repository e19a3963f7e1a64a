//! The reference's `opt.txt`: one `key: value` per line, keys right-aligned,
//! optionally followed by `\t[default: …]`. Values are kept as strings and
//! interpreted by whoever needs them, with errors that name the key.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OptError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: expected `key: value`, found {text:?}; is this the opt.txt the reference training wrote?")]
    Malformed {
        path: String,
        line: usize,
        text: String,
    },
    #[error("opt.txt: `{key}: {value}` is not {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
}

/// The options a reference training run recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainOptions {
    values: BTreeMap<String, String>,
}

impl TrainOptions {
    pub fn read(path: &Path) -> Result<Self, OptError> {
        let text = std::fs::read_to_string(path).map_err(|source| OptError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, OptError> {
        let mut values = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            // The reference prints a header and footer of dashes around the options.
            let line = raw.split("\t[default:").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with("---") {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(OptError::Malformed {
                    path: origin.to_string(),
                    line: i + 1,
                    text: raw.chars().take(80).collect(),
                });
            };
            let key = key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(OptError::Malformed {
                    path: origin.to_string(),
                    line: i + 1,
                    text: raw.chars().take(80).collect(),
                });
            }
            values.insert(key.to_string(), value.trim().to_string());
        }
        Ok(Self { values })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, OptError> {
        self.get(key)
            .map(|v| match v {
                "True" | "true" | "1" => Ok(true),
                "False" | "false" | "0" => Ok(false),
                _ => Err(self.bad(key, "True or False")),
            })
            .transpose()
    }

    pub fn usize(&self, key: &str) -> Result<Option<usize>, OptError> {
        self.get(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| self.bad(key, "a non-negative integer"))
            })
            .transpose()
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>, OptError> {
        self.get(key)
            .map(|v| v.parse().map_err(|_| self.bad(key, "a number")))
            .transpose()
    }

    fn bad(&self, key: &str, expected: &'static str) -> OptError {
        OptError::BadValue {
            key: key.to_string(),
            value: self.get(key).unwrap_or("").to_string(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_right_aligned_keys_and_drops_defaults() {
        let text = "----------------- Options ---------------\n\
                    \x20            aspect_ratio: 2.0                           \t[default: 1.0]\n\
                    \x20                    name: city35_tiny                   \t[default: label2coco]\n\
                    \x20            instance_dir:                               \n\
                    ----------------- End -------------------\n";
        let opt = TrainOptions::parse(text, "opt.txt").unwrap();
        assert_eq!(opt.f64("aspect_ratio").unwrap(), Some(2.0));
        assert_eq!(opt.get("name"), Some("city35_tiny"));
        assert_eq!(opt.get("instance_dir"), Some(""));
        assert_eq!(opt.get("missing"), None);
    }

    #[test]
    fn rejects_lines_without_a_colon() {
        let err = TrainOptions::parse("label_nc 182\n", "x/opt.txt").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn rejects_non_boolean_flags() {
        let opt = TrainOptions::parse("use_vae: maybe\n", "opt.txt").unwrap();
        let err = opt.bool("use_vae").unwrap_err().to_string();
        assert!(
            err.contains("use_vae") && err.contains("True or False"),
            "{err}"
        );
    }
}
