"""Times every candidate configuration of kernels::attention, one by one, next to torch SDPA on the
suite shapes: the view the autotuner acts on, for comparing tile configurations.

    python benchmarks/bench_attention_configs.py [--shapes d256 kb97 ...] [--modes fp16 fp32] [--reps 30]

Same timing as bench_attention.py (CUDA events, L2 flushed, median; torch.rand inputs); relerr against
a float64 reference on the first batch and two heads. fp32 rows also report KernelBench's
allclose(atol=rtol=1e-4) against SDPA on those heads.
"""

import argparse

import torch

import tilekernels
from tilekernels.benchmarking.runner import (ATTENTION_MODES, attention_operands, attention_reference, matmul_precision,
                                             relative_error, sdpa)
from tilekernels.benchmarking.suites import ATTENTION_SUITE
from tilekernels.benchmarking.timing import time_ms

DEVICE = torch.device("cuda")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=list(ATTENTION_SUITE))
    parser.add_argument("--modes", nargs="+", default=["fp16", "bf16"], choices=list(ATTENTION_MODES))
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    names = {c["id"]: c["name"] for c in tilekernels.tile_configs("attention")}
    print(f"{'shape':9} {'mode':5} {'implementation':34} {'ms':>8} {'x torch':>8} {'relerr':>9} {'kb 1e-4':>8}")
    for shape_name in args.shapes:
        shape = ATTENTION_SUITE[shape_name]
        for mode in args.modes:
            dtype, precision = ATTENTION_MODES[mode]
            q, k, v = attention_operands(shape, dtype, DEVICE)
            reference = attention_reference(q, k, v, shape.causal)
            with matmul_precision(precision):
                torch_run = lambda: sdpa(q, k, v, shape.causal)  # noqa: E731
                torch_ms = time_ms(torch_run, DEVICE, reps=args.reps)["median_ms"]
                theirs = torch_run()[:1, :2]
                print(f"{shape_name:9} {mode:5} {'sdpa default':34} {torch_ms:8.3f} {1.0:8.2f} "
                      f"{relative_error(theirs, reference):9.1e}")
                plan = tilekernels.explain("attention", q, k, v, is_causal=shape.causal)
                for config in plan["candidates"]:
                    run = lambda: torch.ops.kernels._attention_with_config(q, k, v, config, is_causal=shape.causal)[0]  # noqa: E731
                    ms = time_ms(run, DEVICE, reps=args.reps)["median_ms"]
                    ours = run()[:1, :2]
                    kernelbench = ""
                    if mode == "fp32":
                        kernelbench = "pass" if torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4) else "FAIL"
                    chosen = "*" if config == plan["config"] else " "
                    print(f"{shape_name:9} {mode:5} {chosen}{names[config]:33} {ms:8.3f} {torch_ms / ms:8.2f} "
                          f"{relative_error(ours, reference):9.1e} {kernelbench:>8}")
            del q, k, v, reference


if __name__ == "__main__":
    main()
