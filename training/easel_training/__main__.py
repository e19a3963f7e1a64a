"""`python -m easel_training train|segmenter|evaluate ...`"""

from __future__ import annotations

import argparse
import sys

from . import options, segmenter, summary, trainer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m easel_training",
        description="Train SPADE (GauGAN), or OASIS's generator with --netG oasis, on a folder "
                    "of label maps and photos; checkpoints land in <checkpoints_dir>/<name>/ in "
                    "the reference's layout, ready for `easel import`. Then score generated "
                    "images with a small segmenter.")
    sub = p.add_subparsers(dest="command", required=True)
    train = sub.add_parser(
        "train", help="train a generator (the reference's flags, custom dataset mode)",
        description="Train SPADE, or OASIS's generator with --netG oasis. Under torchrun "
                    "(WORLD_SIZE > 1) every process takes its share of --batchSize with "
                    "DistributedDataParallel; only rank 0 writes.")
    options.add_train_arguments(train)
    seg = sub.add_parser(
        "segmenter", help="train a small segmentation network on real photos (for evaluate)",
        description="Train a compact U-Net to segment the real training photos into their "
                    "label maps, on random crops; the scorer for `evaluate`.")
    segmenter.add_segmenter_arguments(seg)
    ev = sub.add_parser(
        "evaluate", help="score real and generated images with a trained segmenter (JSON)",
        description="Segment real test photos and/or generated images and compare with the "
                    "label maps they belong to: pixel accuracy and mIoU, printed as JSON.")
    segmenter.add_evaluate_arguments(ev)
    summ = sub.add_parser(
        "summary", help="training.json for the model card: data, schedule, images seen, time",
        description="Print what a run in <checkpoints_dir>/<name>/ was trained on and for how "
                    "long, as JSON; save it as training.json there and `easel import` puts it "
                    "in the model card.")
    summ.add_argument("checkpoint", help="the run's folder, e.g. checkpoints/landscapes")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            trainer.train(options.finalize(args))
        elif args.command == "summary":
            summary.main(args.checkpoint)
        elif args.command == "segmenter":
            segmenter.path_checks(args)
            segmenter.train_segmenter(args)
        else:
            segmenter.path_checks(args)
            segmenter.print_json(segmenter.evaluate(args))
    except (ValueError, OSError) as e:  # bad flags or files: the message says which
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
