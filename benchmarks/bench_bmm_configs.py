"""Times every candidate configuration of kernels::bmm, one by one, next to torch.bmm on the suite
shapes: the view the autotuner acts on, for comparing tile configurations and kernel engines.

    python benchmarks/bench_bmm_configs.py [--shapes kb3 qkT ...] [--modes tf32 fp32] [--reps 30]

Same timing as bench_bmm.py (CUDA events, L2 flushed, median). fp32 rows also report, on randn inputs,
how many elements miss KernelBench's allclose(atol=rtol=1e-4) against torch.bmm: ours / the exact
(float64, rounded) result's. With randn on large K even the exact result misses a few, so "as close
to torch as the exact result" is what the fp32-accurate mode can promise.
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
    print(f"{'shape':8} {'mode':5} {'implementation':52} {'ms':>8} {'x torch':>8} {'relerr':>9} {'kb misses':>12}")
    for shape_name in args.shapes:
        shape = BMM_SUITE[shape_name]
        for mode in args.modes:
            dtype, precision = BMM_MODES[mode]
            a, b = bmm_operands(shape, dtype, DEVICE)
            reference = torch.bmm(a.double(), b.double())
            if mode == "fp32":
                an, bn = bmm_operands(shape, dtype, DEVICE, torch.randn)
                with matmul_precision(precision):
                    torch_randn = torch.bmm(an, bn)
                misses = lambda x: int((~torch.isclose(x, torch_randn, atol=1e-4, rtol=1e-4)).sum())  # noqa: E731
                exact_misses = misses(torch.bmm(an.double(), bn.double()).float())
            with matmul_precision(precision):
                torch_ms = time_ms(lambda: torch.bmm(a, b), DEVICE, reps=args.reps)["median_ms"]
                print(f"{shape_name:8} {mode:5} {'torch.bmm':52} {torch_ms:8.3f} {1.0:8.2f} "
                      f"{relative_error(torch.bmm(a, b), reference):9.1e}")
                plan = tilekernels.explain("bmm", a, b, precision=precision)
                for config in plan["candidates"]:
                    run = lambda: torch.ops.kernels._bmm_with_config(a, b, config, precision=precision)  # noqa: E731
                    ms = time_ms(run, DEVICE, reps=args.reps)["median_ms"]
                    kernelbench = ""
                    if mode == "fp32":
                        ours = torch.ops.kernels._bmm_with_config(an, bn, config, precision=precision)
                        kernelbench = f"{misses(ours)} / {exact_misses}"
                        del ours
                    chosen = "*" if config == plan["config"] else " "
                    print(f"{shape_name:8} {mode:5} {chosen}{names[config]:51} {ms:8.3f} {torch_ms / ms:8.2f} "
                          f"{relative_error(run(), reference):9.1e} {kernelbench:>12}")
            del a, b, reference
            if mode == "fp32":
                del an, bn, torch_randn


if __name__ == "__main__":
    main()
