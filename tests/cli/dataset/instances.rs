//! `easel dataset instances`: instance maps numbered per connected region of
//! each class, or in the Cityscapes numbering from RGB instance annotations.

use super::{easel, read_png, write_label};
use crate::support::assert_ok;

#[test]
fn instances_number_each_connected_region_of_each_class() {
    let t = tempfile::tempdir().unwrap();
    let (labels, out) = (t.path().join("labels"), t.path().join("inst"));
    // Two class-1 squares on class 0: three regions.
    write_label(&labels.join("m_L.png"), 8, 4, |x, y| {
        (y < 2 && !(2..6).contains(&x)) as u8
    });
    let o = easel(&[
        &"dataset",
        &"instances",
        &"--labels",
        &labels,
        &"--out",
        &out,
        &"--label-suffix",
        &"_L",
    ]);
    assert_ok(&o);
    let map = read_png(&out.join("m.png"));
    assert_eq!((map.channels, map.bit_depth), (1, 16));
    #[rustfmt::skip]
    let expected = [
        1, 1, 2, 2, 2, 2, 3, 3,
        1, 1, 2, 2, 2, 2, 3, 3,
        2, 2, 2, 2, 2, 2, 2, 2,
        2, 2, 2, 2, 2, 2, 2, 2,
    ];
    assert_eq!(map.samples, expected);
}

#[test]
fn instances_follow_the_cityscapes_numbering() {
    let t = tempfile::tempdir().unwrap();
    let (labels, ann, out) = (
        t.path().join("labels"),
        t.path().join("ann"),
        t.path().join("inst"),
    );
    // Road (7) below, two cars (26) annotated as RGB instances, sky (23) above.
    write_label(&labels.join("f_gtFine_labelIds.png"), 6, 2, |x, y| {
        match (x, y) {
            (1 | 4, 1) => 26,
            (_, 0) => 23,
            _ => 7,
        }
    });
    std::fs::create_dir_all(&ann).unwrap();
    image::RgbImage::from_fn(6, 2, |x, y| match (x, y) {
        (1, 1) => image::Rgb([200, 10, 10]),
        (4, 1) => image::Rgb([10, 200, 10]),
        _ => image::Rgb([0, 0, 0]),
    })
    .save(ann.join("f_inst.png"))
    .unwrap();
    let o = easel(&[
        &"dataset",
        &"instances",
        &"--labels",
        &labels,
        &"--annotations",
        &ann,
        &"--out",
        &out,
        &"--cityscapes",
        &"--label-suffix",
        &"_gtFine_labelIds",
        &"--annotation-suffix",
        &"_inst",
    ]);
    assert_ok(&o);
    let map = read_png(&out.join("f.png"));
    assert_eq!(
        map.samples,
        [23, 23, 23, 23, 23, 23, 7, 26000, 7, 7, 26001, 7]
    );
}
