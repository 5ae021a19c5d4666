"""kernels::bmm against torch.bmm and a float64 reference, on CPU always and on CUDA when present."""

import pytest
import torch

import tilekernels

from conftest import DEVICES
from helpers import (DTYPES, assert_close_to_reference, assert_kernelbench_close, nan_like, poison_allocator,
                     random_tensor)

# (batch, m, n, k): odd sizes, tiny, K = 1, and a few tile-sized ones.
SHAPES = [
    (1, 1, 1, 1),
    (3, 17, 33, 9),
    (2, 64, 64, 64),
    (4, 100, 70, 130),
    (2, 129, 257, 65),
    (5, 1, 40, 31),
    (3, 40, 1, 31),
    (2, 33, 65, 1),
]


def atol_for(dtype, k):
    # Rounding of the stored result dominates for 16-bit outputs; grows with sqrt(k) otherwise.
    return {torch.float16: 2e-3, torch.bfloat16: 2e-2, torch.float32: 1e-5}[dtype] * max(1.0, k ** 0.5)


def layout(x, kind):
    """Returns a tensor equal to x with the requested memory layout."""
    if kind == "contiguous":
        return x
    if kind == "transposed":  # column-major matrices, e.g. K^T views
        return x.transpose(1, 2).contiguous().transpose(1, 2)
    if kind == "sliced":  # non-unit strides in both matrix dims
        wide = torch.empty(x.shape[0], x.shape[1] * 2, x.shape[2] * 2, dtype=x.dtype, device=x.device)
        wide[:, ::2, ::2] = x
        return wide[:, ::2, ::2]
    if kind == "misaligned":  # pointer off a 16-byte boundary
        flat = torch.empty(x.numel() + 1, dtype=x.dtype, device=x.device)
        view = flat[1:].view(x.shape)
        view.copy_(x)
        return view
    raise ValueError(kind)


