"""How accurate each fp32 attention configuration is at the KernelBench level1/97 size (B 32, H 32,
S 512, D 1024) for several input distributions: error against a float64 reference (first batch, two
heads), the same for torch's fp32 SDPA, and KernelBench's check (allclose(atol=rtol=1e-4) against
SDPA) with the number of elements it fails. Each configuration also gives its time on those inputs
(median, L2 flushed): 3xFP16 reruns exactly the 128-row tiles that meet a value beyond fp16's range,
so its speed depends on the inputs.

    python benchmarks/accuracy_attention_fp32.py [--shape 32,32,512,1024] [--causal]
"""

import argparse
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import tilekernels  # noqa: E402
from tilekernels.benchmarking.runner import attention_reference  # noqa: E402
from tilekernels.benchmarking.timing import time_ms  # noqa: E402

DISTRIBUTIONS = {
    "rand": lambda shape: torch.rand(shape, device="cuda"),
    "randn": lambda shape: torch.randn(shape, device="cuda"),
    "randn*100": lambda shape: torch.randn(shape, device="cuda") * 100,
    "randn/1e3": lambda shape: torch.randn(shape, device="cuda") / 1e3,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="32,32,512,1024", help="batch,heads,seq,dim")
    parser.add_argument("--causal", action="store_true")
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("needs a CUDA GPU", file=sys.stderr)
        return 2
    batch, heads, seq, dim = (int(v) for v in args.shape.split(","))
    torch.set_float32_matmul_precision("highest")
    names = {c["id"]: c["name"] for c in tilekernels.tile_configs("attention")}
    print(f"attention fp32 {args.shape} causal={args.causal}: relerr = |x - ref| / |ref| on the first batch, "
          "two heads (float64 reference); fails = elements outside allclose(x, SDPA, atol=rtol=1e-4)")
    print(f"{'inputs':<10} {'result':<34} {'relerr':>9} {'max abs err':>12} {'fails':>9} {'ms':>8}")
    for name, make in DISTRIBUTIONS.items():
        torch.manual_seed(0)
        q, k, v = (make((batch, heads, seq, dim)) for _ in range(3))
        reference = attention_reference(q, k, v, args.causal)
        sdpa = functools.partial(F.scaled_dot_product_attention, q, k, v, is_causal=args.causal)
        theirs = sdpa()
        rows = [("torch SDPA", theirs, sdpa)]
        for config in tilekernels.explain("attention", q, k, v, is_causal=args.causal)["candidates"]:
            call = functools.partial(torch.ops.kernels._attention_with_config, q, k, v, config, args.causal)
            rows.append((names[config], call()[0], call))
        for label, x, call in rows:
            error = x[:1, :2].double() - reference
            relerr = (error.norm() / reference.norm()).item()
            fails = int(((x - theirs).abs() > 1e-4 + 1e-4 * theirs.abs()).sum())
            ms = time_ms(call, q.device, reps=args.reps)["median_ms"]
            print(f"{name:<10} {label:<34} {relerr:9.1e} {error.abs().max().item():12.2e} {fails:9d} {ms:8.3f}")
        del q, k, v, reference, theirs, rows
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
