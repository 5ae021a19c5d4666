"""The attention backward as a sequence of our bmm products, for what the fused CUDA backward kernels do
not cover yet: float32, v's head dim different from q's, head dims above 256 (above 128 before Hopper),
and head dim 256 under deterministic algorithms (its fused row sums dQ with atomics).

Per group of query heads sharing a kv head (their rows stacked, so the products sum dK and dV over the
group in one fixed order: deterministic):
    S = scale Q K^T,  P = softmax(S) (causal: 0 above the diagonal),  dV = P^T dO,
    dP = dO V^T,      dS = P (dP - delta),  dQ = scale dS K,  dK = scale dS^T Q,
with delta = rowsum(P * dP) - grad_lse (= rowsum(dO * O) - grad_lse). Blocks compute in float32. For
16-bit inputs S and dP run as TF32 ("high"; the inputs are exact in TF32, and dP - delta cancels, so
dP keeps fp32), while the three products of P or dS round them to the input dtype, as FlashAttention
and the fused kernels do, and run on the 16-bit tensor-core path (twice TF32's rate, half its bytes);
float32 inputs follow torch.get_float32_matmul_precision() as the forward does. A block holds whole rows of S, so P is their
softmax rather than exp(S - lse), and delta comes from P and dP: neither the forward's lse nor its
output (nor their rounding) is needed. Score blocks are bounded by a memory budget (kv heads, then
query rows).
"""

import math
from typing import Optional, Tuple

import torch

# Bytes of float32 score-sized blocks (S / P, dP, dS) alive at once per block of work.
_SCORE_BUDGET_BYTES = 384 * 1024 * 1024


def _bmm(a: torch.Tensor, b: torch.Tensor, precision: Optional[str]) -> torch.Tensor:
    return torch.ops.kernels.bmm(a, b, precision=precision)


def attention_backward_composite(grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 grad_lse: Optional[torch.Tensor],
                                 is_causal: bool, scale: Optional[float]) -> Tuple[torch.Tensor, torch.Tensor,
                                                                                  torch.Tensor]:
    batch, heads, seq_q, dim = q.shape
    heads_kv, seq_k, dim_v = k.shape[1], k.shape[2], v.shape[3]
    group = heads // heads_kv
    scale = 1.0 / math.sqrt(dim) if scale is None else scale
    half = q.dtype != torch.float32
    precision = "high" if half else None
    grad_q, grad_k, grad_v = (torch.zeros(t.shape, dtype=t.dtype, device=t.device) for t in (q, k, v))
    if min(batch, heads, seq_q, seq_k) == 0:
        return grad_q, grad_k, grad_v

    # [batch, heads, seq_q, width] -> [batch * heads_kv, group * seq_q, width]: a kv head's query rows.
    def stacked(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(batch * heads_kv, group * seq_q, t.shape[-1])

    q_rows, grad_out_rows = stacked(q), stacked(grad_out)
    grad_lse_rows = None if grad_lse is None else grad_lse.float().reshape(batch * heads_kv, group * seq_q)
    k_heads, v_heads = k.reshape(batch * heads_kv, seq_k, dim), v.reshape(batch * heads_kv, seq_k, dim_v)
    grad_q_rows = grad_q.view(batch * heads_kv, group * seq_q, dim)
    grad_k_heads, grad_v_heads = grad_k.view(batch * heads_kv, seq_k, dim), grad_v.view(batch * heads_kv, seq_k, dim_v)

    rows = group * seq_q
    score_bytes = 3 * 4 * seq_k  # per row: S / P, dP, dS
    row_block = max(1, min(rows, _SCORE_BUDGET_BYTES // score_bytes))
    head_block = max(1, _SCORE_BUDGET_BYTES // (score_bytes * row_block))
    keys = torch.arange(seq_k, device=q.device)
    for h0 in range(0, batch * heads_kv, head_block):
        hs = slice(h0, min(h0 + head_block, batch * heads_kv))
        k_block, v_block = k_heads[hs].float(), v_heads[hs].float()
        grad_k_block = torch.zeros_like(k_block)
        grad_v_block = torch.zeros_like(v_block)
        for r0 in range(0, rows, row_block):
            rs = slice(r0, min(r0 + row_block, rows))
            q_rows_block, grad_out_rows_block = q_rows[hs, rs], grad_out_rows[hs, rs]
            q_block, grad_out_block = q_rows_block.float(), grad_out_rows_block.float()
            scores = _bmm(q_block, k_block.transpose(1, 2), precision) * scale
            if is_causal:
                # Top-left aligned: query row i (of its head) sees keys j <= i (key 0 at least).
                query = torch.arange(rs.start, rs.stop, device=q.device) % seq_q
                scores = scores.masked_fill(keys[None, None, :] > query[None, :, None], float("-inf"))
            probs = torch.softmax(scores, -1)
            del scores
            if half:
                grad_v_block += _bmm(probs.transpose(1, 2).to(q.dtype), grad_out_rows_block, None).float()
            else:
                grad_v_block += _bmm(probs.transpose(1, 2), grad_out_block, precision)
            grad_scores = _bmm(grad_out_block, v_block.transpose(1, 2), precision)
            delta = (probs * grad_scores).sum(-1, keepdim=True)
            if grad_lse_rows is not None:
                delta = delta - grad_lse_rows[hs, rs, None]
            grad_scores = probs * (grad_scores - delta)
            del probs
            if half:
                grad_scores = (grad_scores * scale).to(q.dtype)
                grad_q_rows[hs, rs] = _bmm(grad_scores, k_heads[hs], None)
                grad_k_block += _bmm(grad_scores.transpose(1, 2), q_rows_block, None).float()
            else:
                grad_q_rows[hs, rs] = (_bmm(grad_scores, k_block, precision) * scale).to(q.dtype)
                grad_k_block += _bmm(grad_scores.transpose(1, 2), q_block, precision) * scale
        grad_k_heads[hs] = grad_k_block.to(k.dtype)
        grad_v_heads[hs] = grad_v_block.to(v.dtype)
    return grad_q, grad_k, grad_v
