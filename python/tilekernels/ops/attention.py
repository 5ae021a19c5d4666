"""kernels::attention: torch.nn.functional.scaled_dot_product_attention semantics on our kernels."""

from typing import Optional, Tuple

import torch

from tilekernels.ops.attention_backward_composite import attention_backward_composite
from tilekernels.tuning import autotune
from tilekernels.tuning.tables import tile_configs

_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
MAX_HEAD_DIM = 1024


def _check_fake_args(q, k, v):
    op = "kernels.attention"
    torch._check(q.dim() == 4 and k.dim() == 4 and v.dim() == 4, lambda: f"{op}: q, k, v must be 4-D [B, H, S, D]")
    torch._check(q.dtype == k.dtype == v.dtype, lambda: f"{op}: q, k and v must have the same dtype")
    torch._check(q.dtype in _DTYPES, lambda: f"{op}: unsupported dtype {q.dtype}")
    # As in bmm's fake checks: ValueError, and the only check a call mixing in a meta tensor meets.
    torch._check_value(q.device == k.device == v.device,
                       lambda: f"{op}: q, k and v must be on the same device, got {q.device}, {k.device} and "
                               f"{v.device}")
    torch._check(k.shape[0] == q.shape[0] and v.shape[0] == q.shape[0], lambda: f"{op}: batch sizes differ")
    torch._check(k.shape[1] == v.shape[1] and k.shape[2] == v.shape[2], lambda: f"{op}: k and v shapes differ")
    torch._check(k.shape[3] == q.shape[3], lambda: f"{op}: q and k must have the same head dim")
    torch._check(q.shape[1] % k.shape[1] == 0, lambda: f"{op}: q's heads must be a multiple of k/v's heads")
    torch._check(q.shape[3] <= MAX_HEAD_DIM and v.shape[3] <= MAX_HEAD_DIM,
                 lambda: f"{op}: head dim exceeds the supported maximum of {MAX_HEAD_DIM}")


def _fake_outputs(q, v):
    out = q.new_empty((q.shape[0], q.shape[1], q.shape[2], v.shape[3]))
    lse = q.new_empty((q.shape[0], q.shape[1], q.shape[2]), dtype=torch.float32)
    return out, lse


@torch.library.register_fake("kernels::attention")
def _attention_fake(q, k, v, *, is_causal=False, scale=None):
    _check_fake_args(q, k, v)
    return _fake_outputs(q, v)[0]


@torch.library.register_fake("kernels::attention_with_lse")
def _attention_with_lse_fake(q, k, v, *, is_causal=False, scale=None):
    _check_fake_args(q, k, v)
    return _fake_outputs(q, v)


@torch.library.register_fake("kernels::_attention_with_config")
def _attention_with_config_fake(q, k, v, config, is_causal=False, scale=None):
    _check_fake_args(q, k, v)
    return _fake_outputs(q, v)


@torch.library.register_fake("kernels::_attention_backward")
def _attention_backward_fake(grad_out, q, k, v, out, lse, grad_lse, is_causal=False, scale=None, config=None,
                              deterministic=False):
    _check_fake_args(q, k, v)
    return q.new_empty(q.shape), k.new_empty(k.shape), v.new_empty(v.shape)


def _fused_kernels_cover(q: torch.Tensor, v: torch.Tensor) -> bool:
    """Whether a compiled fused CUDA backward row (csrc/kernels/attention/backward) serves the call on
    q's GPU: fp16 / bf16, v's head dim equal to q's, a row of this architecture with a head dim at least
    q's (head dim 256: Hopper only, and with dQ by atomics, so not under deterministic algorithms).
    Other CUDA calls run the backward as a sequence of our bmm products (attention_backward_composite);
    CPU calls run the C++ CPU backward."""
    if q.device.type != "cuda":
        return True
    if q.dtype not in (torch.float16, torch.bfloat16) or v.shape[-1] != q.shape[-1]:
        return False
    major, minor = torch.cuda.get_device_capability(q.device)
    arch = 10 * major + minor
    math = "fp16" if q.dtype == torch.float16 else "bf16"
    deterministic = torch.are_deterministic_algorithms_enabled()
    return any(row["compiled"] and row["math"] == math and row["head_dim"] >= q.shape[-1] and
               row["min_arch"] <= arch <= row["max_arch"] and not (deterministic and row["dq_atomic"])
               for row in tile_configs("attention_backward"))


