//! `easel test` at scale: scores (`--evaluate`), four shards into one run
//! folder (one SIGKILLed and restarted) against one process, the gallery
//! rebuilt from disk (`--pages-only`), refusals that write nothing, and a
//! results folder that fills up or turns read-only in the middle of a run.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{assert_fails, assert_ok, easel, file_names, import_fixture, repo, text};

const SCENES: usize = 24;

/// Held-out synthetic scenes (seed 5): `test_label/` and `test_img/`.
fn scenes(tmp: &Path) -> PathBuf {
    let held = tmp.join("held");
    let out = easel()
        .args([
            "dataset",
            "synth",
            "--count",
            &SCENES.to_string(),
            "--seed",
            "5",
            "--test-fraction",
            "1",
            "--out",
        ])
        .arg(&held)
        .output()
        .unwrap();
    assert_ok(&out);
    held
}

/// `easel test` of the default model over the scenes, scored, one map per batch.
fn run(held: &Path, results: &Path, name: &str, extra: &[&str]) -> Command {
    let mut c = easel();
    c.args([
        "test",
        "--name",
        name,
        "--batch",
        "1",
        "--threads",
        "1",
        "--evaluate",
        "--which_epoch",
        "latest",
    ])
    .arg("--model")
    .arg(repo().join("models/landscapes"))
    .arg("--label_dir")
    .arg(held.join("test_label"))
    .arg("--image_dir")
    .arg(held.join("test_img"))
    .arg("--results_dir")
    .arg(results)
    .args(extra);
    c
}

fn manifest(root: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(root.join("run.json")).unwrap()).unwrap()
}

/// A page with what differs between two runs of the same maps taken out:
/// the run's name and the times.
fn normalised(page: &str, name: &str) -> String {
    page.replace(name, "RUN")
        .split("updated ")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                part.split_once(" UTC")
                    .map_or(part.to_string(), |(_, rest)| rest.to_string())
            }
        })
        .collect()
}

