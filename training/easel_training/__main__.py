"""`python -m easel_training train|segmenter|evaluate ...`"""

from __future__ import annotations

import argparse
import sys

from . import (compact, distill, layouts, light, options, photo_head, recalibrate, segmenter,
               slurm, summary, trainer)


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
    pk = sub.add_parser(
        "pack", help="a run's latest weights in bfloat16, small enough to commit",
        description="Write the latest G, D and E weights of a run in bfloat16 with its opt.txt "
                    "and iter.txt into one folder (no optimizer state).")
    pk.add_argument("run", help="the run's folder, e.g. checkpoints/landscapes_v2")
    pk.add_argument("out", help="the folder to write, e.g. training/resume/landscapes_v2")
    up = sub.add_parser(
        "unpack", help="a packed run back into a run folder to --continue_train from",
        description="Write latest_net_{G,D,E}.pth (float32), opt.txt and iter.txt from a "
                    "packed folder; training resumes with fresh optimizer state.")
    up.add_argument("packed", help="the packed folder")
    up.add_argument("run", help="the run folder to write, e.g. checkpoints/landscapes_v2")
    lt = sub.add_parser(
        "light", help="train the light classifier (noon, golden-hour, overcast, dawn)",
        description="Train a small classifier of a photo's light on a synthetic dataset's "
                    "photos and its scenes.tsv; prints the test split's accuracy.")
    lt.add_argument("dataset", help="a folder `easel dataset synth` wrote")
    lt.add_argument("--out", required=True, help="where to write the classifier (.pth)")
    lt.add_argument("--epochs", type=int, default=6)
    lt.add_argument("--max_images", type=int, default=3000)
    rc = sub.add_parser(
        "recalibrate", help="batch-norm statistics recomputed at the serving size, before import",
        description="Replace the run's generator's batch-norm running statistics with the "
                    "average over full frames at SIZE (no weight changes), in place: do it "
                    "after training at a smaller size than the model serves.")
    rc.add_argument("run", help="the run's folder, e.g. checkpoints/landscapes_v2")
    rc.add_argument("--label_dir", required=True)
    rc.add_argument("--image_dir", required=True)
    rc.add_argument("--size", type=int, required=True, help="the serving size, e.g. 256")
    rc.add_argument("--images", type=int, default=recalibrate.DEFAULT_IMAGES)
    rc.add_argument("--which_epoch", default="latest")
    lj = sub.add_parser(
        "light-share", help="the share of a folder's images the light classifier calls LIGHT",
        description="Judge generated images: the share that the light classifier labels LIGHT.")
    lj.add_argument("--classifier", required=True)
    lj.add_argument("folder")
    lj.add_argument("light", choices=light.LIGHTS)
    ph = sub.add_parser(
        "photo-head", help="a head for a real-photo segmenter, trained on its class scores",
        description="Train a linear head over a photo segmenter's class scores on the "
                    "renderer's scenes, keeping its mapped answers on real photos; `easel "
                    "attach-photo-segmenter --head` puts it in the package.")
    photo_head.add_arguments(ph)
    ly = sub.add_parser(
        "layouts", help="held-out maps laid out as painters and photographs lay them out",
        description="Write label maps for judging, never for training: painted maps (brush, "
                    "fill, full frames, blobs, tilted horizons, 2:1 and 3:2 canvases) from a "
                    "seed, or the shared COCO-Stuff photos' layouts in landscape classes.")
    layouts.add_arguments(ly)
    dc = sub.add_parser(
        "distill-cache", help="a teacher's images of the training maps, to distil a student",
        description="Run a trained generator (the teacher) once over a folder of label maps: "
                    "for each map a style z (a share of them from the paired photo through the "
                    "teacher's encoder, the rest N(0, 1)) as <stem>.npy and the teacher's "
                    "image with it as <stem>.png. Resumable. Then `train --teacher RUN "
                    "--distill_cache OUT` with the student's flags.")
    dc.add_argument("teacher", help="the teacher's run folder (recalibrated, as it is exported)")
    dc.add_argument("--label_dir", required=True)
    dc.add_argument("--image_dir", required=True, help="the maps' photos, paired by name")
    dc.add_argument("--out", required=True, help="the cache folder")
    dc.add_argument("--photo_share", type=float, default=0.5,
                    help="the share of maps whose z the encoder reads from their photo")
    dc.add_argument("--seed", type=int, default=0)
    dc.add_argument("--max_dataset_size", type=int, default=None)
    st = sub.add_parser(
        "slurm-torchrun", help="this node's torchrun of `train`, its rendezvous from SLURM_*",
        description="Run on every node of a SLURM job by `srun --ntasks-per-node=1` "
                    "(deploy/slurm/train.sbatch): starts torchrun with the first host of "
                    "SLURM_JOB_NODELIST as the rendezvous, SLURM_JOB_NUM_NODES nodes, "
                    "SLURM_NODEID as this node's rank and EASEL_PROCS_PER_NODE processes "
                    "(else SLURM_NTASKS_PER_NODE, else 1), then `train` with the flags given.")
    st.add_argument("train_args", nargs=argparse.REMAINDER,
                    help="the train flags, after --")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            trainer.train(options.finalize(args))
        elif args.command == "summary":
            summary.main(args.checkpoint)
        elif args.command == "light":
            light.train(args.dataset, args.out, args.epochs, args.max_images)
        elif args.command == "light-share":
            share = light.share_of(light.load(args.classifier), args.folder, args.light)
            print(f"{share:.3f}")
        elif args.command == "recalibrate":
            used = recalibrate.recalibrate(args.run, args.label_dir, args.image_dir, args.size,
                                           args.images, label=args.which_epoch)
            print(f"recalibrated the batch norms of {args.run} over {used} images at "
                  f"{args.size}×{args.size}")
        elif args.command == "photo-head":
            photo_head.train(args)
            print(f"wrote {args.out}")
        elif args.command == "pack":
            size = compact.pack(args.run, args.out)
            print(f"packed {args.run} into {args.out} ({size / 1e6:.1f} MB)")
        elif args.command == "unpack":
            compact.unpack(args.packed, args.run)
            print(f"unpacked {args.packed} into {args.run}: train with --continue_train")
        elif args.command == "slurm-torchrun":
            rest = args.train_args
            slurm.main(rest[1:] if rest[:1] == ["--"] else rest)
        elif args.command == "distill-cache":
            made, kept = distill.build_cache(args.teacher, args.label_dir, args.image_dir,
                                             args.out, photo_share=args.photo_share,
                                             seed=args.seed, limit=args.max_dataset_size)
            print(f"cached the teacher's images of {made} maps in {args.out} "
                  f"({kept} were there already)")
        elif args.command == "layouts":
            segmenter.print_json(layouts.main(args))
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
