"""nn.Modules over the kernels:: ops (no parameters: they follow .to(device, dtype) trivially)."""

from typing import Optional

import torch
from torch import nn

from tilekernels.ops import attention, bmm


class BatchedMatmul(nn.Module):
    """``forward(A, B) = torch.bmm(A, B)`` on tilekernels' kernels."""

    def __init__(self, precision: Optional[str] = None):
        super().__init__()
        self.precision = precision

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return bmm(A, B, precision=self.precision)


class ScaledDotProductAttention(nn.Module):
    """``forward(Q, K, V) = F.scaled_dot_product_attention(Q, K, V, is_causal=..., scale=...)``."""

    def __init__(self, is_causal: bool = False, scale: Optional[float] = None):
        super().__init__()
        self.is_causal = is_causal
        self.scale = scale

    def forward(self, Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        return attention(Q, K, V, is_causal=self.is_causal, scale=self.scale)
