#!/usr/bin/env bash
# Every CUDA source through nvcc's front end in C++17, the standard torch < 2.12 builds extensions in
# (torch >= 2.12 uses C++20, so a build against today's torch does not see C++17 errors). Front end only
# (`nvcc -cuda`): constant evaluation of the tile tables and template instantiation, in seconds a file.
#   scripts/check_cxx17.sh [NVCC]
set -euo pipefail
cd "$(dirname "$0")/.."
nvcc=${1:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export nvcc scratch
find csrc -name '*.cu' | sort | xargs -P "${MAX_JOBS:-2}" -I{} sh -c '
  out="$scratch/$(echo {} | tr / _).ii"
  "$nvcc" -std=c++17 -gencode=arch=compute_90a,code=sm_90a -DTILEKERNELS_WITH_SM90A -DTILEKERNELS_WITH_CUDA \
    --expt-relaxed-constexpr -Icsrc -cuda {} -o "$out" || { echo "C++17: {} failed" >&2; exit 255; }'
echo "C++17 front end: $(find csrc -name '*.cu' | wc -l) CUDA sources pass"
