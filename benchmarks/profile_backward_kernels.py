"""Per-kernel CUDA time of one attention backward (torch.profiler), on the shapes of issue #18.

    python benchmarks/profile_backward_kernels.py [--shapes d64 d128 d128c d256] [--dtype fp16] [--reps 10]

Runs the forward once, then `reps` backward passes through autograd (after three warm-up passes), and
prints each kernel's mean time per backward: the key-block kernel and what surrounds it (the delta
pre-pass, zeroing dQ's fp32 scratch, its conversion). No L2 flush: the kernels' shares, not a timing.
"""

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

import tilekernels

SHAPES = {  # batch, heads, seq, head_dim, causal
    "d64": (16, 16, 1024, 64, False),
    "d128": (8, 16, 2048, 128, False),
    "d128c": (8, 16, 2048, 128, True),
    "long8k_c": (1, 32, 8192, 128, True),
    "d256": (4, 16, 2048, 256, False),
}
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", default=["d64", "d128", "d128c", "d256"], choices=SHAPES)
    parser.add_argument("--dtype", default="fp16", choices=DTYPES)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    for name in args.shapes:
        batch, heads, seq, head_dim, causal = SHAPES[name]
        torch.manual_seed(0)
        q, k, v = (torch.randn(batch, heads, seq, head_dim, device="cuda", dtype=DTYPES[args.dtype],
                               requires_grad=True) for _ in range(3))
        out = tilekernels.attention(q, k, v, is_causal=causal)
        grad_out = torch.randn_like(out)
        for _ in range(3):
            torch.autograd.grad(out, (q, k, v), grad_out, retain_graph=True)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(args.reps):
                torch.autograd.grad(out, (q, k, v), grad_out, retain_graph=True)
            torch.cuda.synchronize()
        print(f"== {name} {args.dtype}")
        events = [e for e in prof.key_averages() if e.device_time_total > 0]
        for e in sorted(events, key=lambda e: -e.device_time_total):
            print(f"  {e.device_time_total / args.reps:9.1f} us  x{e.count // args.reps}  {e.key[:100]}")


if __name__ == "__main__":
    main()
