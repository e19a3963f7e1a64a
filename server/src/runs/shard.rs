//! Sharded runs: `--shard I/N` makes a deterministic 1/N of a run's maps,
//! so that N processes (a Kubernetes Indexed Job's pods) fill one run folder
//! on a shared volume. Each shard keeps its own record under `shards/`; the
//! run's `run.json` and gallery pages are the merge of every record, written
//! under a lock on the folder, so that whichever shard writes last has seen
//! every other's latest record.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// One of `count` parts of a run: the maps at positions `index`,
/// `index + count`, … in name order (positions counted from 0, as
/// Kubernetes counts completion indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole run, in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether the map at `position` (in name order) is this shard's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// The file of this shard's record under the run's `shards/`.
    pub fn record_file(&self) -> String {
        format!("shard-{:04}-of-{:04}.json", self.index, self.count)
    }

    /// The shard a record file belongs to.
    pub fn of_record_file(path: &Path) -> Option<Shard> {
        let name = path.file_name()?.to_str()?;
        let rest = name.strip_prefix("shard-")?.strip_suffix(".json")?;
        let (index, count) = rest.split_once("-of-")?;
        let shard = Shard {
            index: index.parse().ok()?,
            count: count.parse().ok()?,
        };
        (shard.count > 0 && shard.index < shard.count).then_some(shard)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How `I/N` is written, for the errors.
const SHARD_FORM: &str =
    "write it I/N: this process makes part I (counted from 0, like Kubernetes' \
                          JOB_COMPLETION_INDEX) of N, e.g. --shard 0/4";

/// Why a `--shard` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("`{0}` is not a shard; {SHARD_FORM}")]
    Form(String),
    #[error("`{given}`: `{part}` is not a whole number; {SHARD_FORM}")]
    Number { given: String, part: String },
    #[error("`{0}`: a run splits into at least 1 shard; {SHARD_FORM}")]
    NoShards(String),
    #[error("`{given}`: shard {index} of {count} does not exist; shards of {count} are numbered 0 to {}", .count - 1)]
    Past {
        given: String,
        index: usize,
        count: usize,
    },
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, ShardError> {
        let (index, count) = s
            .split_once('/')
            .ok_or_else(|| ShardError::Form(s.to_string()))?;
        let number = |v: &str| {
            v.trim().parse::<usize>().map_err(|_| ShardError::Number {
                given: s.to_string(),
                part: v.to_string(),
            })
        };
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 {
            return Err(ShardError::NoShards(s.to_string()));
        }
        if index >= count {
            return Err(ShardError::Past {
                given: s.to_string(),
                index,
                count,
            });
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_from_i_over_n_and_refuse_what_cannot_be() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("0/1".parse::<Shard>(), Ok(Shard::WHOLE));
        let refused = |s: &str| s.parse::<Shard>().unwrap_err().to_string();
        assert!(
            refused("3/2").contains("numbered 0 to 1"),
            "{}",
            refused("3/2")
        );
        assert!(refused("2/2").contains("does not exist"));
        assert!(refused("0/0").contains("at least 1 shard"));
        assert!(refused("1").contains("write it I/N"));
        assert!(refused("a/4").contains("`a` is not a whole number"));
        assert!(refused("-1/4").contains("not a whole number"));
    }

    #[test]
    fn every_position_belongs_to_exactly_one_shard() {
        let shards: Vec<Shard> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        for position in 0..103 {
            let owners = shards.iter().filter(|s| s.owns(position)).count();
            assert_eq!(owners, 1, "position {position}");
        }
        assert!((0..103).all(|p| Shard::WHOLE.owns(p)));
    }

    #[test]
    fn record_files_name_their_shard() {
        let shard = Shard {
            index: 3,
            count: 12,
        };
        let file = shard.record_file();
        assert_eq!(file, "shard-0003-of-0012.json");
        assert_eq!(Shard::of_record_file(Path::new(&file)), Some(shard));
        for other in [
            "run.json",
            "shard-0004-of-0004.json",
            "shard-x-of-2.json",
            ".shard-0000-of-0001.json.1.tmp",
        ] {
            assert_eq!(Shard::of_record_file(Path::new(other)), None, "{other}");
        }
    }
}
