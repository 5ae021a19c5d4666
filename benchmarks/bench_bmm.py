"""Benchmarks kernels::bmm against torch.bmm (cuBLAS) and, with --baselines DIR, the seed Triton kernel.

    python benchmarks/bench_bmm.py [--shapes kb3 sq4k ...] [--modes fp16 bf16 tf32 fp32]
                                   [--baselines DIR] [--json out.json] [--plot out.png] [--measure-ceilings]

The same as `python -m tilekernels bench --suite bmm`: median of many runs with the L2 flushed before
each (CUDA events), ratios against torch in the same run, relative error against a float64 reference,
and each shape's compute and memory floors.
"""

import sys

from tilekernels.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "--suite", "bmm", *sys.argv[1:]]))
