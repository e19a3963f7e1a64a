//! `easel test`: a run over the shared COCO-Stuff validation samples with an
//! imported fixture model, pairing errors, unsafe names, and a run killed
//! part-way and resumed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{easel, file_names, import_fixture, shared_fixtures, sources, text};

fn coco_model(tmp: &Path) -> PathBuf {
    import_fixture("coco182_tiny", &tmp.join("coco"))
}

fn coco(dir: &str) -> PathBuf {
    shared_fixtures().join("coco_stuff").join(dir)
}

/// `count` copies of the shared COCO-Stuff validation maps in `dir`, named
/// `<prefix>0000.png`… (and their photos in `photos`, when given).
fn copies_of_the_validation_maps(
    dir: &Path,
    photos: Option<&Path>,
    count: usize,
    prefix: &str,
    digits: usize,
) {
    std::fs::create_dir_all(dir).unwrap();
    let labels = file_names(&coco("val_label"));
    let images = file_names(&coco("val_img"));
    for i in 0..count {
        let stem = format!("{prefix}{i:0digits$}");
        std::fs::copy(
            coco("val_label").join(&labels[i % labels.len()]),
            dir.join(format!("{stem}.png")),
        )
        .unwrap();
        if let Some(photos) = photos {
            std::fs::create_dir_all(photos).unwrap();
            std::fs::copy(
                coco("val_img").join(&images[i % images.len()]),
                photos.join(format!("{stem}.jpg")),
            )
            .unwrap();
        }
    }
}

/// The first `count` pages of a gallery (index.html, index-2.html, …), joined.
fn pages(root: &Path, count: usize) -> String {
    (1..=count)
        .map(|p| {
            let file = if p == 1 {
                "index.html".to_string()
            } else {
                format!("index-{p}.html")
            };
            std::fs::read_to_string(root.join(file)).unwrap()
        })
        .collect()
}

#[test]
fn a_run_over_the_coco_validation_maps_makes_the_reference_tree_and_a_page_whose_images_load() {
    let tmp = tempfile::tempdir().unwrap();
    let model = coco_model(tmp.path());
    let results = tmp.path().join("results");
    let out = easel()
        .args(["test", "--name", "coco_val", "--model"])
        .arg(&model)
        .arg("--label_dir")
        .arg(coco("val_label"))
        .arg("--image-dir") // kebab-case works too
        .arg(coco("val_img"))
        .arg("--instance_dir")
        .arg(coco("val_inst"))
        .arg("--results_dir")
        .arg(&results)
        .args(["--batch", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("made 8 images"), "{}", text(&out));
    let root = results.join("coco_val/test_latest");
    let stems: Vec<String> = file_names(&coco("val_label"));
    for kind in ["input_label", "synthesized_image", "real_image"] {
        assert_eq!(file_names(&root.join("images").join(kind)), stems, "{kind}");
    }
    let html = std::fs::read_to_string(root.join("index.html")).unwrap();
    let srcs = sources(&html);
    assert_eq!(srcs.len(), 3 * stems.len(), "three images per map");
    for src in &srcs {
        let img = image::open(root.join(src)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(
            (img.width(), img.height()),
            (64, 64),
            "{src} at the model's size"
        );
    }
    for stem in &stems {
        let stem = stem.trim_end_matches(".png");
        assert!(
            html.contains(&format!("<h2>{stem} <span class=\"size\">map ")),
            "caption of {stem}"
        );
    }
    assert!(
        html.contains("8 of 8 images") && html.contains("complete"),
        "{html}"
    );
    assert!(
        html.contains("class=\"legend\"") && html.contains("sky-other"),
        "a legend of classes present"
    );
    assert!(!html.contains("b'"), "no byte-string captions");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["done"].as_object().unwrap().len(), 8);
    assert_eq!(manifest["state"], "complete");

    // The same run again has nothing left to do.
    let again = easel()
        .args(["test", "--name", "coco_val", "--model"])
        .arg(&model)
        .arg("--label_dir")
        .arg(coco("val_label"))
        .arg("--results_dir")
        .arg(&results)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("made 0 images") && text(&again).contains("8 were already there"),
        "{}",
        text(&again)
    );
}

#[test]
fn files_that_do_not_pair_are_listed_and_nothing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let model = coco_model(tmp.path());
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for name in file_names(&coco("val_img")).iter().skip(2) {
        std::fs::copy(coco("val_img").join(name), photos.join(name)).unwrap();
    }
    std::fs::write(photos.join("stray.jpg"), b"x").unwrap();
    let out = easel()
        .args(["test", "--name", "pairs", "--model"])
        .arg(&model)
        .arg("--label_dir")
        .arg(coco("val_label"))
        .arg("--image_dir")
        .arg(&photos)
        .arg("--results_dir")
        .arg(tmp.path().join("results"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(
        msg.contains("2 of the label maps") && msg.contains("000000000139.png, 000000000785.png"),
        "{msg}"
    );
    assert!(
        msg.contains("1 of the photos") && msg.contains("stray.jpg"),
        "{msg}"
    );
    assert!(
        !tmp.path().join("results/pairs").exists(),
        "nothing is written"
    );
}

#[test]
fn run_names_that_leave_the_results_folder_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let model = coco_model(tmp.path());
    let results = tmp.path().join("results");
    for name in ["../escape", "/tmp/abs", "a/b", ".."] {
        let out = easel()
            .args(["test", "--name", name, "--model"])
            .arg(&model)
            .arg("--label_dir")
            .arg(coco("val_label"))
            .arg("--results_dir")
            .arg(&results)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(
            text(&out).contains("is not allowed"),
            "{name}: {}",
            text(&out)
        );
    }
    assert!(!tmp.path().join("escape").exists());
    assert!(!results.exists() || std::fs::read_dir(&results).unwrap().count() == 0);
}

