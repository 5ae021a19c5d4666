"""Benchmarks kernels::attention against torch SDPA (default and each backend) and, with --baselines
DIR, the seed Triton kernel.

    python benchmarks/bench_attention.py [--shapes kb97 d128 ...] [--modes fp16 bf16 fp32]
                                         [--baselines DIR] [--json out.json] [--plot out.png]

The same as `python -m tilekernels bench --suite attention`: median of many runs with the L2 flushed
before each (CUDA events), ratios against SDPA's default in the same run, relative error against a
float64 reference (first batch, two heads), and each shape's compute and memory floors.
"""

import sys

from tilekernels.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "--suite", "attention", *sys.argv[1:]]))
