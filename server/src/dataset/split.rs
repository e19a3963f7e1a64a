//! `easel dataset split`: photos, label maps and instance maps paired by
//! name and divided into the reference's train/test folders, the same way
//! for the same seed and files; split.json records which name went where.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use serde::Serialize;

use super::files::{self, some_names};
use super::pairing::{
    self, Folder, PairingError, IMAGE_EXTENSIONS, INSTANCE_EXTENSIONS, LABEL_EXTENSIONS,
};
use super::workers::{self, WorkOptions};
use crate::atomic;
use crate::random::Rng;

/// The folders a split writes, as (train, test) per kind of file.
pub const IMAGE_DIRS: (&str, &str) = ("train_img", "test_img");
pub const LABEL_DIRS: (&str, &str) = ("train_label", "test_label");
pub const INSTANCE_DIRS: (&str, &str) = ("train_inst", "test_inst");
pub const MANIFEST: &str = "split.json";

/// How files reach the split folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transfer {
    Copy,
    /// Hard links, copies where the file system cannot link.
    Link,
}

/// A transfer that is neither copy nor link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}`: choose copy or link")]
pub struct UnknownTransfer(pub String);

impl FromStr for Transfer {
    type Err = UnknownTransfer;
    fn from_str(s: &str) -> Result<Self, UnknownTransfer> {
        match s {
            "copy" => Ok(Self::Copy),
            "link" => Ok(Self::Link),
            _ => Err(UnknownTransfer(s.to_string())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SplitOptions {
    pub images: PathBuf,
    pub labels: PathBuf,
    pub instances: Option<PathBuf>,
    pub out: PathBuf,
    /// Share of pairs for training, in percent.
    pub train_percent: f64,
    pub seed: u64,
    pub transfer: Transfer,
    /// Taken off the stems of each folder's files before pairing.
    pub image_suffix: String,
    pub label_suffix: String,
    pub instance_suffix: String,
    /// Replace an earlier split in `out`.
    pub force: bool,
    pub work: WorkOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("--train must be a percentage from 0 to 100, got {0}")]
    TrainPercent(f64),
    #[error("the files do not pair up by name; nothing was written:\n  {}", .0.join("\n  "))]
    Unpaired(Vec<String>),
    #[error("{0}")]
    Pairing(PairingError),
    #[error("{out} already holds a split ({}); choose another --out, or pass --force to replace it (its train_*/test_* folders and split.json are removed first)", .found.join(", "))]
    NotEmpty { out: PathBuf, found: Vec<String> },
    #[error("--force would remove {output}, but the input folder {input} lies in it; split from a folder outside {out}")]
    InputInOutput {
        input: PathBuf,
        output: PathBuf,
        out: PathBuf,
    },
    #[error("cannot write {path}: {reason}")]
    Write {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("{} file(s) could not be placed, so {} has no {MANIFEST}: {}", .failures.len(), .out.display(), first_failures(.failures))]
    Transfer {
        out: PathBuf,
        failures: Vec<PlaceError>,
    },
    /// split.json could not be written as JSON.
    #[error(transparent)]
    Manifest(serde_json::Error),
}

/// The first few failures, and how many more.
fn first_failures(failures: &[PlaceError]) -> String {
    let lines: Vec<String> = failures.iter().map(ToString::to_string).collect();
    some_names(&lines, 5)
}

/// Why one file could not be linked or copied into the split.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("cannot hard-link {} to {}: {source}", .from.display(), .to.display())]
    Link {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot copy {} to {}: {source}", .from.display(), .to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
}

impl From<PairingError> for SplitError {
    fn from(e: PairingError) -> Self {
        match e {
            PairingError::Unpaired(lines) => Self::Unpaired(lines),
            e => Self::Pairing(e),
        }
    }
}

/// The names of each part of a split, each in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub train: Vec<String>,
    pub test: Vec<String>,
}

/// Splits `stems` (any order): they are sorted, shuffled by SplitMix64
/// from `seed` (Fisher–Yates), and the first round(n · percent / 100) go to
/// training. The same names and seed always give the same split.
pub fn assign(stems: &[String], train_percent: f64, seed: u64) -> Assignment {
    let mut order = stems.to_vec();
    order.sort();
    let mut rng = Rng::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.int(0, i));
    }
    let train_count =
        ((order.len() as f64 * train_percent / 100.0).round() as usize).min(order.len());
    let mut test = order.split_off(train_count);
    order.sort();
    test.sort();
    Assignment { train: order, test }
}

