"""Benchmarks attention forward + backward (kernels::attention with autograd) against torch SDPA's
default backend and its FlashAttention-2 backend, on the shapes of issue #18.

    python benchmarks/bench_attention_backward.py [--shapes d64 d128 ...] [--dtypes fp16 bf16]
                                                  [--reps 30] [--rows] [--json out.json]

Each repetition runs the forward and torch.autograd.grad of all three inputs (the training step's
attention work), timed with CUDA events, L2 flushed before each; the median is reported with the
ratio SDPA / ours from the same run, the backward's TFLOP/s (its 2.5 forward-equivalent products,
timed alone after a forward outside the timing), the largest gradient difference from SDPA's, and the
step's compute and memory floors (3.5 forward-equivalent products at the GPU's ceiling; the compulsory
bytes at its copy bandwidth; ceilings as `bench_attention.py --measure-ceilings` left them).
Calls no fused backward row serves on this GPU (head dims above 256, or above 128 before Hopper) run
the composite backward (ops/attention_backward_composite.py); each row says which path ran. --rows also times the backward alone on every compiled backward row that serves the
shape on this GPU (forced through kernels._attention_backward's `config`).
"""

import argparse
import json
import math

import torch
import torch.nn.functional as F

import tilekernels
from tilekernels.benchmarking.ceilings import ceilings_for
from tilekernels.benchmarking.suites import floors_ms
from tilekernels.benchmarking.timing import time_ms
from tilekernels.ops.attention import _fused_kernels_cover

# name: (batch, heads_q, heads_kv, seq, head_dim, causal)
SHAPES = {
    "d64": (16, 16, 16, 1024, 64, False),
    "d128": (8, 16, 16, 2048, 128, False),
    "d128c": (8, 16, 16, 2048, 128, True),
    "long8k_c": (1, 32, 32, 8192, 128, True),
    "gqa_c": (4, 32, 8, 4096, 128, True),
    "d256": (4, 16, 16, 2048, 256, False),
    "kb97": (32, 32, 32, 512, 1024, False),
}
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def ours(q, k, v, causal):
    return tilekernels.attention(q, k, v, is_causal=causal)  # keeps the lse for the backward


def sdpa(q, k, v, causal):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=k.shape[1] != q.shape[1])


def sdpa_flash(q, k, v, causal):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return sdpa(q, k, v, causal)


def step(fn, q, k, v, grad_out, causal):
    return torch.autograd.grad(fn(q, k, v, causal), (q, k, v), grad_out)


def backward_flops(batch, heads_q, seq, head_dim, causal):
    forward = 4.0 * batch * heads_q * seq * seq * head_dim * (0.5 if causal else 1.0)
    return 2.5 * forward


def step_bytes(batch, heads_q, heads_kv, seq, head_dim, element_bytes):
    """Compulsory traffic of forward + backward: q and o (forward), q, o and dO read and dq written
    (backward); k and v read twice, dk and dv written."""
    return 6.0 * element_bytes * seq * head_dim * batch * (heads_q + heads_kv)


def time_rows(q, k, v, grad_out, causal, reps):
    """{row name: backward ms} for every compiled backward row serving the call on this GPU."""
    arch = 10 * torch.cuda.get_device_capability()[0] + torch.cuda.get_device_capability()[1]
    math = {torch.float16: "fp16", torch.bfloat16: "bf16"}[q.dtype]
    with torch.no_grad():
        out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=causal)
        times = {}
        for row in json.loads(torch.ops.kernels._tile_configs("attention_backward")):
            if not row["compiled"] or row["math"] != math or row["head_dim"] < q.shape[-1]:
                continue
            if not row["min_arch"] <= arch <= row["max_arch"]:
                continue
            run = lambda: torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, causal,  # noqa: E731
                                                                config=row["id"])
            times[row["name"]] = time_ms(run, q.device, reps=reps)["median_ms"]
    return times


def bench_shape(name, dtype_name, reps, ceilings, rows=False):
    batch, heads_q, heads_kv, seq, head_dim, causal = SHAPES[name]
    dtype = DTYPES[dtype_name]
    row = {"shape": name, "dtype": dtype_name, "sizes": [batch, heads_q, heads_kv, seq, head_dim], "causal": causal}
    step_flops = 3.5 / 2.5 * backward_flops(batch, heads_q, seq, head_dim, causal)
    row["compute_floor_ms"], row["memory_floor_ms"] = floors_ms(
        step_flops, step_bytes(batch, heads_q, heads_kv, seq, head_dim, 2), dtype_name, ceilings)
    torch.manual_seed(0)
    q = torch.randn(batch, heads_q, seq, head_dim, device="cuda", dtype=dtype, requires_grad=True)
    k = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=dtype, requires_grad=True)
    v = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=dtype, requires_grad=True)
    row["ours_path"] = "fused kernels" if _fused_kernels_cover(q, v) else "composite (bmm products)"
    grad_out = torch.randn(batch, heads_q, seq, head_dim, device="cuda", dtype=dtype)
    ours_grads = step(ours, q, k, v, grad_out, causal)
    their_grads = step(sdpa, q, k, v, grad_out, causal)
    row["max_grad_diff_vs_sdpa"] = max((a.float() - b.float()).abs().max().item() for a, b in zip(ours_grads, their_grads))
    for label, fn in [("ours", ours), ("sdpa", sdpa), ("sdpa_flash", sdpa_flash)]:
        try:
            row[f"{label}_ms"] = time_ms(lambda: step(fn, q, k, v, grad_out, causal), q.device, reps=reps)["median_ms"]
        except RuntimeError as error:  # a backend that does not run this shape
            row[f"{label}_ms"] = f"n/a ({str(error).splitlines()[0][:80]})"
            continue
        out = fn(q, k, v, causal)
        backward_ms = time_ms(lambda: torch.autograd.grad(out, (q, k, v), grad_out, retain_graph=True), q.device,
                              reps=reps)["median_ms"]
        row[f"{label}_backward_tflops"] = backward_flops(batch, heads_q, seq, head_dim, causal) / backward_ms / 1e9
        del out
    if isinstance(row["sdpa_ms"], float):
        row["ratio_vs_sdpa"] = row["sdpa_ms"] / row["ours_ms"]
    if rows:
        row["backward_ms_by_row"] = time_rows(q.detach(), k.detach(), v.detach(), grad_out, causal, reps)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--dtypes", nargs="+", default=["fp16", "bf16"], choices=list(DTYPES))
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--rows", action="store_true", help="also time every backward row serving each shape")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_attention_backward.py needs a CUDA GPU")
    ceilings, source = ceilings_for(torch.cuda.get_device_name())
    print(f"{torch.cuda.get_device_name()}  torch {torch.__version__}  ceilings: {source}")
    rows = []
    for name in args.shapes:
        for dtype_name in args.dtypes:
            row = bench_shape(name, dtype_name, args.reps, ceilings, args.rows)
            rows.append(row)
            print(json.dumps(row))
    ratios = [r["ratio_vs_sdpa"] for r in rows if "ratio_vs_sdpa" in r]
    if ratios:
        print(f"geomean ratio vs SDPA (fwd+bwd): {math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
