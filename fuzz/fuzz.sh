#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with cargo-fuzz (libFuzzer): label-map and
# instance-map PNG decoding (fuzz target label_map), PyTorch checkpoint reading and its
# pickle machine (checkpoint), opt.txt parsing (opt_txt) and TensorFlow Lite model
# reading (tflite), each for a bounded time, one after the other.
#
#   fuzz/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60, every target)
#
# Exits non-zero if any target crashed (a panic, an out-of-bounds access caught by the
# address sanitizer, a timeout or running out of memory) and prints the crashing input's
# path and how to reproduce and minimise it. Seeds are fuzz/seeds/<target> (committed,
# written by fuzz/make_seeds.py); what libFuzzer finds goes to fuzz/corpus/<target>
# (ignored), so later runs start from there. The tflite target's seed is the shared
# DeepLabV3 segmenter (../shared/fixtures/segmenters, or $EASEL_SHARED_DIR/fixtures/…),
# too large to commit twice. Logs: fuzz/artifacts/<target>.log.
#
# cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer=address, the SanitizerCoverage
# options). This runs on the stable toolchain with RUSTC_BOOTSTRAP=1, which lets stable
# rustc accept them; the address sanitizer works that way too (FUZZ_SANITIZER=none turns
# it off, for a faster run that catches panics only). It installs cargo-fuzz
# (`cargo install cargo-fuzz --locked`) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(label_map checkpoint opt_txt tflite)
SANITIZER=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

# Longest input per target: label maps and checkpoint pickles of real models fit with
# room to spare (the seeds are at most 33 kB); opt.txt files are about 4 kB.
max_len() {
  case $1 in
    label_map) echo 65536 ;;
    checkpoint) echo 65536 ;;
    opt_txt) echo 16384 ;;
    # The segmenter is 2.4 MB; its tables sit at the start and point far ahead.
    tflite) echo 4194304 ;;
    *) echo "unknown fuzz target $1 (label_map, checkpoint, opt_txt, tflite)" >&2; exit 2 ;;
  esac
}

cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ${SECONDS_PER_TARGET}s per target, sanitizer $SANITIZER" >&2

failed=()
for target in "${TARGETS[@]}"; do
  len=$(max_len "$target")
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log=fuzz/artifacts/$target.log
  marker=$(mktemp)
  echo "## $target: ${SECONDS_PER_TARGET}s, max_len $len, log $log" >&2
  # The first corpus folder receives new inputs; the seeds are only read.
  set +e
  seeds=fuzz/seeds/$target
  if [ "$target" = tflite ]; then
    seeds=${EASEL_SHARED_DIR:-../shared}/fixtures/segmenters/ade20k_deeplabv3_mnv2
  fi
  cargo fuzz run --sanitizer "$SANITIZER" "$target" "fuzz/corpus/$target" "$seeds" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len="$len" -timeout=10 \
    -print_final_stats=1 2>&1 | tee "$log" |
    grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done|^stat::|ERROR|panicked|^SUMMARY|Test unit written' >&2
  run_status=${PIPESTATUS[0]}
  set -e
  crashes=$(find "fuzz/artifacts/$target" -type f -newer "$marker" | sort)
  rm -f "$marker"
  if [ "$run_status" != 0 ] || [ -n "$crashes" ]; then
    failed+=("$target")
    echo "!! $target crashed (exit status $run_status); see $log" >&2
    for file in $crashes; do
      echo "!! crashing input: $file" >&2
      echo "   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $SANITIZER $target $file" >&2
      echo "   minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --sanitizer $SANITIZER $target $file" >&2
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "no crashes in ${TARGETS[*]} (${SECONDS_PER_TARGET}s each)" >&2
