"""tilekernels: fast CUDA kernels for batched matrix multiplication and attention in PyTorch.

Importing registers the ``torch.ops.kernels`` ops (bmm, attention, attention_with_lse).
"""

from tilekernels._library import build_info, load as _load

_load()

from tilekernels.modules import BatchedMatmul, ScaledDotProductAttention  # noqa: E402
from tilekernels.ops import attention, attention_with_lse, bmm  # noqa: E402
from tilekernels.tuning import explain, set_autotune_mode, tile_configs  # noqa: E402

__version__ = build_info().get("version", "0.0.0")

__all__ = [
    "BatchedMatmul",
    "ScaledDotProductAttention",
    "attention",
    "attention_with_lse",
    "bmm",
    "build_info",
    "explain",
    "set_autotune_mode",
    "tile_configs",
]