/// split.json: what was split, how, and where each name went.
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    seed: u64,
    train_percent: f64,
    transfer: Transfer,
    images: &'a Path,
    labels: &'a Path,
    instances: Option<&'a Path>,
    image_suffix: &'a str,
    label_suffix: &'a str,
    instance_suffix: &'a str,
    train: &'a [String],
    test: &'a [String],
}

#[derive(Debug)]
pub struct SplitReport {
    pub assignment: Assignment,
    /// Files hard-linked and files copied.
    pub linked: usize,
    pub copied: usize,
    /// Why hard links fell back to copies, the first time they did.
    pub link_fallback: Option<PlaceError>,
    pub manifest: PathBuf,
    /// The label folder's classes.tsv, copied beside the split.
    pub classes_tsv: Option<PathBuf>,
    pub seconds: f64,
}

fn output_dirs(options: &SplitOptions) -> Vec<&'static str> {
    let mut dirs = vec![IMAGE_DIRS.0, IMAGE_DIRS.1, LABEL_DIRS.0, LABEL_DIRS.1];
    if options.instances.is_some() {
        dirs.extend([INSTANCE_DIRS.0, INSTANCE_DIRS.1]);
    }
    dirs
}

/// Refuses to mix a new split with an old one; with `force`, removes the
/// old one, but never a folder that holds an input.
fn clear_output(options: &SplitOptions) -> Result<(), SplitError> {
    let every = [IMAGE_DIRS, LABEL_DIRS, INSTANCE_DIRS]
        .map(|(a, b)| [a, b])
        .concat();
    let found: Vec<String> = every
        .iter()
        .filter(|d| {
            std::fs::read_dir(options.out.join(d)).is_ok_and(|mut entries| entries.next().is_some())
        })
        .map(|d| format!("{d}/"))
        .chain(
            options
                .out
                .join(MANIFEST)
                .exists()
                .then(|| MANIFEST.to_string()),
        )
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    if !options.force {
        return Err(SplitError::NotEmpty {
            out: options.out.clone(),
            found,
        });
    }
    let inputs = [
        Some(&options.images),
        Some(&options.labels),
        options.instances.as_ref(),
    ];
    for d in &every {
        let output = options.out.join(d);
        if let Some(input) = inputs
            .iter()
            .flatten()
            .find(|i| files::is_within(i, &output))
        {
            return Err(SplitError::InputInOutput {
                input: input.to_path_buf(),
                output,
                out: options.out.clone(),
            });
        }
    }
    let write_err = |path: PathBuf| move |reason| SplitError::Write { path, reason };
    for d in &every {
        let output = options.out.join(d);
        if output.exists() {
            std::fs::remove_dir_all(&output).map_err(write_err(output))?;
        }
    }
    let manifest = options.out.join(MANIFEST);
    if manifest.exists() {
        std::fs::remove_file(&manifest).map_err(write_err(manifest))?;
    }
    Ok(())
}

enum Placed {
    Linked,
    Copied { link_error: Option<PlaceError> },
}

fn place(from: &Path, to: &Path, transfer: Transfer) -> Result<Placed, PlaceError> {
    let link_error = match transfer {
        Transfer::Link => match std::fs::hard_link(from, to) {
            Ok(()) => return Ok(Placed::Linked),
            Err(source) => Some(PlaceError::Link {
                from: from.to_owned(),
                to: to.to_owned(),
                source,
            }),
        },
        Transfer::Copy => None,
    };
    atomic::copy(from, to).map_err(|source| PlaceError::Copy {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    })?;
    Ok(Placed::Copied { link_error })
}

