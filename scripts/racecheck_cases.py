"""Small attention calls for compute-sanitizer's racecheck (shared-memory hazards), each forced through
the rows that synchronize shared memory the most: the warp-specialized forward rows (TMA, mbarrier
rings, named barriers) and every backward row this GPU runs. One small shape each, since racecheck
instruments every shared-memory access."""

import json

import torch

import tilekernels

torch.manual_seed(0)
arch = 10 * torch.cuda.get_device_capability()[0] + torch.cuda.get_device_capability()[1]
for dtype in (torch.float16, torch.bfloat16):
    for dim in (64, 128, 256):
        q = torch.randn(1, 2, 193, dim, device="cuda", dtype=dtype)
        k = torch.randn(1, 1, 161, dim, device="cuda", dtype=dtype)
        for causal in (False, True):
            candidates = set(tilekernels.explain("attention", q, k, k, is_causal=causal)["candidates"])
            for row in tilekernels.tile_configs("attention"):
                if row["kernel"] == "warp_specialized" and row["id"] in candidates:
                    torch.ops.kernels._attention_with_config(q, k, k, row["id"], is_causal=causal)
backward_rows = [r for r in json.loads(torch.ops.kernels._tile_configs("attention_backward"))
                 if r["compiled"] and r["min_arch"] <= arch <= r["max_arch"]]
for dtype in (torch.float16, torch.bfloat16):
    math = "fp16" if dtype == torch.float16 else "bf16"
    for dim in (64, 128, 256):
        q = torch.randn(1, 2, 150, dim, device="cuda", dtype=dtype)
        k = torch.randn(1, 1, 130, dim, device="cuda", dtype=dtype)
        v = torch.randn_like(k)
        grad_out = torch.randn_like(q)
        for causal in (False, True):
            out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=causal)
            for row in backward_rows:
                if row["math"] == math and row["head_dim"] == dim:
                    torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, causal, None,
                                                          config=row["id"])
torch.cuda.synchronize()
print("racecheck cases ran")
