"""A few bmm and attention calls for compute-sanitizer (memcheck), each forced through every candidate
configuration: edge tiles, every layout, NaN tiles, GQA, causal, odd lengths; and the attention
backward on the same kinds of edges. Small, so the instrumented run stays short."""

import json

import torch

import tilekernels

torch.manual_seed(0)
for dtype, precision in [(torch.float16, None), (torch.bfloat16, None), (torch.float32, "highest"),
                         (torch.float32, "high")]:
    for batch, m, n, k in [(2, 67, 45, 33), (3, 130, 257, 72), (1, 1, 1, 1)]:
        a = torch.randn(batch, m, k, device="cuda", dtype=dtype)
        b = torch.randn(batch, k, n, device="cuda", dtype=dtype)
        for x, y in [(a, b), (a.transpose(1, 2).contiguous().transpose(1, 2), b),
                     (a, b.transpose(1, 2).contiguous().transpose(1, 2))]:
            torch.ops.kernels.bmm(x, y, precision=precision)
            # Every candidate once on the edge-heavy shape (the tuned choice may not reach some).
            if (batch, m) == (3, 130):
                for config in tilekernels.explain("bmm", x, y, precision=precision)["candidates"]:
                    torch.ops.kernels._bmm_with_config(x, y, config, precision=precision)
# Persistent rows with several tiles per CTA (more tiles than the GPU holds CTAs); n = 264 leaves an
# edge tile in n and C's rows 16-byte multiples, so the rows that store via TMA run too.
persistent = {c["id"] for c in tilekernels.tile_configs("bmm") if c["persistent"]}
for dtype, precision in [(torch.float32, "highest"), (torch.float32, "high"), (torch.float16, None),
                         (torch.bfloat16, None)]:
    a = torch.randn(150, 130, 72, device="cuda", dtype=dtype)
    b = torch.randn(150, 264, 72, device="cuda", dtype=dtype).transpose(1, 2)
    for x, y in [(a, b), (a, b.contiguous())]:
        for config in persistent & set(tilekernels.explain("bmm", x, y, precision=precision)["candidates"]):
            torch.ops.kernels._bmm_with_config(x, y, config, precision=precision)
# Whole-k rows (k <= 64, both operands k-contiguous): edge tiles, k ending inside a chunk.
whole_k = {c["id"] for c in tilekernels.tile_configs("bmm") if c["engine"] == "wgmma whole-k" and c["compiled_layouts"]}
for k in (37, 64):
    a = torch.randn(3, 130, 64, device="cuda")[:, :, :k]
    b = torch.randn(3, 257, 64, device="cuda")[:, :, :k].transpose(1, 2)
    assert whole_k <= set(tilekernels.explain("bmm", a, b, precision="high")["candidates"])
    for config in whole_k:
        torch.ops.kernels._bmm_with_config(a, b, config, precision="high")
# Tiles holding a NaN (here from an inf) take the fp32-accurate kernel's exact recompute.
a = torch.randn(3, 130, 72, device="cuda")
b = torch.randn(3, 72, 257, device="cuda")
a[1, 129, 71] = float("inf")
for x, y in [(a, b), (a.transpose(1, 2).contiguous().transpose(1, 2), b.transpose(1, 2).contiguous().transpose(1, 2))]:
    for config in tilekernels.explain("bmm", x, y, precision="highest")["candidates"]:
        torch.ops.kernels._bmm_with_config(x, y, config, precision="highest")
for dtype, precision in [(torch.float16, "highest"), (torch.bfloat16, "highest"), (torch.float32, "highest"),
                         (torch.float32, "high")]:
    torch.set_float32_matmul_precision(precision)  # "high": the TF32 rows
    for dim in (64, 72, 128, 256, 1024):
        q = torch.randn(1, 4, 67, dim, device="cuda", dtype=dtype)
        k = torch.randn(1, 2, 93, dim, device="cuda", dtype=dtype)
        for causal in (False, True):
            for config in tilekernels.explain("attention", q, k, k, is_causal=causal)["candidates"]:
                torch.ops.kernels._attention_with_config(q, k, k, config, is_causal=causal)
torch.set_float32_matmul_precision("highest")
# fp32 3xFP16 tiles that meet a value beyond fp16's range rerun on the exact row (two key blocks).
q = torch.randn(1, 4, 300, 1000, device="cuda")
q[0, 2, 200, 5] = 7e4
for causal in (False, True):
    for config in tilekernels.explain("attention", q, q, q, is_causal=causal)["candidates"]:
        torch.ops.kernels._attention_with_config(q, q, q, config, is_causal=causal)
# The backward, forced through every compiled row this GPU runs: GQA, causal with Sq > Sk and
# Sq < Sk, partial key / query blocks, rows padded to 16 bytes (dim 100), [B, S, H, D] views, grad_lse.
arch = 10 * torch.cuda.get_device_capability()[0] + torch.cuda.get_device_capability()[1]
backward_rows = [r for r in json.loads(torch.ops.kernels._tile_configs("attention_backward"))
                 if r["compiled"] and r["min_arch"] <= arch <= r["max_arch"]]
for dtype in (torch.float16, torch.bfloat16):
    for dim, seq_q, seq_k in [(64, 67, 93), (100, 130, 45), (128, 33, 200), (256, 67, 93)]:
        q = torch.randn(2, 4, seq_q, dim, device="cuda", dtype=dtype)
        k = torch.randn(2, seq_k, 2, dim, device="cuda", dtype=dtype).transpose(1, 2)
        v = torch.randn(2, 2, seq_k, dim, device="cuda", dtype=dtype)
        grad_out = torch.randn_like(q)
        for causal in (False, True):
            out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=causal)
            grad_lse = torch.randn_like(lse) if causal else None
            math = "fp16" if dtype == torch.float16 else "bf16"
            for row in backward_rows:
                if row["math"] == math and row["head_dim"] >= dim:
                    torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, grad_lse, causal, None,
                                                          config=row["id"])
torch.cuda.synchronize()
print("sanitize cases ran")