#[test]
fn a_run_killed_part_way_resumes_and_ends_with_every_image_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let model = coco_model(tmp.path());
    let labels = tmp.path().join("labels");
    // Over 1,000 maps: while it runs, only the first page is rewritten at
    // each save; at the end every page is.
    let count = 1100;
    copies_of_the_validation_maps(&labels, None, count, "s", 4);
    let results = tmp.path().join("results");
    let run = || {
        let mut c = easel();
        c.args([
            "test",
            "--name",
            "killed",
            "--batch",
            "1",
            "--threads",
            "1",
            "--model",
        ])
        .arg(&model)
        .arg("--label_dir")
        .arg(&labels)
        .arg("--results_dir")
        .arg(&results);
        c
    };
    let synthesized = results.join("killed/test_latest/images/synthesized_image");
    let mut child = run()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Killed once run.json records some images: it is written at most once a
    // second, so images on disk alone may not be in it yet (a resumed run
    // then makes them again, correctly, but this test is about skipping).
    let manifest = results.join("killed/test_latest/run.json");
    let recorded = || {
        std::fs::read(&manifest)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|m| m["done"].as_object().map(|d| d.len()))
            .unwrap_or(0)
    };
    loop {
        let made = std::fs::read_dir(&synthesized).map_or(0, |d| d.count());
        if made >= 60 && recorded() >= 60 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run made {made} images in 2 minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let root = results.join("killed/test_latest");
    assert!(
        std::fs::read_to_string(root.join("index.html"))
            .unwrap()
            .contains("s0000"),
        "the first page is kept up to date while the run goes on"
    );
    assert!(
        !root.join("index-2.html").exists(),
        "over 1,000 maps, the other pages wait for the minute's full write"
    );
    let made_before = file_names(&synthesized)
        .iter()
        .filter(|n| n.ends_with(".png") && !n.starts_with('.'))
        .count();
    assert!(
        made_before < count,
        "killed part-way ({made_before} of {count})"
    );

    let out = run().output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("were already there"), "{}", text(&out));
    let expected: Vec<String> = (0..count).map(|i| format!("s{i:04}.png")).collect();
    assert_every_image_once(&root, &expected, &["input_label", "synthesized_image"]);
    let html = pages(&root, 22);
    assert_eq!(
        sources(&html).len(),
        2 * count,
        "22 pages of 50 show every map once"
    );
    assert!(!root.join("index-23.html").exists());
}

/// Twenty SIGKILLs at pseudo-random moments of one run (loading, writing
/// images, writing pages), each followed by a resume: the run ends complete,
/// with every image once, all readable, and no temporary file left.
#[test]
fn twenty_kills_at_random_moments_never_lose_or_corrupt_a_gallery() {
    let tmp = tempfile::tempdir().unwrap();
    let model = coco_model(tmp.path());
    let labels = tmp.path().join("labels");
    let photos = tmp.path().join("photos");
    let count = 200;
    copies_of_the_validation_maps(&labels, Some(&photos), count, "k", 3);
    let results = tmp.path().join("results");
    let run = || {
        let mut c = easel();
        c.args([
            "test",
            "--name",
            "crashy",
            "--batch",
            "2",
            "--threads",
            "1",
            "--model",
        ])
        .arg(&model)
        .arg("--label_dir")
        .arg(&labels)
        .arg("--image_dir")
        .arg(&photos)
        .arg("--results_dir")
        .arg(&results)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    };
    let mut seed: u64 = 0x05ee_d0fe_a5e1;
    let mut random = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut kills = 0;
    for _ in 0..20 {
        let mut child = run().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(20 + random(400)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 15, "most attempts were killed mid-run ({kills})");
    let out = run().stdout(Stdio::piped()).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let root = results.join("crashy/test_latest");
    let expected: Vec<String> = (0..count).map(|i| format!("k{i:03}.png")).collect();
    assert_every_image_once(
        &root,
        &expected,
        &["input_label", "synthesized_image", "real_image"],
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["state"], "complete");
    assert_eq!(manifest["done"].as_object().unwrap().len(), count);
    let html = pages(&root, 4);
    assert_eq!(sources(&html).len(), 3 * count);
}

/// After a resume: every image of `kinds` exactly once and readable, and no
/// temporary file left in the run folder.
fn assert_every_image_once(root: &std::path::Path, expected: &[String], kinds: &[&str]) {
    for kind in kinds {
        let dir = root.join("images").join(kind);
        assert_eq!(
            file_names(&dir),
            expected,
            "{kind}: every image once, no partial files"
        );
        for name in expected {
            image::open(dir.join(name)).unwrap_or_else(|e| panic!("{kind}/{name}: {e}"));
        }
    }
    let leftovers: Vec<String> = file_names(root)
        .into_iter()
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
