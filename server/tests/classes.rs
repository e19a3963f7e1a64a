//! Class tables read from the formats researchers have: CamVid's
//! label_colors.txt and the TSV of the shared fixtures.

mod common;

use easel::package::classes::{ClassInfo, ClassTable};

#[test]
fn reads_camvid_label_colors_with_mixed_whitespace() {
    let path = common::shared_fixtures().join("classes/camvid-32-label_colors.txt");
    let t = ClassTable::load(path.to_str().unwrap()).unwrap();
    assert_eq!(t.classes.len(), 32);
    assert_eq!(
        t.classes[0],
        ClassInfo {
            name: "Animal".into(),
            color: "#408040".into(),
            coco_stuff: None
        }
    );
    assert_eq!(t.classes[4].name, "Building");
}

#[test]
fn builtin_tables_equal_the_shared_fixture_tables() {
    for (builtin, file) in [
        ("coco-stuff", "coco-stuff-182.tsv"),
        ("cityscapes", "cityscapes-35.tsv"),
    ] {
        let path = common::shared_fixtures().join("classes").join(file);
        let from_file = ClassTable::load(path.to_str().unwrap()).unwrap();
        assert_eq!(
            ClassTable::builtin(builtin).unwrap().classes,
            from_file.classes,
            "{builtin}"
        );
    }
}
