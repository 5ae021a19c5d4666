"""Times every candidate configuration of kernels::bmm, one by one, next to torch.bmm on the suite
shapes: the view the autotuner acts on, for comparing tile configurations and kernel engines.

    python benchmarks/bench_bmm_configs.py [--shapes kb3 qkT ...] [--modes tf32 fp32] [--reps 30]

Same timing as bench_bmm.py (CUDA events, L2 flushed, median). fp32 rows also report KernelBench's
allclose(atol=rtol=1e-4) against torch.bmm on randn inputs (the bar of the fp32-accurate mode).
"""

import argparse

import torch

import tilekernels
from tilekernels.benchmarking.runner import BMM_MODES, bmm_operands, matmul_precision, relative_error
from tilekernels.benchmarking.suites import BMM_SUITE
from tilekernels.benchmarking.timing import time_ms

DEVICE = torch.device("cuda")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=list(BMM_SUITE))
    parser.add_argument("--modes", nargs="+", default=["tf32", "fp32"], choices=list(BMM_MODES))
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    names = {c["id"]: c["name"] for c in tilekernels.tile_configs("bmm")}
    print(f"{'shape':8} {'mode':5} {'implementation':34} {'ms':>8} {'x torch':>8} {'relerr':>9} {'kb 1e-4':>8}")
    for shape_name in args.shapes:
        shape = BMM_SUITE[shape_name]
        for mode in args.modes:
            dtype, precision = BMM_MODES[mode]
            a, b = bmm_operands(shape, dtype, DEVICE)
            reference = torch.bmm(a.double(), b.double())
            with matmul_precision(precision):
                torch_ms = time_ms(lambda: torch.bmm(a, b), DEVICE, reps=args.reps)["median_ms"]
                print(f"{shape_name:8} {mode:5} {'torch.bmm':34} {torch_ms:8.3f} {1.0:8.2f} "
                      f"{relative_error(torch.bmm(a, b), reference):9.1e}")
                plan = tilekernels.explain("bmm", a, b, precision=precision)
                for config in plan["candidates"]:
                    run = lambda: torch.ops.kernels._bmm_with_config(a, b, config, precision=precision)  # noqa: E731
                    ms = time_ms(run, DEVICE, reps=args.reps)["median_ms"]
                    kernelbench = ""
                    if mode == "fp32":
                        an, bn = bmm_operands(shape, dtype, DEVICE, torch.randn)
                        ours = torch.ops.kernels._bmm_with_config(an, bn, config, precision=precision)
                        kernelbench = "pass" if torch.allclose(ours, torch.bmm(an, bn), atol=1e-4, rtol=1e-4) else "FAIL"
                        del an, bn, ours
                    chosen = "*" if config == plan["config"] else " "
                    print(f"{shape_name:8} {mode:5} {chosen}{names[config]:33} {ms:8.3f} {torch_ms / ms:8.2f} "
                          f"{relative_error(run(), reference):9.1e} {kernelbench:>8}")
            del a, b, reference


if __name__ == "__main__":
    main()
