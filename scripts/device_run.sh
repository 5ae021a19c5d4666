#!/usr/bin/env bash
# One call on the GPU machine: (optionally build,) test, sanitize, tune, benchmark; logs land in $OUT.
# Tuning runs before benchmarking, so the benchmarks use the configurations it just picked.
#   scripts/device_run.sh [build] [test] [quicktest] [sanitize] [tune] [bench] [configs] [pack]
# `configs` times every candidate configuration: bmm on the large TF32 / fp32 shapes
# (bench_bmm_configs.py), attention on kb97 / d128 fp32 and d256 fp16 (bench_attention_configs.py).
# `pack` leaves a single results.tgz in $OUT (for transports that return only a few files).
# Without `build` it uses the extension carried in python/tilekernels (built elsewhere against torch's
# stable ABI, so one binary loads under the machine's torch).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tilekernels-out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export TILEKERNELS_CACHE_DIR="$OUT/cache"
steps=" $* "
status=0
run() { echo "== $*"; "$@" || { echo "!! failed ($?): $*"; status=1; }; }

if [[ $steps == *" build "* ]]; then
  export MAX_JOBS=$(nproc) TILEKERNELS_CUDA_ARCHS=${TILEKERNELS_CUDA_ARCHS:-90a}
  run python3 setup.py build_ext --inplace 2>&1 | tail -n 30 | tee "$OUT/build.log"
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv | tee "$OUT/gpu.txt"
run python3 -m tilekernels info 2>&1 | tee "$OUT/info.txt"

if [[ $steps == *" test "* ]]; then
  run python3 -m pytest tests -q --maxfail=40 -p no:cacheprovider --durations=15 2>&1 | tee "$OUT/tests.log" | tail -n 40
fi
if [[ $steps == *" quicktest "* ]]; then
  run python3 -m pytest tests -q -p no:cacheprovider -m cuda -k "not compile and not 2_31" 2>&1 | tee "$OUT/tests.log" | tail -n 40
fi
if [[ $steps == *" sanitize "* ]]; then
  run compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/sanitize_cases.py 2>&1 | tail -n 25 | tee "$OUT/sanitize.log"
fi
if [[ $steps == *" tune "* ]]; then
  run python3 -m tilekernels tune --output "$OUT/tuned.json" 2>&1 | tail -n 60 | tee "$OUT/tune.log"
fi
if [[ $steps == *" bench "* ]]; then
  baselines=()
  [[ -d .carry/baselines ]] && baselines=(--baselines .carry/baselines)
  run python3 benchmarks/bench_bmm.py "${baselines[@]}" --json "$OUT/bench_bmm.json" --plot "$OUT/bench.png" 2>&1 | tee "$OUT/bench_bmm.txt"
  run python3 benchmarks/bench_attention.py "${baselines[@]}" --json "$OUT/bench_attention.json" --plot "$OUT/bench.png" 2>&1 | tee "$OUT/bench_attention.txt"
fi
if [[ $steps == *" configs "* ]]; then
  run python3 benchmarks/bench_bmm_configs.py --shapes kb3 sq4k --modes tf32 fp32 2>&1 | tee "$OUT/bench_bmm_configs.txt"
  run python3 benchmarks/bench_attention_configs.py --shapes kb97 d128 --modes fp32 --reps 10 2>&1 | tee "$OUT/bench_attention_configs.txt"
  run python3 benchmarks/bench_attention_configs.py --shapes d256 --modes fp16 bf16 2>&1 | tee -a "$OUT/bench_attention_configs.txt"
fi
if [[ $steps == *" pack "* ]]; then
  tar czf /tmp/tilekernels-results.tgz -C "$OUT" . && rm -rf "${OUT:?}"/* && mv /tmp/tilekernels-results.tgz "$OUT/results.tgz"
fi
exit $status