#[test]
fn four_shards_one_killed_and_restarted_make_the_gallery_one_process_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let held = scenes(tmp.path());
    let results = tmp.path().join("results");
    let out = run(&held, &results, "single", &[]).output().unwrap();
    assert_ok(&out);
    assert!(
        text(&out).contains("scores (segmenter of landscapes)"),
        "{}",
        text(&out)
    );

    let shard = |i: usize| {
        run(&held, &results, "sharded", &["--shard", &format!("{i}/4")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children: Vec<_> = (0..4).map(shard).collect();
    // Shard 1 is killed once its record holds an image (a third of its six).
    let record = results.join("sharded/test_latest/shards/shard-0001-of-0004.json");
    let started = Instant::now();
    loop {
        let done = std::fs::read(&record)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map_or(0, |m| m["done"].as_object().map_or(0, |d| d.len()));
        if done >= 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "shard 1 made nothing in 2 minutes"
        );
        assert!(
            children[1].try_wait().unwrap().is_none(),
            "shard 1 ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    children[1].kill().unwrap(); // SIGKILL
    children[1].wait().unwrap();
    children[1] = shard(1);
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (one, four) = (
        results.join("single/test_latest"),
        results.join("sharded/test_latest"),
    );
    let (m1, m4) = (manifest(&one), manifest(&four));
    assert_eq!(m4["state"], "complete");
    assert_eq!(
        m4["done"].as_object().unwrap().len(),
        SCENES,
        "every map once"
    );
    assert_eq!(
        m1["done"], m4["done"],
        "the same records, agreements included"
    );
    assert_eq!(m1["scores"], m4["scores"], "scores merge exactly");
    assert_eq!(m1["scores"]["images"], SCENES);
    for kind in ["input_label", "synthesized_image", "real_image"] {
        let names = file_names(&one.join("images").join(kind));
        assert_eq!(names.len(), SCENES, "{kind}");
        assert_eq!(
            names,
            file_names(&four.join("images").join(kind)),
            "{kind}: every image once, nothing else"
        );
        for name in &names {
            let (a, b) = (
                std::fs::read(one.join("images").join(kind).join(name)).unwrap(),
                std::fs::read(four.join("images").join(kind).join(name)).unwrap(),
            );
            assert!(a == b, "{kind}/{name} differs between the runs");
        }
    }
    for page in ["index.html", "worst.html"] {
        let a = std::fs::read_to_string(one.join(page)).unwrap();
        let b = std::fs::read_to_string(four.join(page)).unwrap();
        assert_eq!(
            normalised(&a, "single"),
            normalised(&b, "sharded"),
            "{page}"
        );
    }
    let shards = file_names(&four.join("shards"));
    assert_eq!(
        shards,
        (0..4)
            .map(|i| format!("shard-{i:04}-of-0004.json"))
            .collect::<Vec<_>>()
    );

    // The pages again from disk, after they are lost: the same gallery.
    let before = std::fs::read_to_string(four.join("index.html")).unwrap();
    std::fs::remove_file(four.join("index.html")).unwrap();
    std::fs::remove_file(four.join("run.json")).unwrap();
    let out = run(&held, &results, "sharded", &["--pages_only"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        text(&out).contains(&format!("{SCENES} of {SCENES} images made")),
        "{}",
        text(&out)
    );
    let after = std::fs::read_to_string(four.join("index.html")).unwrap();
    assert_eq!(
        normalised(&before, "sharded"),
        normalised(&after, "sharded")
    );
    assert_eq!(manifest(&four)["scores"], m1["scores"]);
}

#[test]
fn a_scored_gallery_shows_the_scores_each_images_agreement_and_the_worst_first() {
    let tmp = tempfile::tempdir().unwrap();
    let held = scenes(tmp.path());
    let results = tmp.path().join("results");
    assert_ok(
        &run(&held, &results, "scored", &["--how_many", "8"])
            .output()
            .unwrap(),
    );
    let root = results.join("scored/test_latest");
    let m = manifest(&root);
    let scores = &m["scores"];
    assert_eq!(scores["segmenter"], "landscapes");
    // The judge is the package's own segmenter, not its photo segmenter,
    // named with its digest so that scores compare across releases.
    let judge = m["judge"].as_str().unwrap();
    assert!(judge.starts_with("segmenter.onnx (sha256 "), "{judge}");
    assert_eq!(scores["judge"], judge);
    assert_eq!(
        (scores["images"].as_u64(), scores["real_images"].as_u64()),
        (Some(8), Some(8))
    );
    let miou = scores["generated"]["mean_iou"].as_f64().unwrap();
    assert!(0.2 < miou && miou < 1.0, "{miou}");
    let index = std::fs::read_to_string(root.join("index.html")).unwrap();
    assert!(
        index.contains(&format!("{miou:.3}")),
        "the header shows the mIoU"
    );
    assert!(index.contains(judge), "the header names the judge");
    assert!(
        index.matches("class=\"agreement\"").count() == 16,
        "each synthesized image and photo has its agreement"
    );
    // Worst first: the images' own mIoU ascending.
    let worst = std::fs::read_to_string(root.join("worst.html")).unwrap();
    let order: Vec<f64> = worst
        .split("synthesized image<br><span class=\"agreement\">agreement ")
        .skip(1)
        .map(|s| s.split("mIoU ").nth(1).unwrap()[..5].parse().unwrap())
        .collect();
    assert_eq!(order.len(), 8);
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    let per_image: Vec<f64> = m["done"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["agreement"]["mean_iou"].as_f64().unwrap())
        .collect();
    assert!(per_image.iter().any(|&v| (v - order[0]).abs() < 5e-4));
}

#[test]
fn shards_that_cannot_be_and_a_model_without_a_segmenter_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let held = scenes(tmp.path());
    let results = tmp.path().join("results");
    for (shard, says) in [
        ("3/2", "numbered 0 to 1"),
        ("0/0", "at least 1 shard"),
        ("1", "write it I/N"),
    ] {
        let out = run(&held, &results, "bad", &["--shard", shard])
            .output()
            .unwrap();
        assert_fails(&out);
        assert!(text(&out).contains(says), "--shard {shard}: {}", text(&out));
    }
    let coco = import_fixture("coco182_tiny", &tmp.path().join("coco"));
    let out = easel()
        .args(["test", "--name", "bad", "--evaluate", "--model"])
        .arg(&coco)
        .arg("--label_dir")
        .arg(held.join("test_label"))
        .arg("--results_dir")
        .arg(&results)
        .output()
        .unwrap();
    assert_fails(&out);
    assert!(
        text(&out).contains("has no segmenter to score the run with: pass --segmenter PACKAGE"),
        "{}",
        text(&out)
    );
    let out = run(&held, &results, "bad", &["--segmenter"])
        .arg(&coco)
        .output()
        .unwrap();
    assert_fails(&out);
    assert!(
        text(&out).contains("has no segmenter; give a package with a segmenter.onnx"),
        "{}",
        text(&out)
    );
    assert!(!results.exists(), "nothing written");
}

#[test]
fn a_shard_that_would_compute_in_other_arithmetic_than_the_run_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let held = scenes(tmp.path());
    let results = tmp.path().join("results");
    let root = results.join("mixed").join("test_latest");
    // Shard `i` of 2 over the first 4 maps, in fp32 on ONNX Runtime.
    let shard = |i: &str| {
        run(
            &held,
            &results,
            "mixed",
            &["--how_many", "4", "--compute", "fp32", "--shard", i],
        )
        .output()
        .unwrap()
    };
    assert_ok(&shard("0/2"));
    let record_path = root.join("shards").join("shard-0000-of-0002.json");
    let mut record: Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    assert_eq!(
        (&record["compute"], &record["provider"]),
        (&"fp32".into(), &"onnxruntime".into()),
        "each shard records its arithmetic and runtime"
    );
    assert_eq!(manifest(&root)["compute"], "fp32", "and run.json the run's");
    assert_eq!(manifest(&root)["provider"], "onnxruntime");
    // As if shard 0 had run on a node computing bf16.
    record["compute"] = "bf16".into();
    record["provider"] = "openvino".into();
    std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
    let second = shard("1/2");
    assert_fails(&second);
    assert!(
        text(&second).contains(
            "run mixed is made in bf16 on openvino and this process computes fp32 on onnxruntime"
        ) && text(&second).contains("with --compute bf16"),
        "{}",
        text(&second)
    );
    assert!(
        !root.join("shards").join("shard-0001-of-0002.json").exists(),
        "the refused shard wrote no record"
    );
    let made = file_names(&root.join("images").join("synthesized_image"));
    assert_eq!(made.len(), 2, "only shard 0's maps are made: {made:?}");
}

/// Runs `script` as root of a new user and mount namespace (`unshare
/// -Urm`), where it may mount a tmpfs; its output.
fn in_namespace(script: &str) -> std::process::Output {
    Command::new("unshare")
        .args(["-Urm", "sh", "-ec", script])
        .output()
        .expect("unshare (util-linux) runs")
}

/// The images of a run folder: complete PNGs only, each kind once per map,
/// and no temporary file anywhere.
fn assert_nothing_half_written(root: &Path) {
    for kind in ["input_label", "synthesized_image", "real_image"] {
        let dir = root.join("images").join(kind);
        for name in file_names(&dir) {
            assert!(
                !name.starts_with('.') && name.ends_with(".png"),
                "{kind}/{name} left behind"
            );
            image::open(dir.join(&name))
                .unwrap_or_else(|e| panic!("{kind}/{name} is half written: {e}"));
        }
    }
    for dir in [root.to_path_buf(), root.join("shards")] {
        let temporaries: Vec<String> = file_names(&dir)
            .into_iter()
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(temporaries.is_empty(), "{temporaries:?}");
    }
}

#[test]
fn a_results_folder_that_fills_up_or_turns_read_only_stops_the_run_cleanly_and_it_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let held = scenes(tmp.path());
    let results = tmp.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let command = |name: &str| {
        let c = run(&held, &results, name, &[]);
        let mut line = format!("EASEL_COMPUTE=fp32 {}", c.get_program().to_string_lossy());
        for arg in c.get_args() {
            line += &format!(" '{}'", arg.to_string_lossy());
        }
        line
    };
    let r = results.display();
    // 1.5 MB holds a few of the 24 maps' images: the run stops on a full
    // disk, then resumes once the tmpfs has room.
    let full = format!(
        "mount -t tmpfs -o size=1500k tmpfs '{r}'
         if {run} > '{r}/../full.txt' 2>&1; then echo FINISHED; else echo STOPPED; fi
         cp '{r}/../full.txt' /dev/stdout
         mount -o remount,size=64m '{r}'
         {run} > /dev/null 2>&1 && echo RESUMED
         cp -r '{r}/full' '{r}/../full-copy'",
        run = command("full"),
    );
    stopped_then_resumed(
        &in_namespace(&full),
        "the results folder's disk is full",
        &tmp.path().join("full-copy/test_latest"),
    );

    // Read-only in the middle of a run: remounted once two images are there.
    let read_only = format!(
        "mount -t tmpfs -o size=64m tmpfs '{r}'
         {run} > '{r}/../ro.txt' 2>&1 &
         pid=$!
         while [ \"$(ls '{r}/ro/test_latest/images/synthesized_image' 2>/dev/null | grep -c png)\" -lt 2 ]; do sleep 0.05; done
         until mount -o remount,ro '{r}' 2>/dev/null; do sleep 0.01; done
         if wait $pid; then echo FINISHED; else echo STOPPED; fi
         cp '{r}/../ro.txt' /dev/stdout
         mount -o remount,rw '{r}'
         {run} > /dev/null 2>&1 && echo RESUMED
         cp -r '{r}/ro' '{r}/../ro-copy'",
        run = command("ro"),
    );
    stopped_then_resumed(
        &in_namespace(&read_only),
        "the results folder is read-only",
        &tmp.path().join("ro-copy/test_latest"),
    );
}

/// What a namespace script said of a run that stopped on a write and was
/// resumed, and the run folder it copied out: stopped with `message`,
/// resumed to the end, every image and score there, nothing half written.
fn stopped_then_resumed(out: &std::process::Output, message: &str, root: &Path) {
    let said = text(out);
    assert!(
        said.contains("STOPPED") && said.contains("RESUMED"),
        "{said}"
    );
    assert!(said.contains(message), "{said}");
    assert!(
        said.contains("run the same command again to resume it"),
        "{said}"
    );
    assert_nothing_half_written(root);
    let m = manifest(root);
    assert_eq!(m["state"], "complete");
    assert_eq!(m["scores"]["images"], SCENES, "scores survive the stop");
    for kind in ["synthesized_image", "real_image"] {
        assert_eq!(
            file_names(&root.join("images").join(kind)).len(),
            SCENES,
            "{kind}"
        );
    }
}