def check_bmm(a, b, **kwargs):
    reference = torch.bmm(a.double(), b.double())
    theirs = torch.bmm(a, b)
    poison_allocator(a.device)
    ours = torch.ops.kernels.bmm(a, b, **kwargs)
    assert ours.dtype == a.dtype and ours.device == a.device
    assert ours.is_contiguous()
    assert_close_to_reference(ours, theirs, reference, atol=atol_for(a.dtype, a.shape[2]))
    return ours, theirs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_bmm_matches_reference(device, dtype, shape):
    batch, m, n, k = shape
    a = random_tensor((batch, m, k), dtype, device)
    b = random_tensor((batch, k, n), dtype, device)
    check_bmm(a, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_layout", ["contiguous", "transposed", "sliced", "misaligned"])
@pytest.mark.parametrize("b_layout", ["contiguous", "transposed", "sliced", "misaligned"])
def test_bmm_layouts(device, dtype, a_layout, b_layout):
    a = layout(random_tensor((3, 45, 38), dtype, device), a_layout)
    b = layout(random_tensor((3, 38, 52), dtype, device), b_layout)
    check_bmm(a, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bmm_broadcast_batch(device, dtype):
    a = random_tensor((1, 24, 40), dtype, device).expand(6, 24, 40)
    b = random_tensor((6, 40, 16), dtype, device)
    check_bmm(a, b)
    check_bmm(b.transpose(1, 2), random_tensor((1, 40, 8), dtype, device).expand(6, 40, 8))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("distribution", ["rand", "randn"])
def test_bmm_fp32_highest_passes_kernelbench(device, distribution):
    torch.set_float32_matmul_precision("highest")
    a = random_tensor((4, 96, 512), torch.float32, device, distribution)
    b = random_tensor((4, 512, 80), torch.float32, device, distribution)
    ours, theirs = check_bmm(a, b)
    assert_kernelbench_close(ours, theirs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["highest", "high", "medium"])
def test_bmm_fp32_precision_setting(device, precision):
    """TF32 is allowed only when the setting (or the override) says so; "highest" stays fp32-accurate."""
    torch.set_float32_matmul_precision(precision)
    a = random_tensor((2, 64, 256), torch.float32, device)
    b = random_tensor((2, 256, 48), torch.float32, device)
    reference = torch.bmm(a.double(), b.double())
    relative = ((torch.ops.kernels.bmm(a, b).double() - reference).norm() / reference.norm()).item()
    assert relative < (1e-5 if precision == "highest" else 3e-3)
    overridden = torch.ops.kernels.bmm(a, b, precision="highest")
    assert ((overridden.double() - reference).norm() / reference.norm()).item() < 1e-5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["highest", "high"])
@pytest.mark.parametrize("a_layout, b_layout", [("contiguous", "contiguous"), ("transposed", "transposed")])
def test_bmm_fp32_non_finite_inputs(device, precision, a_layout, b_layout):
    """inf and NaN operands give what IEEE arithmetic gives (float64 torch.bmm), in every configuration:
    the fp32-accurate split turns inf into inf + NaN, so its NaN tiles must be recomputed exactly, and
    TF32 rounding must not carry a NaN into a number. Batch item 0 stays finite: its tiles take the
    fast path next to the recomputed ones."""
    a = random_tensor((3, 150, 40), torch.float32, device)
    b = random_tensor((3, 40, 140), torch.float32, device)
    a[1, 3, 5], a[2, 7, 0] = float("inf"), float("-inf")
    b[1, 9, 2], b[2, 11, 4] = float("nan"), float("inf")
    # NaN as the GPU computes it (0x7fffffff, all mantissa bits set): rounding by adding to the bits
    # would carry it into the sign bit and leave -0.
    a[2, 120, 30] = torch.tensor(0x7FFFFFFF, dtype=torch.int32).view(torch.float32)
    a, b = layout(a, a_layout), layout(b, b_layout)
    reference = torch.bmm(a.double(), b.double())
    finite = torch.isfinite(reference)
    assert (~finite).any() and finite.any()
    configs = [None]
    if device == "cuda":
        configs += tilekernels.explain("bmm", a, b, precision=precision)["candidates"]
    for config in configs:
        if config is None:
            ours = torch.ops.kernels.bmm(a, b, precision=precision).double()
        else:
            ours = torch.ops.kernels._bmm_with_config(a, b, config, precision=precision).double()
        assert torch.equal(torch.isnan(ours), torch.isnan(reference)), config
        assert torch.equal(ours[torch.isinf(reference)], reference[torch.isinf(reference)]), config
        relative = ((ours[finite] - reference[finite]).norm() / reference[finite].norm()).item()
        assert relative < (1e-5 if precision == "highest" else 3e-3), (config, relative)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("a_layout, b_layout", [("contiguous", "contiguous"), ("transposed", "transposed"),
                                                ("contiguous", "transposed")])
def test_bmm_fp32_highest_wide_magnitudes(device, a_layout, b_layout):
    """Rows of A and columns of B scaled by powers of two from 2^-30 to 2^30, one row of A by 2^-60
    and one column of B by 2^-50 (every result stays a normal float), in every fp32-accurate
    configuration. Each element must be within 1e-5 of its own scale, sum_k |a_ik| |b_kj|, which
    3xFP16 meets only because it scales each row of A and column of B on its own (fp16 covers 40
    binades)."""
    torch.set_float32_matmul_precision("highest")
    batch, m, n, k = 2, 150, 140, 300
    generator = torch.Generator().manual_seed(3)
    row_exp = torch.randint(-30, 31, (batch, m, 1), generator=generator).float()
    col_exp = torch.randint(-30, 31, (batch, 1, n), generator=generator).float()
    row_exp[1, 7] = -60.0
    col_exp[1, 0, 5] = -50.0
    a = random_tensor((batch, m, k), torch.float32, device) * torch.exp2(row_exp).to(device)
    b = random_tensor((batch, k, n), torch.float32, device) * torch.exp2(col_exp).to(device)
    # 3xFP16 sets a row's scale from an output tile's first k tile with 2^8 of headroom: these grow
    # 2^12 past it, overflow the fp16 pieces, and must take the exact recompute.
    a[0, 3, 64:] *= 4096.0
    b[1, 100:, 7] *= 4096.0
    a, b = layout(a, a_layout), layout(b, b_layout)
    reference = torch.bmm(a.double(), b.double())
    scale = torch.bmm(a.double().abs(), b.double().abs())
    configs = [None]
    if device == "cuda":
        configs += tilekernels.explain("bmm", a, b, precision="highest")["candidates"]
    for config in configs:
        poison_allocator(device)
        if config is None:
            ours = torch.ops.kernels.bmm(a, b, precision="highest").double()
        else:
            ours = torch.ops.kernels._bmm_with_config(a, b, config, precision="highest").double()
        worst = ((ours - reference).abs() / scale).max().item()
        assert worst < 1e-5, (config, worst)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bmm_zero_sizes(device, dtype):
    for batch, m, n, k in [(0, 3, 4, 5), (2, 0, 4, 5), (2, 3, 0, 5)]:
        out = torch.ops.kernels.bmm(random_tensor((batch, m, k), dtype, device), random_tensor((batch, k, n), dtype, device))
        assert out.shape == (batch, m, n)
    # K == 0: an empty sum, all zeros (also over poisoned memory).
    poison_allocator(device)
    out = torch.ops.kernels.bmm(torch.empty(2, 3, 0, dtype=dtype, device=device),
                                torch.empty(2, 0, 4, dtype=dtype, device=device))
    assert torch.equal(out, torch.zeros(2, 3, 4, dtype=dtype, device=device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bmm_out_variant_writes_every_element(device, dtype):
    a = random_tensor((3, 50, 70), dtype, device)
    b = random_tensor((3, 70, 30), dtype, device)
    out = nan_like((3, 50, 30), dtype, device)
    assert torch.ops.kernels.bmm.out(a, b, out=out) is None
    assert_close_to_reference(out, torch.bmm(a, b), torch.bmm(a.double(), b.double()), atol=atol_for(dtype, 70))
    # A strided (transposed) out is written correctly too.
    out_t = nan_like((3, 30, 50), dtype, device).transpose(1, 2)
    torch.ops.kernels.bmm.out(a, b, out=out_t)
    assert torch.equal(out_t, out)


@pytest.mark.parametrize("device", DEVICES)
def test_bmm_out_aliasing_an_input(device):
    a = random_tensor((2, 16, 16), torch.float32, device)
    b = random_tensor((2, 16, 16), torch.float32, device)
    expected = torch.bmm(a, b)
    torch.ops.kernels.bmm.out(a, b, out=a)
    torch.testing.assert_close(a, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_bmm_functional_wrapper(device):
    a = random_tensor((2, 8, 8), torch.float32, device)
    b = random_tensor((2, 8, 8), torch.float32, device)
    out = torch.empty(2, 8, 8, device=device)
    import tilekernels

    assert tilekernels.bmm(a, b, out=out) is out
    torch.testing.assert_close(tilekernels.bmm(a, b), out)