/// Pairs the folders' files by name, splits the names and copies or links
/// each file into its part; split.json is written last.
pub fn split(options: &SplitOptions) -> Result<SplitReport, SplitError> {
    let started = Instant::now();
    if !(0.0..=100.0).contains(&options.train_percent) {
        return Err(SplitError::TrainPercent(options.train_percent));
    }
    let mut folders = vec![
        Folder {
            dir: &options.images,
            what: "photos",
            extensions: IMAGE_EXTENSIONS,
            suffix: &options.image_suffix,
        },
        Folder {
            dir: &options.labels,
            what: "label maps",
            extensions: LABEL_EXTENSIONS,
            suffix: &options.label_suffix,
        },
    ];
    if let Some(dir) = &options.instances {
        folders.push(Folder {
            dir,
            what: "instance maps",
            extensions: INSTANCE_EXTENSIONS,
            suffix: &options.instance_suffix,
        });
    }
    let pairs = pairing::pair(&folders)?;
    clear_output(options)?;
    let stems: Vec<String> = pairs.iter().map(|p| p.stem.clone()).collect();
    let assignment = assign(&stems, options.train_percent, options.seed);
    let dirs = [IMAGE_DIRS, LABEL_DIRS, INSTANCE_DIRS];
    for d in output_dirs(options) {
        let path = options.out.join(d);
        std::fs::create_dir_all(&path).map_err(|reason| SplitError::Write { path, reason })?;
    }
    let train: std::collections::HashSet<&str> =
        assignment.train.iter().map(String::as_str).collect();
    let jobs: Vec<(PathBuf, PathBuf)> = pairs
        .iter()
        .flat_map(|pair| {
            let is_train = train.contains(pair.stem.as_str());
            pair.files
                .iter()
                .zip(dirs)
                .map(move |(from, (train_dir, test_dir))| {
                    let ext = from
                        .extension()
                        .map_or_else(String::new, |e| e.to_string_lossy().into_owned());
                    let dir = if is_train { train_dir } else { test_dir };
                    let to = options.out.join(dir).join(format!("{}.{ext}", pair.stem));
                    (from.clone(), to)
                })
        })
        .collect();
    let placed = workers::map_parallel(&jobs, options.work, |(from, to)| {
        place(from, to, options.transfer)
    });
    let (mut linked, mut copied, mut link_fallback, mut failures) = (0, 0, None, Vec::new());
    for p in placed {
        match p {
            Ok(Placed::Linked) => linked += 1,
            Ok(Placed::Copied { link_error }) => {
                copied += 1;
                link_fallback = link_fallback.or(link_error);
            }
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        return Err(SplitError::Transfer {
            out: options.out.clone(),
            failures,
        });
    }
    let source_tsv = options.labels.join("classes.tsv");
    let classes_tsv = if source_tsv.is_file() {
        let to = options.out.join("classes.tsv");
        atomic::copy(&source_tsv, &to).map_err(|reason| SplitError::Write {
            path: to.clone(),
            reason,
        })?;
        Some(to)
    } else {
        None
    };
    let manifest = Manifest {
        seed: options.seed,
        train_percent: options.train_percent,
        transfer: options.transfer,
        images: &options.images,
        labels: &options.labels,
        instances: options.instances.as_deref(),
        image_suffix: &options.image_suffix,
        label_suffix: &options.label_suffix,
        instance_suffix: &options.instance_suffix,
        train: &assignment.train,
        test: &assignment.test,
    };
    let path = options.out.join(MANIFEST);
    let json = serde_json::to_string_pretty(&manifest).map_err(SplitError::Manifest)? + "\n";
    atomic::write(&path, json.as_bytes()).map_err(|reason| SplitError::Write {
        path: path.clone(),
        reason,
    })?;
    Ok(SplitReport {
        assignment,
        linked,
        copied,
        link_fallback,
        manifest: path,
        classes_tsv,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:04}")).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_split_whatever_the_order_of_names() {
        let mut reversed = names(50);
        reversed.reverse();
        assert_eq!(assign(&names(50), 80.0, 7), assign(&reversed, 80.0, 7));
        assert_ne!(assign(&names(50), 80.0, 7), assign(&names(50), 80.0, 8));
    }

    #[test]
    fn the_train_share_is_rounded_and_every_name_lands_once() {
        let a = assign(&names(10), 75.0, 1);
        assert_eq!((a.train.len(), a.test.len()), (8, 2));
        let mut all = [a.train.clone(), a.test.clone()].concat();
        all.sort();
        assert_eq!(all, names(10));
        assert!(a.train.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(assign(&names(3), 0.0, 1).train.len(), 0);
        assert_eq!(assign(&names(3), 100.0, 1).test.len(), 0);
    }

    #[test]
    fn a_fixed_seed_keeps_its_split_across_versions() {
        // Changing the shuffle would silently move images between train and
        // test for everyone who re-runs a split; this pins it.
        let a = assign(&names(6), 50.0, 42);
        assert_eq!(a.train, ["0002", "0004", "0005"], "{a:?}");
    }
}
