//! `easel dataset check`: the training flags a dataset needs, and the values,
//! gaps and unpaired files that would spoil training.

use std::path::{Path, PathBuf};

use super::{camvid_palette, easel, write_label, write_photo};
use crate::support::{assert_fails, assert_ok, stdout};

/// A CamVid-shaped dataset: 640×480 maps with classes 0..=5 and some 255.
fn checkable(root: &Path, with_dontcare: bool) -> (PathBuf, PathBuf) {
    let (images, labels) = (root.join("img"), root.join("label"));
    for i in 0..3 {
        write_photo(&images.join(format!("{i}.jpg")), 640, 480);
        write_label(&labels.join(format!("{i}.png")), 640, 480, |x, y| {
            if with_dontcare && y == 0 {
                255
            } else {
                (x / 110) as u8
            }
        });
    }
    (images, labels)
}

#[test]
fn check_prints_the_training_flags_that_fit() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = checkable(t.path(), true);
    let o = easel(&[
        &"dataset",
        &"check",
        &"--label_dir",
        &labels,
        &"--image_dir",
        &images,
    ]);
    assert_ok(&o);
    let out = stdout(&o);
    assert!(
        out.contains(
            "training flags: --label_nc 6 --contain_dontcare_label --no_instance \
             --preprocess_mode fixed --aspect_ratio 1.3333 --load_size 512 --crop_size 512"
        ),
        "{out}"
    );
    assert!(out.contains("sizes: 640×480 (3)"), "{out}");
    assert!(
        out.contains("aspect ratio: 1.3333 (4:3) in 3 of 3 maps"),
        "{out}"
    );
    assert!(
        out.contains("255 (dontcare) covers 1920 pixels in 3 file(s)"),
        "{out}"
    );
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn check_reports_values_at_or_above_label_nc_gaps_and_unpaired_files() {
    let t = tempfile::tempdir().unwrap();
    let (images, labels) = checkable(t.path(), false);
    write_photo(&images.join("lonely.jpg"), 640, 480);
    let o = easel(&[
        &"dataset",
        &"check",
        &"--label-dir",
        &labels,
        &"--image-dir",
        &images,
        &"--label-nc",
        &"8",
        &"--classes",
        &camvid_palette(),
    ]);
    assert_fails(&o);
    let out = stdout(&o);
    assert!(
        out.contains("have no partner") && out.contains("lonely.jpg"),
        "{out}"
    );
    assert!(
        out.contains("2 of the 8 class ids never occur: 6 (CartLuggagePram), 7 (Child)"),
        "{out}"
    );
    let o = easel(&[
        &"dataset",
        &"check",
        &"--label_dir",
        &labels,
        &"--image_dir",
        &images,
        &"--label_nc",
        &"4",
    ]);
    assert_fails(&o);
    let out = stdout(&o);
    assert!(
        out.contains("values 4 (")
            && out.contains("5 (")
            && out.contains("are not below label_nc 4 (given with --label_nc), in 0, 1, 2"),
        "{out}"
    );
}
