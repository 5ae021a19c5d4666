"""Shared test helpers: references in float64, tolerances, poisoned outputs, random layouts."""

import torch

LOW_PRECISION = (torch.float16, torch.bfloat16)
DTYPES = (torch.float16, torch.bfloat16, torch.float32)

# KernelBench's correctness rule: allclose against the torch result.
KERNELBENCH_TOL = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 1e-2}


def random_tensor(shape, dtype, device, distribution="randn"):
    """Never zeros: rand ([0, 1)) or randn, generated in float32 then cast."""
    generator = torch.rand if distribution == "rand" else torch.randn
    return generator(shape, dtype=torch.float32, device=device).to(dtype)


def max_abs_error(x, reference):
    return (x.double() - reference).abs().max().item() if x.numel() else 0.0


def assert_close_to_reference(ours, theirs, reference, *, atol):
    """FlashAttention's rule: our error against a float64 reference is at most twice torch's own
    error at the same dtype, plus a small absolute tolerance."""
    assert ours.shape == reference.shape, (ours.shape, reference.shape)
    assert not torch.isnan(ours).any(), "result has NaN (unwritten or broken elements)"
    ours_error = max_abs_error(ours, reference)
    torch_error = max_abs_error(theirs, reference)
    assert ours_error <= 2 * torch_error + atol, f"error {ours_error:.3e} vs torch {torch_error:.3e} (+{atol:.1e})"


def assert_kernelbench_close(ours, theirs):
    tol = KERNELBENCH_TOL[ours.dtype]
    assert torch.allclose(ours.float(), theirs.float(), atol=tol, rtol=tol), (
        f"KernelBench check failed: max diff {(ours.float() - theirs.float()).abs().max().item():.3e}"
    )


def poison_allocator(device, nbytes=1 << 26):
    """Fills blocks of the caching allocator's large and small pools with NaN and frees them, so the
    next outputs that reuse them start as NaN instead of whatever earlier work left there."""
    if torch.device(device).type != "cuda":
        return
    large = torch.full((nbytes // 4,), float("nan"), device=device)
    small = torch.full(((1 << 20) // 4,), float("nan"), device=device)
    del large, small


def nan_like(shape, dtype, device):
    return torch.full(shape, float("nan"), dtype=dtype, device=device)
