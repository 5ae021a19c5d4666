"""Typed wrappers, fake (meta) kernels and autograd for the kernels:: ops."""

from tilekernels.ops.attention import attention, attention_with_lse
from tilekernels.ops.bmm import bmm

__all__ = ["attention", "attention_with_lse", "bmm"]
