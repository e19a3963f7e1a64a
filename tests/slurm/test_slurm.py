"""easel under a real SLURM: a private single-node cluster (cluster.py)
runs deploy/slurm's scripts as a researcher submits them.
`make test-slurm` (part of `make test`) installs Debian's slurm-wlm and
munge and runs them; slurmd needs root.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cluster as slurm_cluster

REPO = Path(__file__).resolve().parents[2]
EASEL = REPO / "target" / "release" / "easel"
MODEL = REPO / "models" / "landscapes"
SCRIPTS = REPO / "deploy" / "slurm"
sys.path.insert(0, str(REPO / "training" / "tests"))
sys.path.insert(0, str(REPO / "training"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = slurm_cluster.missing()
    if why:
        pytest.fail(why)
    with slurm_cluster.Cluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """Held-out synthetic scenes (never trained on), 12 maps."""
    out = tmp_path_factory.mktemp("scenes")
    subprocess.run([str(EASEL), "dataset", "synth", "--out", str(out), "--count", "12", "--seed", "7",
                    "--test-fraction", "1"], check=True, capture_output=True)
    return out / "test_label"


def wait_for_queue(c, job: str | None = None, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        args = ["squeue", "-h"] + (["-j", job] if job else [])
        if not c.run(*args, check=False).stdout.strip():
            return
        time.sleep(0.5)
    raise AssertionError(f"jobs still queued after {timeout} s:\n{c.state(job)}")


def job_state(c, job: str) -> str:
    """The job's state as scontrol reports it (PENDING, RUNNING, FAILED…)."""
    out = c.run("scontrol", "show", "job", "-o", job, check=False).stdout
    return next((f.split("=", 1)[1] for f in out.split() if f.startswith("JobState=")), "")


def run_env(results: Path, name: str, labels: Path, **extra) -> dict:
    return {"EASEL_BIN": str(EASEL), "EASEL_MODEL": str(MODEL), "EASEL_LABEL_DIR": str(labels),
            "EASEL_RESULTS_DIR": str(results), "EASEL_NAME": name, "EASEL_EVALUATE": "1", **extra}


def submit(c, workdir: Path, script: str, *args: str, env: dict, script_args=()) -> str:
    """sbatch [args] SCRIPT [script_args]; the job id."""
    workdir.mkdir(parents=True, exist_ok=True)
    return c.run("sbatch", "--parsable", f"--chdir={workdir}", *args, str(SCRIPTS / script),
                 *script_args, env=env).stdout.strip().split(";")[0]


def outputs(workdir: Path, job: str) -> dict[str, str]:
    return {f.name: f.read_text() for f in sorted(workdir.glob(f"easel-test-{job}_*.out"))}


def test_an_array_of_three_shards_makes_the_single_process_gallery(cluster, maps, tmp_path):
    single = tmp_path / "single"
    subprocess.run([str(EASEL), "test", "--name", "held", "--which_epoch", "latest", "--model", str(MODEL),
                    "--label_dir", str(maps), "--results_dir", str(single), "--evaluate", "--compute", "fp32",
                    "--threads", "1"], check=True, capture_output=True)
    job = submit(cluster, tmp_path, "test-run.sbatch", "--array=0-2", "--cpus-per-task=1",
                 env=run_env(tmp_path / "results", "held", maps))
    wait_for_queue(cluster, job)
    logs = outputs(tmp_path, job)
    assert len(logs) == 3, logs
    assert sum("shard" in text and "done" in text for text in logs.values()) == 3, logs
    one, many = single / "held" / "test_latest", tmp_path / "results" / "held" / "test_latest"
    images = sorted(p.relative_to(one) for p in (one / "images").rglob("*.png"))
    assert len(images) >= 24, "synthesized and label images of 12 maps"
    assert images == sorted(p.relative_to(many) for p in (many / "images").rglob("*.png"))
    for image in images:
        assert filecmp.cmp(one / image, many / image, shallow=False), image
    a, b = (json.loads((d / "run.json").read_text()) for d in (one, many))
    assert a["state"] == b["state"] == "complete"
    assert a["stems"] == b["stems"] and a["done"] == b["done"]
    assert a["scores"] == b["scores"]


def test_a_cancelled_task_resubmitted_alone_finishes_the_run_redoing_nothing(cluster, tmp_path):
    maps = tmp_path / "scenes"
    subprocess.run([str(EASEL), "dataset", "synth", "--out", str(maps), "--count", "60", "--seed", "8",
                    "--test-fraction", "1"], check=True, capture_output=True)
    env = run_env(tmp_path / "results", "cut", maps / "test_label")
    job = submit(cluster, tmp_path, "test-run.sbatch", "--array=0-2", "--cpus-per-task=1", env=env)
    run = tmp_path / "results" / "cut" / "test_latest"
    record = run / "shards" / "shard-0001-of-0003.json"
    end = time.monotonic() + 120
    while not (record.exists() and json.loads(record.read_text())["done"]):
        assert time.monotonic() < end, "shard 1 made nothing in 2 minutes"
        time.sleep(0.2)
    cluster.run("scancel", f"{job}_1")
    wait_for_queue(cluster, job)
    # Done means recorded with its image on disk; an image whose record had
    # not been saved yet when the task died is made again (by design).
    recorded = json.loads(record.read_text())["done"]
    assert 0 < len(recorded) < 20, "cancelled mid-shard"
    made = {p: p.stat().st_mtime_ns for p in (run / "images").rglob("*.png") if p.stem in recorded}
    assert made
    again = submit(cluster, tmp_path / "again", "test-run.sbatch", "--array=1", "--cpus-per-task=1",
                   env={**env, "EASEL_SHARDS": "3"})
    wait_for_queue(cluster, again)
    text = "".join(outputs(tmp_path / "again", again).values())
    assert "shard 1/3" in text, text
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["state"] == "complete" and len(manifest["done"]) == 60, text
    for path, mtime in made.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} made again"
    assert not [p for p in run.rglob(".*.tmp")], "no half-written file left"
    stems = set(manifest["stems"])
    synthesized = {p.stem for p in (run / "images" / "synthesized_image").glob("*.png")}
    assert synthesized == stems


