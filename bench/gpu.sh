#!/usr/bin/env bash
# GPU timings for issue 16, on the lent GPU machine, offline, in under 8
# minutes: the reference generators (full-size COCO-Stuff SPADE, random
# weights; the default model's OASIS from training/resume) in PyTorch on CUDA,
# easel's exported graphs of the same models run with PyTorch ops on CUDA
# (bench/onnx_torch.py), each as eager fp32 / bf16, CUDA graphs and
# torch.compile at batch 1, 8, 32; and the easel binary on the machine's CPU
# cores. Results: $OUT/results.jsonl, $OUT/results.md, $OUT/env.txt, $OUT/log.txt.
#
#   bench/gpu.sh prepare                    # here, once: compress ONNX Runtime 1.22 to carry
#   bench/gpu.sh                            # there (docs/benchmarks.md, GPU, has the device call)
#   DEVICE=cpu PY=.venv-train/bin/python bench/gpu.sh   # dry run of every step on the CPU
#
# Needs python3 with PyTorch and onnx (the machine has both; onnxruntime only
# for the interpreter's check), target/easel-synth (`make gpu-bundle`), and for
# `easel bench` an ONNX Runtime 1.22.x library: the machine's wheel is 1.30,
# which easel refuses, so `prepare` packs the project's 1.22.1 (5.5 MB xz).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
EASEL=${EASEL:-target/easel-synth}
WORK=${WORK:-/tmp/easel-gpu-bench}
CARRY=target/gpu-carry
ORT_XZ=$CARRY/libonnxruntime.so.1.22.1.xz
start=$(date +%s)

if [ "${1:-}" = prepare ]; then
  [ -x target/easel-synth ] || { echo "target/easel-synth is missing: run 'make gpu-bundle' first" >&2; exit 1; }
  lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.22.* | head -1)
  mkdir -p "$CARRY"
  xz -T1 -c "$lib" >"$ORT_XZ"
  ls -l target/easel-synth "$ORT_XZ"
  echo "carry: [\"target/easel-synth\", \"$CARRY\"]"
  exit 0
fi

if [ "$DEVICE" = cpu ]; then
  # Dry run: every step, batch 1, small sizes, one thread, a short budget.
  BATCH=1; ITERS=2; WARMUP=1; NGF=${NGF:-16}; SIZE=${SIZE:-64}; THREADS=${THREADS:-1}
  BUDGET_S=${BUDGET_S:-200}; EASEL_BATCH=1; EASEL_ITERS=1
else
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 2)'; then
    echo "gpu.sh: PyTorch ($PY) sees no CUDA GPU; for a dry run on the CPU: DEVICE=cpu" >&2
    exit 2
  fi
  BATCH="1 8 32"; ITERS=20; WARMUP=3; NGF=64; SIZE=256; THREADS=${THREADS:-$(nproc)}
  BUDGET_S=${BUDGET_S:-450}; EASEL_BATCH="1 8"; EASEL_ITERS=3
fi
"$PY" -c 'import onnx' 2>/dev/null || { echo "gpu.sh: $PY has no 'onnx' package (bench/onnx_torch.py reads graphs with it)" >&2; exit 2; }
[ -x "$EASEL" ] || { echo "gpu.sh: $EASEL is missing: 'make gpu-bundle' here and carry it, or set EASEL" >&2; exit 2; }

if [ -z "${OUT:-}" ]; then
  OUT=$(mktemp -d)
fi
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/log.txt") 2>&1
echo "# gpu.sh: DEVICE=$DEVICE OUT=$OUT budget ${BUDGET_S}s"

# What the machine offers, for the notes (ONNX Runtime's providers, CUDA libraries).
{
  nvidia-smi -L 2>/dev/null || echo "nvidia-smi: none"
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  "$PY" - <<'EOF'
import importlib.metadata as md, torch
print("python torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
for name in ("onnx", "onnxruntime", "onnxruntime-gpu", "tensorrt", "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime"):
    try:
        print("package", name, md.version(name))
    except md.PackageNotFoundError:
        print("package", name, "absent")
try:
    import onnxruntime
    print("onnxruntime providers", onnxruntime.get_available_providers())
except ImportError:
    pass
EOF
  echo "libraries: $(ldconfig -p 2>/dev/null | grep -oE 'lib(cudart|cudnn|nvinfer)\.so\.[0-9]+' | sort -u | xargs)"
  echo "cuda folders: $(ls -d /usr/local/cuda* 2>/dev/null | xargs)"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# ONNX Runtime 1.22 for easel: given, carried (xz), or the project's .venv.
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  if [ -f "$ORT_XZ" ]; then
    ORT_DYLIB_PATH=$WORK/libonnxruntime.so.1.22.1
    "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$ORT_XZ" "$ORT_DYLIB_PATH"
  else
    ORT_DYLIB_PATH=$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.22.* 2>/dev/null | head -1 || true)
  fi
fi
export ORT_DYLIB_PATH

# The full-size COCO-Stuff SPADE generator with random weights, and easel's package of it.
step() { echo "# [$(($(date +%s) - start))s] $*"; }
if [ ! -f "$WORK/coco_random/opt.txt" ]; then
  step "random COCO-Stuff SPADE weights (ngf $NGF, ${SIZE}²)"
  "$PY" bench/gpu_bench.py save-coco "$WORK/coco_random" --ngf "$NGF" --size "$SIZE"
fi
[ -f "$WORK/coco_pkg/model.json" ] || "$EASEL" import "$WORK/coco_random" --out "$WORK/coco_pkg"

step "interpreter against ONNX Runtime (CPU), default model"
"$PY" bench/onnx_torch.py models/landscapes/generator.onnx --size 64 --device "$DEVICE" | tee -a "$OUT/results.jsonl"

if [ -n "$ORT_DYLIB_PATH" ]; then
  for model in models/landscapes "$WORK/coco_pkg"; do
    step "easel bench $model on $THREADS CPU threads"
    "$EASEL" bench --model "$model" --batch $EASEL_BATCH --iters "$EASEL_ITERS" --threads "$THREADS" \
      | tee -a "$OUT/results.jsonl" || echo "easel bench $model failed"
  done
else
  echo "# no ONNX Runtime 1.22 library (run 'bench/gpu.sh prepare' here and carry $CARRY): easel bench skipped"
fi

deadline=$((start + BUDGET_S - 15))
step "PyTorch and the exported graphs on $DEVICE (new compiles stop $((deadline - $(date +%s)))s from now)"
opts=(); [ "$DEVICE" = cpu ] && opts=(--threads "$THREADS")
[ -n "${VARIANTS:-}" ] && opts+=(--variants $VARIANTS)
TORCHINDUCTOR_COMPILE_THREADS=${TORCHINDUCTOR_COMPILE_THREADS:-$THREADS} PYTHONUNBUFFERED=1 \
  timeout $((deadline - $(date +%s) + 10)) "$PY" bench/gpu_bench.py run --device "$DEVICE" \
  --coco-checkpoint "$WORK/coco_random" --coco-package "$WORK/coco_pkg" --coco-size "$SIZE" \
  --landscapes-size "$SIZE" --batch $BATCH --iters "$ITERS" --warmup "$WARMUP" \
  --deadline "$deadline" "${opts[@]}" --out "$OUT/results.jsonl" \
  || echo "# gpu_bench.py stopped (exit $?); the rows before that are kept"

"$PY" bench/gpu_bench.py table "$OUT/results.jsonl" | tee "$OUT/results.md"
step "done: $OUT"
