#!/usr/bin/env bash
# One call on the GPU machine: install, test, sanitize, tune, benchmark; logs land in $OUT.
#   scripts/device_run.sh [install | wheel] [test] [quicktest] [sanitize] [tune] [bench] [configs] [profile] [pack]
# install   builds from this checkout the way a user does: `pip install --no-build-isolation .` with the
#           machine's default compiler, against its torch, for its GPU.
# wheel     installs a wheel built elsewhere (dist/tilekernels-*.whl, carried with the call).
# Everything after imports the installed package, never the checkout's python/ folder.
# Tuning runs before benchmarking, so the benchmarks use the configurations it just picked.
# `configs` times every candidate configuration: bmm on the large TF32 / fp32 shapes
# (bench_bmm_configs.py), attention on kb97 / d128 fp32 and d256 fp16 (bench_attention_configs.py).
# `profile` runs `python -m tilekernels profile` under Nsight Compute (ncu): bmm kb3 fp16 against torch and
# every attention configuration for kb97, with JSON and roofline plots (ceilings: those `bench` measured).
# `pack` leaves a single results.tgz in $OUT (for transports that return only a few files).
# The script exits non-zero when any step fails; each step's whole output is in $OUT/<step>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tilekernels-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TILEKERNELS_CACHE_DIR="$OUT/cache"
steps=" $* "
failed=()

# step NAME COMMAND...: runs COMMAND, its output to the terminal and $OUT/NAME.log; records a failure.
step() {
  local name=$1
  shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    echo "!! $name failed (exit $rc)"
    failed+=("$name")
  fi
}
has() { [[ $steps == *" $1 "* ]]; }

if has install; then
  export MAX_JOBS=$(nproc)
  step install python3 -m pip install --no-build-isolation --no-deps --force-reinstall --no-cache-dir -v .
  grep -E "^tilekernels: |error" "$OUT/install.log" | tail -n 20
elif has wheel; then
  wheels=(dist/tilekernels-*.whl)
  step install python3 -m pip install --no-deps --force-reinstall --no-cache-dir "${wheels[@]}"
fi
if [[ " ${failed[*]} " == *" install "* ]]; then
  echo "FAILED steps: install"
  exit 1
fi
# Out of the checkout, so the installed package is what imports.
(cd /tmp && python3 -c "import tilekernels, sys; print('tilekernels from', tilekernels.__file__)")
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv | tee "$OUT/gpu.txt"
step info python3 -m tilekernels info

if has test; then
  step test python3 -m pytest tests -q --maxfail=40 -p no:cacheprovider --durations=15
fi
if has quicktest; then
  step quicktest python3 -m pytest tests -q -p no:cacheprovider -m cuda -k "not compile and not 2_31"
fi
if has sanitize; then
  step sanitize compute-sanitizer --tool memcheck --error-exitcode 9 python3 scripts/sanitize_cases.py
fi
if has tune; then
  step tune python3 -m tilekernels tune --output "$OUT/tuned.json"
fi
if has bench; then
  baselines=()
  [[ -d .carry/baselines ]] && baselines=(--baselines .carry/baselines)
  step bench_bmm python3 benchmarks/bench_bmm.py "${baselines[@]}" --measure-ceilings --json "$OUT/bench_bmm.json" --plot "$OUT/bench.png"
  step bench_attention python3 benchmarks/bench_attention.py "${baselines[@]}" --measure-ceilings --json "$OUT/bench_attention.json" --plot "$OUT/bench.png"
fi
if has configs; then
  step bench_bmm_configs python3 benchmarks/bench_bmm_configs.py --shapes kb3 sq4k --modes tf32 fp32
  step bench_attention_configs python3 benchmarks/bench_attention_configs.py --shapes kb97 d128 --modes fp32 --reps 10
  step bench_attention_configs_d256 python3 benchmarks/bench_attention_configs.py --shapes d256 --modes fp16 bf16
fi
if has profile; then
  step profile_bmm python3 -m tilekernels profile bmm kb3 --dtype fp16 --against torch \
    --json "$OUT/profile_bmm_kb3.json" --plot "$OUT/roofline_bmm_kb3.png"
  step profile_attention python3 -m tilekernels profile attention kb97 --config all --against torch \
    --json "$OUT/profile_attention_kb97.json" --plot "$OUT/roofline_attention_kb97.png"
fi
if has pack; then
  tar czf /tmp/tilekernels-results.tgz -C "$OUT" . && rm -rf "${OUT:?}"/* && mv /tmp/tilekernels-results.tgz "$OUT/results.tgz"
fi
if ((${#failed[@]})); then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all steps passed"