def _backward(grad_out, q, k, v, out, lse, grad_lse, is_causal, scale):
    if _fused_kernels_cover(q, v):
        # Under torch.use_deterministic_algorithms(True) the CUDA backward skips the rows that sum dQ with
        # atomics.
        return torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, grad_lse, is_causal, scale,
                                                     deterministic=torch.are_deterministic_algorithms_enabled())
    return attention_backward_composite(grad_out, q, k, v, grad_lse, is_causal, scale)


def _attention_setup_context(ctx, inputs, keyword_only_inputs, output):
    ctx.is_causal = keyword_only_inputs.get("is_causal", False)
    ctx.scale = keyword_only_inputs.get("scale")
    ctx.save_for_backward(*inputs, output)


def _attention_backward(ctx, grad_out):
    q, k, v, out = ctx.saved_tensors
    if not _fused_kernels_cover(q, v):  # the composite needs neither out nor the lse
        return attention_backward_composite(grad_out, q, k, v, None, ctx.is_causal, ctx.scale)
    # attention() keeps no log-sum-exp, so the fused backward recomputes it (one more forward);
    # attention_with_lse() saves it.
    lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=ctx.is_causal, scale=ctx.scale)[1]
    return _backward(grad_out, q, k, v, out, lse, None, ctx.is_causal, ctx.scale)


def _attention_with_lse_setup_context(ctx, inputs, keyword_only_inputs, output):
    ctx.is_causal = keyword_only_inputs.get("is_causal", False)
    ctx.scale = keyword_only_inputs.get("scale")
    ctx.save_for_backward(*inputs, *output)


def _attention_with_lse_backward(ctx, grad_out, grad_lse):
    q, k, v, out, lse = ctx.saved_tensors
    return _backward(grad_out, q, k, v, out, lse, grad_lse, ctx.is_causal, ctx.scale)


torch.library.register_autograd("kernels::attention", _attention_backward, setup_context=_attention_setup_context)
torch.library.register_autograd("kernels::attention_with_lse", _attention_with_lse_backward,
                                setup_context=_attention_with_lse_setup_context)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, is_causal: bool = False,
              scale: Optional[float] = None) -> torch.Tensor:
    """Scaled dot-product attention on ``[batch, heads, seq, head_dim]`` tensors.

    Matches ``F.scaled_dot_product_attention(q, k, v, is_causal=is_causal, scale=scale,
    enable_gqa=True)``: k/v may have fewer heads than q when they divide q's; causal masking is
    top-left aligned; the default scale is ``1 / sqrt(head_dim)``. float32 inputs follow
    ``torch.get_float32_matmul_precision()`` ("highest" = fp32-accurate).
    """
    autotune.maybe_tune_attention(q, k, v, is_causal)
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        # Training: keep the log-sum-exp for the backward instead of recomputing it there.
        return torch.ops.kernels.attention_with_lse(q, k, v, is_causal=is_causal, scale=scale)[0]
    return torch.ops.kernels.attention(q, k, v, is_causal=is_causal, scale=scale)


def attention_with_lse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, is_causal: bool = False,
                       scale: Optional[float] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """As :func:`attention`, also returning the natural-log sum-exp of each row's scaled scores
    (float32, ``[batch, heads, seq_q]``), which the backward pass needs."""
    autotune.maybe_tune_attention(q, k, v, is_causal)
    return torch.ops.kernels.attention_with_lse(q, k, v, is_causal=is_causal, scale=scale)
