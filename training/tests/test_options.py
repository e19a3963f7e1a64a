"""Flags, their refusals, and opt.txt in the reference's format."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import PACKAGE_ROOT, SPADE_FIXTURES, train_opt
from easel_training import checkpoints, options
from easel_training.__main__ import build_parser


def test_vgg_loss_without_weights_is_refused_with_both_ways_out(dataset, tmp_path):
    argv = ["train", "--label_dir", dataset["label"], "--image_dir", dataset["image"],
            "--no_instance"]
    with pytest.raises(options.OptionError) as e:
        options.finalize(build_parser().parse_args(argv))
    assert "--no_vgg_loss" in str(e.value) and "--vgg_weights" in str(e.value)


def test_the_command_line_reports_refusals_in_one_line(dataset):
    cmd = [sys.executable, "-m", "easel_training", "train", "--label_dir", dataset["label"],
           "--image_dir", dataset["image"]]
    run = subprocess.run(cmd, cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.startswith("error: --instance_dir is required unless --no_instance")


@pytest.mark.parametrize("extra, message", [
    (["--use_vae", "--crop_size", "128"], "--crop_size 128 with --use_vae"),
    (["--use_vae", "--crop_size", "256", "--z_dim", "64"], "--z_dim 64 with --use_vae"),
    (["--norm_G", "spadegroup3x3"], "unsupported norm_G"),
    (["--label_nc", "255", "--contain_dontcare_label"], "--label_nc 255"),
    (["--crop_size", "16"], "leave no latent grid"),
])
def test_impossible_flags_are_refused_naming_the_flag(extra, message, dataset, tmp_path):
    with pytest.raises(options.OptionError, match=message):
        train_opt(dataset, tmp_path, *extra)


def test_parser_defaults_are_the_references(dataset, tmp_path):
    parsed = vars(build_parser().parse_args(["train"]))
    by_family = {"norm_G", "z_dim"}  # None until finalize knows the family
    shared = (set(parsed) & set(options.REFERENCE_DEFAULTS)) - by_family
    assert len(shared) > 40
    assert {k: parsed[k] for k in shared} == {k: options.REFERENCE_DEFAULTS[k] for k in shared}
    assert all(parsed[k] is None for k in by_family)
    spade = train_opt(dataset, tmp_path)
    assert {k: getattr(spade, k) for k in by_family} == {
        k: options.REFERENCE_DEFAULTS[k] for k in by_family}


def test_opt_txt_aligns_keys_marks_non_defaults_and_parses_back(dataset, tmp_path):
    opt = train_opt(dataset, tmp_path)
    path = str(tmp_path / "opt.txt")
    checkpoints.save_opt(opt, path)
    lines = open(path).read().splitlines()
    assert all(line.index(":") == 25 for line in lines)
    keys = [line[:25].strip() for line in lines]
    assert keys == sorted(keys)
    by_key = dict(zip(keys, lines))
    assert by_key["ngf"].endswith("\t[default: 64]")
    assert by_key["spade_hidden"].endswith("\t[default: 128]")
    assert by_key["dataset_mode"].endswith("\t[default: coco]")
    assert "[default" not in by_key["lr"]
    back = options.load_opt(path)
    for key, value in vars(opt).items():
        assert str(getattr(back, key)) == str(value), key  # gpu_ids "-1" reads back as -1


def test_opt_txt_is_byte_identical_to_a_reference_one_after_a_round_trip():
    path = os.path.join(SPADE_FIXTURES, "city35_tiny", "checkpoint", "opt.txt")
    if not os.path.isfile(path):
        pytest.skip(f"reference fixtures not found at {SPADE_FIXTURES} (set SPADE_FIXTURES)")
    text = open(path).read()
    assert options.format_opt(options.parse_opt(text)) == text


def test_which_epoch_must_be_latest_or_a_number(dataset, tmp_path):
    with pytest.raises(options.OptionError, match="--which_epoch best"):
        train_opt(dataset, tmp_path, "--which_epoch", "best")
