"""How accurate each fp32 bmm path is at the KernelBench level1/3 size (128 x 512x1024 @ 1024x2048),
for input distributions beyond the problem's torch.rand: error against a float64 reference, and
KernelBench's check (allclose(atol=rtol=1e-4) against torch.bmm) with the number of elements it
fails. The exact (float64) result is checked the same way: where even it fails, the tolerance is
below torch's own rounding and no fp32 kernel can promise to pass. Each tilekernels row also gives its
time on those inputs (median, L2 flushed): 3xFP16 recomputes exactly the tiles whose values outgrow
their first k tile's scale by 2^8, so its speed depends on the inputs.

    python benchmarks/accuracy_bmm_fp32.py [--shape 128,512,2048,1024] [--precisions highest high]
"""

import argparse
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import torch  # noqa: E402

import tilekernels  # noqa: E402,F401
from tilekernels.benchmarking.timing import time_ms  # noqa: E402

DISTRIBUTIONS = {
    "rand": lambda shape: torch.rand(shape, device="cuda"),
    "randn": lambda shape: torch.randn(shape, device="cuda"),
    "randn*100": lambda shape: torch.randn(shape, device="cuda") * 100,
    "lognormal": lambda shape: torch.randn(shape, device="cuda").exp() * torch.randn(shape, device="cuda").sign(),
}


def failures(x, torch_result):
    bad = (x.double() - torch_result.double()).abs() > 1e-4 + 1e-4 * torch_result.double().abs()
    return int(bad.sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="128,512,2048,1024", help="batch,m,n,k")
    parser.add_argument("--precisions", nargs="+", default=["highest", "high"])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("needs a CUDA GPU", file=sys.stderr)
        return 2
    batch, m, n, k = (int(v) for v in args.shape.split(","))
    torch.backends.cuda.matmul.allow_tf32 = False  # torch.bmm as KernelBench's fp32 reference: SGEMM
    print(f"bmm fp32 {batch}x{m}x{n}x{k}: relerr = |x - ref| / |ref| (float64 reference); "
          "fails = elements outside allclose(x, torch.bmm, atol=rtol=1e-4)")
    print(f"{'inputs':<10} {'result':<22} {'relerr':>9} {'max abs err':>12} {'fails':>9} {'ms':>8}")
    for name, make in DISTRIBUTIONS.items():
        torch.manual_seed(0)
        a, b = make((batch, m, k)), make((batch, k, n))
        reference = torch.bmm(a.double(), b.double())
        theirs = torch.bmm(a, b)
        rows = [("float64 (exact)", reference, None), ("torch.bmm (SGEMM)", theirs, lambda: torch.bmm(a, b))]
        for precision in args.precisions:
            call = functools.partial(torch.ops.kernels.bmm, a, b, precision=precision)
            rows.append((f"tilekernels {precision}", call(), call))
        for label, x, call in rows:
            error = x.double() - reference
            relerr = (error.norm() / reference.norm()).item()
            ms = f"{time_ms(call, a.device, reps=20)['median_ms']:8.3f}" if call else f"{'':8}"
            print(f"{name:<10} {label:<22} {relerr:9.1e} {error.abs().max().item():12.2e} {failures(x, theirs):9d} {ms}")
        del a, b, reference, theirs, rows
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