def test_bad_submissions_fail_with_a_message_in_the_tasks_output(cluster, maps, tmp_path):
    env = run_env(tmp_path / "results", "bad", maps)
    cases = {
        "outside": (["--array=3"], env, "array index 3 is outside the run's 1 shard(s)"),
        "no model": (["--array=0"], {**env, "EASEL_MODEL": str(tmp_path / "nowhere")},
                     "no model package at"),
        "unwritable": (["--array=0"], {**env, "EASEL_RESULTS_DIR": "/proc/easel-results"},
                       "cannot write the run folder"),
        "compute left to each node": (["--array=0"], {**env, "EASEL_COMPUTE": "auto"},
                                      "EASEL_COMPUTE must be fp32 or bf16"),
    }
    for case, (args, case_env, says) in cases.items():
        job = submit(cluster, tmp_path / case.replace(" ", "-"), "test-run.sbatch", *args, env=case_env)
        wait_for_queue(cluster, job)
        text = "".join(outputs(tmp_path / case.replace(" ", "-"), job).values())
        assert says in text, (case, text)
    # A run split into 3 refuses a task that says 4.
    job = submit(cluster, tmp_path / "three", "test-run.sbatch", "--array=0-2", "--cpus-per-task=1", env=env)
    wait_for_queue(cluster, job)
    job = submit(cluster, tmp_path / "four", "test-run.sbatch", "--array=1",
                 env={**env, "EASEL_SHARDS": "4"})
    wait_for_queue(cluster, job)
    text = "".join(outputs(tmp_path / "four", job).values())
    assert "is split into 3 shards" in text and "set EASEL_SHARDS=3" in text, text
    # Mixed compute: with shard 1's record saying bf16 on OpenVINO (as if
    # it had run on such a node), the task for shard 2, computing fp32 (the
    # script's default), is refused by easel and changes no file.
    run = tmp_path / "results" / "bad" / "test_latest"
    record = run / "shards" / "shard-0001-of-0003.json"
    data = json.loads(record.read_text())
    assert (data["compute"], data["provider"]) == ("fp32", "onnxruntime"), data
    record.write_text(json.dumps({**data, "compute": "bf16", "provider": "openvino"}))
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p != record}
    job = submit(cluster, tmp_path / "mixed", "test-run.sbatch", "--array=2",
                 env={**env, "EASEL_SHARDS": "3"})
    wait_for_queue(cluster, job)
    text = "".join(outputs(tmp_path / "mixed", job).values())
    assert "is made in bf16 on openvino and this process computes fp32 on onnxruntime" in text, text
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p != record} == before


def test_a_signalled_training_saves_requeues_and_resumes_where_it_stopped(cluster, tmp_path):
    from conftest import TINY, write_dataset

    d = write_dataset(tmp_path / "data", pairs=8)
    args = ["--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck"), "--label_dir", d["label"],
            "--image_dir", d["image"], *TINY, "--no_instance", "--niter", "6", "--print_freq", "2",
            "--nThreads", "0"]
    env = {"EASEL_PYTHON": sys.executable, "EASEL_REPO": str(REPO)}
    job = submit(cluster, tmp_path, "train.sbatch", "--nodes=1", "--ntasks-per-node=2", env=env,
                 script_args=args)
    out = tmp_path / f"easel-train-{job}.out"
    end = time.monotonic() + 240
    while not (out.exists() and "(epoch: 2," in out.read_text()):
        assert time.monotonic() < end, out.read_text() if out.exists() else "no output"
        time.sleep(0.5)
    cluster.run("scancel", "--signal=USR1", "--batch", job)
    # A requeued job waits out its credential's lifetime before it starts
    # again (cred_expire: 120 s by default, 30 s on the test cluster). A
    # start forced sooner is refused by slurmd ("Job credential revoked")
    # and the job fails for good, so the test waits as a cluster's users do.
    end = time.monotonic() + 120
    while "requeueing job" not in out.read_text():
        assert time.monotonic() < end, out.read_text()
        time.sleep(0.5)
    # Follow the job's output, not the queue: squeue can briefly list
    # nothing while a requeued job changes state.
    end = time.monotonic() + 240
    while "training finished" not in out.read_text():
        ended = job_state(cluster, job) in ("FAILED", "CANCELLED", "COMPLETED", "TIMEOUT")
        if ended and "training finished" in out.read_text():
            break
        assert not ended and time.monotonic() < end, \
            out.read_text()[-3000:] + "\n" + cluster.state(job)
        time.sleep(1)
    wait_for_queue(cluster, job, timeout=120)
    text = out.read_text()
    assert "2 process(es) on cpu" in text
    stopped = [line for line in text.splitlines() if line.startswith("stopped on the stop file")]
    assert len(stopped) == 1, text
    saved_at = stopped[0].split("saved latest (")[1].split(")")[0]  # "epoch E, images I"
    assert "requeueing job" in text and "(start 2)" in text, text
    assert f"resuming from latest: {saved_at.replace('images', 'after')} images" in text, text
    assert text.rstrip().endswith("training finished"), text[-2000:]
    assert not (tmp_path / "ck" / "tiny" / "STOP").exists()
