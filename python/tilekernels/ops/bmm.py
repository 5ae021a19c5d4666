"""kernels::bmm: torch.bmm semantics on our kernels."""

from typing import Optional

import torch

from tilekernels.tuning import autotune

_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def _check_fake_args(a: torch.Tensor, b: torch.Tensor) -> None:
    # The same rules as the C++ checks, so torch.compile traces fail the way eager calls do.
    torch._check(a.dim() == 3, lambda: f"kernels.bmm: a must be a 3-D tensor [batch, m, k], got {a.dim()}-D")
    torch._check(b.dim() == 3, lambda: f"kernels.bmm: b must be a 3-D tensor [batch, k, n], got {b.dim()}-D")
    torch._check(a.shape[0] == b.shape[0], lambda: f"kernels.bmm: batch sizes differ: {a.shape} and {b.shape}")
    torch._check(a.shape[2] == b.shape[1], lambda: f"kernels.bmm: inner dimensions differ: {a.shape} and {b.shape}")
    torch._check(a.dtype == b.dtype, lambda: f"kernels.bmm: a and b must have the same dtype, got {a.dtype}, {b.dtype}")
    torch._check(a.dtype in _DTYPES, lambda: f"kernels.bmm: unsupported dtype {a.dtype}")
    # ValueError, as eagerly. Also the only check a call mixing a meta tensor with others meets: the
    # dispatcher sends it here, not to the C++ bindings.
    torch._check_value(a.device == b.device,
                       lambda: f"kernels.bmm: a and b must be on the same device, got {a.device} and {b.device}")


@torch.library.register_fake("kernels::bmm")
def _bmm_fake(a, b, *, precision=None):
    _check_fake_args(a, b)
    return a.new_empty((a.shape[0], a.shape[1], b.shape[2]))


@torch.library.register_fake("kernels::bmm.out")
def _bmm_out_fake(a, b, *, precision=None, out):
    _check_fake_args(a, b)
    torch._check_value(out.device == a.device, lambda: f"kernels.bmm: out must be on {a.device}, got {out.device}")


@torch.library.register_fake("kernels::_bmm_with_config")
def _bmm_with_config_fake(a, b, config, precision=None):
    _check_fake_args(a, b)
    return a.new_empty((a.shape[0], a.shape[1], b.shape[2]))


def _bmm_setup_context(ctx, inputs, keyword_only_inputs, output):
    a, b = inputs
    ctx.precision = keyword_only_inputs.get("precision")
    ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)


def _bmm_backward(ctx, grad):
    a, b = ctx.saved_tensors
    grad_a = grad_b = None
    # Both gradients are bmms themselves, through our own op (so they run on our kernels too).
    if ctx.needs_input_grad[0]:
        grad_a = torch.ops.kernels.bmm(grad, b.transpose(1, 2), precision=ctx.precision)
    if ctx.needs_input_grad[1]:
        grad_b = torch.ops.kernels.bmm(a.transpose(1, 2), grad, precision=ctx.precision)
    return grad_a, grad_b


torch.library.register_autograd("kernels::bmm", _bmm_backward, setup_context=_bmm_setup_context)


def bmm(a: torch.Tensor, b: torch.Tensor, *, precision: Optional[str] = None,
        out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Batched matrix product ``a @ b`` with ``torch.bmm``'s semantics.

    Args:
        a: ``[batch, m, k]``; b: ``[batch, k, n]``; float16, bfloat16 or float32, any strides.
        precision: float32 only: ``"highest"`` (fp32-accurate), ``"high"``/``"medium"`` (TF32 allowed).
            Defaults to ``torch.get_float32_matmul_precision()`` at call time.
        out: optional preallocated ``[batch, m, n]`` result of the same dtype and device.
    """
    if out is not None:
        torch.ops.kernels.bmm.out(a, b, precision=precision, out=out)
        return out
    autotune.maybe_tune_bmm(a, b, precision)
    return torch.ops.kernels.bmm(a, b, precision=precision)
