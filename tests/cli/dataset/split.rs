//! `easel dataset split`: photos and label maps split into the reference's
//! train and test folders, reproducibly for a seed, refusing unpaired files.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{run, write_label, write_photo};
use crate::support::{assert_fails, assert_ok, file_names, read, stderr, stdout};

/// Photos `<i>.jpg` and CamVid-style labels `<i>_L.png` for `n` names.
fn camvid_like(root: &Path, n: usize) -> (PathBuf, PathBuf) {
    let (images, labels) = (root.join("images"), root.join("labels"));
    for i in 0..n {
        write_photo(&images.join(format!("f{i:03}.jpg")), 8, 6);
        write_label(&labels.join(format!("f{i:03}_L.png")), 8, 6, |x, _| x as u8);
    }
    (images, labels)
}

fn split_args(images: &Path, labels: &Path, out: &Path, seed: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["dataset", "split", "--images"].map(OsString::from).into();
    args.push(images.into());
    args.push("--labels".into());
    args.push(labels.into());
    args.push("--out".into());
    args.push(out.into());
    for a in ["--label-suffix", "_L", "--train", "90", "--seed", seed] {
        args.push(a.into());
    }
    args
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(&out.join("split.json"))).unwrap()
}

#[test]
fn split_is_reproducible_for_a_seed() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = camvid_like(t.path(), 20);
    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    assert_ok(&run(split_args(&images, &labels, &a, "7")));
    assert_ok(&run(split_args(&images, &labels, &b, "7")));
    assert_ok(&run(split_args(&images, &labels, &c, "8")));
    let (ma, mb, mc) = (manifest(&a), manifest(&b), manifest(&c));
    assert_eq!(ma["train"], mb["train"]);
    assert_eq!(ma["test"], mb["test"]);
    assert_ne!(ma["test"], mc["test"]);
    assert_eq!(ma["train"].as_array().unwrap().len(), 18);
    for dir in ["train_img", "train_label", "test_img", "test_label"] {
        assert_eq!(file_names(&a.join(dir)), file_names(&b.join(dir)), "{dir}");
    }
    // The reference pairs by identical names: the suffix is gone.
    let test: Vec<String> = ma["test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        file_names(&a.join("test_label")),
        test.iter().map(|s| format!("{s}.png")).collect::<Vec<_>>()
    );
    assert_eq!(
        file_names(&a.join("test_img")),
        test.iter().map(|s| format!("{s}.jpg")).collect::<Vec<_>>()
    );
}

#[test]
fn split_refuses_unpaired_files_with_a_list() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = camvid_like(t.path(), 4);
    std::fs::remove_file(labels.join("f001_L.png")).unwrap();
    write_label(&labels.join("extra_L.png"), 8, 6, |_, _| 0);
    let out = t.path().join("out");
    let o = run(split_args(&images, &labels, &out, "1"));
    assert_fails(&o);
    let err = stderr(&o);
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        err.contains("1 of the photos in") && err.contains("(names compared without _L): f001.jpg"),
        "{err}"
    );
    assert!(
        err.contains("1 of the label maps in") && err.contains(": extra_L.png"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn split_refuses_an_earlier_split_unless_forced_and_can_hard_link() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = camvid_like(t.path(), 5);
    let out = t.path().join("out");
    assert_ok(&run(split_args(&images, &labels, &out, "1")));
    let o = run(split_args(&images, &labels, &out, "2"));
    assert_fails(&o);
    assert!(
        stderr(&o).contains("already holds a split"),
        "{}",
        stderr(&o)
    );
    let mut args = split_args(&images, &labels, &out, "2");
    args.extend(["--force".into(), "--link".into()]);
    let o = run(args);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("(10 linked, 0 copied)"),
        "{}",
        stdout(&o)
    );
    let total: usize = ["train_img", "test_img"]
        .iter()
        .map(|d| file_names(&out.join(d)).len())
        .sum();
    assert_eq!(total, 5, "the earlier split's files are gone");
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let linked = std::fs::metadata(images.join("f000.jpg")).unwrap();
        assert_eq!(linked.nlink(), 2);
    }
}
