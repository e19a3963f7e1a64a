//! `easel dataset synth`: the procedural landscape dataset, at small sizes.

use std::path::Path;

use easel::landscapes::synth::{self, Landscape, SynthError, SynthOptions};
use easel::landscapes::{TimeOfDay, CLASS_COUNT, GRASS, SKY, SNOW, WATER};

const SIZE: u32 = 64;

fn options(out: &Path, count: usize, seed: u64) -> SynthOptions {
    SynthOptions {
        out: out.to_owned(),
        count,
        size: SIZE,
        seed,
        test_fraction: 0.25,
        threads: 2,
        framing: None,
    }
}

fn scenes(seed: u64, count: usize) -> Vec<Landscape> {
    (0..count).map(|i| synth::render(seed, i, SIZE)).collect()
}

/// Mean colour (0..255) of the pixels labelled `class`, if any.
fn mean_colour(l: &Landscape, class: u8) -> Option<[f64; 3]> {
    let mut sum = [0.0; 3];
    let mut n = 0.0;
    for (i, &c) in l.label.iter().enumerate() {
        if c == class {
            for (ch, s) in sum.iter_mut().enumerate() {
                *s += l.rgb[3 * i + ch] as f64;
            }
            n += 1.0;
        }
    }
    (n > 0.0).then(|| sum.map(|s| s / n))
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for split in ["train_label", "train_img", "test_label", "test_img"] {
        for e in std::fs::read_dir(dir.join(split)).unwrap() {
            names.push(format!(
                "{split}/{}",
                e.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    names.sort();
    names
}

#[test]
fn the_same_seed_writes_byte_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth::write_dataset(&options(a.path(), 6, 42)).unwrap();
    let mut single = options(b.path(), 6, 42);
    single.threads = 1;
    synth::write_dataset(&single).unwrap();
    let names = files_under(a.path());
    assert_eq!(names, files_under(b.path()));
    assert_eq!(names.len(), 12);
    for name in names.iter().chain([&"classes.tsv".to_string()]) {
        let x = std::fs::read(a.path().join(name)).unwrap();
        let y = std::fs::read(b.path().join(name)).unwrap();
        assert!(x == y, "{name} differs between runs");
    }
}

#[test]
fn different_seeds_give_different_scenes() {
    assert_ne!(synth::render(1, 0, SIZE), synth::render(2, 0, SIZE));
    assert_ne!(synth::render(1, 0, SIZE), synth::render(1, 1, SIZE));
}

#[test]
fn writes_the_spade_layout_with_the_last_scenes_as_test_split() {
    let dir = tempfile::tempdir().unwrap();
    let report = synth::write_dataset(&options(dir.path(), 8, 3)).unwrap();
    assert_eq!((report.train, report.test), (6, 2));
    let names = files_under(dir.path());
    let expect: Vec<String> = [
        (0..6)
            .map(|i| format!("train_img/{i:06}.jpg"))
            .collect::<Vec<_>>(),
        (0..6).map(|i| format!("train_label/{i:06}.png")).collect(),
        (6..8).map(|i| format!("test_img/{i:06}.jpg")).collect(),
        (6..8).map(|i| format!("test_label/{i:06}.png")).collect(),
    ]
    .concat();
    let mut expect = expect;
    expect.sort();
    assert_eq!(names, expect);

    let label = image::open(dir.path().join("test_label/000007.png")).unwrap();
    assert!(matches!(label, image::DynamicImage::ImageLuma8(_)));
    assert_eq!((label.width(), label.height()), (SIZE, SIZE));
    assert!(label
        .to_luma8()
        .pixels()
        .all(|p| (p.0[0] as usize) < CLASS_COUNT));
    let img = image::open(dir.path().join("train_img/000000.jpg")).unwrap();
    assert_eq!((img.width(), img.height()), (SIZE, SIZE));

    let classes = std::fs::read_to_string(dir.path().join("classes.tsv")).unwrap();
    let table = easel::package::classes::ClassTable::parse(&classes, "classes.tsv").unwrap();
    assert_eq!(table.classes, synth::landscape_classes().classes);
    let readme = std::fs::read_to_string(dir.path().join("README.txt")).unwrap();
    assert!(readme.contains("--seed 3") && readme.contains("--count 8"));
}

#[test]
fn scenes_tsv_records_each_scenes_split_and_light() {
    let dir = tempfile::tempdir().unwrap();
    synth::write_dataset(&options(dir.path(), 8, 3)).unwrap();
    let text = std::fs::read_to_string(dir.path().join("scenes.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 8);
    for (i, (row, scene)) in rows.iter().zip(scenes(3, 8)).enumerate() {
        assert_eq!(row[0], format!("{i:06}"));
        assert_eq!(row[1], if i >= 6 { "test" } else { "train" });
        assert_eq!((row[2], row[3]), (scene.kind.name(), scene.time.name()));
    }
}

#[test]
fn every_label_is_a_landscape_class_and_every_class_appears() {
    let all = scenes(5, 40);
    let mut seen = [0usize; CLASS_COUNT];
    for l in &all {
        assert_eq!(l.label.len(), (SIZE * SIZE) as usize);
        assert_eq!(l.rgb.len(), 3 * (SIZE * SIZE) as usize);
        assert!(l.label.contains(&SKY), "every scene has sky");
        for (c, n) in seen.iter_mut().enumerate() {
            *n += l.label.contains(&(c as u8)) as usize;
        }
        assert!(l.label.iter().all(|&c| (c as usize) < CLASS_COUNT));
    }
    for (c, n) in seen.iter().enumerate() {
        assert!(*n > 0, "class {c} never appears in 40 scenes: {seen:?}");
    }
}

#[test]
fn images_are_painted_as_their_labels_say() {
    let all = scenes(11, 40);
    let noon: Vec<_> = all.iter().filter(|l| l.time == TimeOfDay::Noon).collect();
    assert!(!noon.is_empty());
    for l in noon {
        let [r, g, b] = mean_colour(l, SKY).unwrap();
        assert!(
            b > r + 20.0 && b > g && b > 120.0,
            "noon sky {r:.0} {g:.0} {b:.0}"
        );
    }
    for l in &all {
        if let Some([r, g, b]) = mean_colour(l, GRASS) {
            // Green, or straw-yellow in warm light: never blue or red.
            assert!(g > b + 20.0 && g > 0.85 * r, "grass {r:.0} {g:.0} {b:.0}");
        }
        if let Some([r, g, b]) = mean_colour(l, SNOW) {
            assert!(r + g + b > 3.0 * 140.0, "snow {r:.0} {g:.0} {b:.0}");
        }
    }
}

#[test]
fn water_shows_a_reflection_not_a_flat_colour() {
    let all = scenes(13, 40);
    let wet: Vec<_> = all.iter().filter(|l| l.label.contains(&WATER)).collect();
    assert!(wet.len() >= 5, "only {} of 40 scenes have water", wet.len());
    for l in wet {
        let pixels: Vec<[u8; 3]> = l
            .label
            .iter()
            .enumerate()
            .filter(|(_, &c)| c == WATER)
            .map(|(i, _)| [l.rgb[3 * i], l.rgb[3 * i + 1], l.rgb[3 * i + 2]])
            .collect();
        let first = pixels[0];
        assert!(pixels.iter().any(|p| p != &first));
        assert!(pixels.iter().all(|p| p != &[0x36, 0x3e, 0xa7]));
    }
}

#[test]
fn rejects_a_file_as_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let err = synth::write_dataset(&options(&file, 2, 0)).unwrap_err();
    assert!(matches!(err, SynthError::OutNotFolder(_)));
    assert!(err.to_string().contains("not a folder"), "{err}");
}

#[test]
fn rejects_zero_scenes_and_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let err = synth::write_dataset(&options(dir.path(), 0, 0)).unwrap_err();
    assert!(err.to_string().contains("--count"), "{err}");
    let mut tiny = options(dir.path(), 1, 0);
    tiny.size = 4;
    assert!(matches!(
        synth::write_dataset(&tiny),
        Err(SynthError::Size(4))
    ));
    let mut odd = options(dir.path(), 1, 0);
    odd.test_fraction = 1.5;
    assert!(matches!(
        synth::write_dataset(&odd),
        Err(SynthError::TestFraction(_))
    ));
}

#[test]
fn contact_sheet_holds_label_and_image_side_by_side() {
    let sheet = synth::contact_sheet(1, 32, 4);
    assert_eq!(sheet.width(), 4 + 3 * 2 * (32 + 4));
    assert_eq!(sheet.height(), 4 + 2 * (32 + 4));
}

#[test]
fn framed_scenes_are_windows_of_their_shape_the_same_for_a_seed_and_the_whole_frame_unchanged() {
    use easel::landscapes::synth::Framing;
    let pano = Framing {
        width: 96,
        height: 48,
        zoom: 1.0,
    };
    let view = synth::render_framed(3, 0, pano);
    assert_eq!((view.width, view.height), (96, 48));
    assert_eq!((view.label.len(), view.rgb.len()), (96 * 48, 96 * 48 * 3));
    assert_eq!(view, synth::render_framed(3, 0, pano));
    // A 2:1 window of the unzoomed scene is a band of its square frame.
    let whole = synth::render(3, 0, 96);
    let at = whole
        .label
        .windows(96 * 48)
        .step_by(96)
        .position(|band| band == view.label.as_slice());
    assert!(at.is_some(), "the window is a band of the whole frame");
    // Zoomed close-ups differ from the unzoomed view; the plain frame is
    // exactly what render gives.
    let close = synth::render_framed(3, 0, Framing { zoom: 3.0, ..pano });
    assert_ne!(close.label, view.label);
    let square = Framing {
        width: 64,
        height: 64,
        zoom: 1.0,
    };
    assert_eq!(synth::render_framed(3, 1, square), synth::render(3, 1, 64));
}
