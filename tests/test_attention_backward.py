"""Attention backward on the CPU (every dtype) and CUDA (fp16 / bf16): gradients of attention /
attention_with_lse against float64, against torch's own error, determinism, views, opcheck,
torch.compile and a few training steps."""

import json

import pytest
import torch
import torch.nn.functional as F

from helpers import random_tensor

# (batch, heads_q, heads_kv, seq_q, seq_k, head_dim, head_dim_v, causal, scale): GQA, Sq > Sk and
# Sq < Sk with causal masking, head_dim_v != head_dim, a single query row, edges of the 32-row query
# and 64-key blocks.
CASES = [
    (2, 4, 2, 37, 53, 40, 40, False, None),
    (1, 2, 2, 70, 45, 16, 24, True, 0.3),
    (1, 3, 1, 33, 90, 64, 64, True, None),
    (2, 2, 2, 1, 5, 8, 8, False, None),
    (1, 2, 1, 65, 129, 32, 32, False, 2.0),
]
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


# CUDA (v's head dim equals q's there): GQA and MQA, causal with Sq > Sk and Sq < Sk, head dims from 8
# to 128 (72 and 100: rows padded to 16 bytes; 100 on the d128 row), one query row, edges of the
# 32 / 64-row query blocks and 64-key blocks, several blocks per CTA, a scale of 2.
CUDA_CASES = [
    (2, 4, 2, 37, 53, 40, 40, False, None),
    (1, 2, 2, 70, 45, 64, 64, True, 0.3),
    (1, 3, 1, 33, 90, 64, 64, True, None),
    (2, 2, 2, 1, 5, 8, 8, False, None),
    (1, 2, 1, 65, 129, 128, 128, False, 2.0),
    (2, 4, 4, 200, 300, 128, 128, True, None),
    (1, 8, 2, 130, 130, 100, 100, True, None),
    (1, 2, 2, 257, 64, 72, 72, False, None),
    (1, 2, 1, 70, 150, 256, 256, True, None),
    (2, 2, 2, 33, 65, 200, 200, False, 0.1),
]


def make_inputs(case, dtype, device="cpu"):
    batch, heads_q, heads_kv, seq_q, seq_k, head_dim, head_dim_v, _, _ = case
    q = random_tensor((batch, heads_q, seq_q, head_dim), dtype, device).requires_grad_(True)
    k = random_tensor((batch, heads_kv, seq_k, head_dim), dtype, device).requires_grad_(True)
    v = random_tensor((batch, heads_kv, seq_k, head_dim_v), dtype, device).requires_grad_(True)
    grad_out = random_tensor((batch, heads_q, seq_q, head_dim_v), dtype, device)
    return q, k, v, grad_out


def reference_grads(q, k, v, grad_out, causal, scale, grad_lse=None):
    """d(out . grad_out + lse . grad_lse)/d(q, k, v) in float64, by autograd through the definition."""
    q64, k64, v64 = (t.detach().double().requires_grad_(True) for t in (q, k, v))
    group = q.shape[1] // k.shape[1]
    scores = q64 @ k64.repeat_interleave(group, 1).transpose(-1, -2) * (q.shape[-1] ** -0.5 if scale is None else scale)
    if causal:
        visible = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~visible, float("-inf"))
    out = torch.softmax(scores, -1) @ v64.repeat_interleave(group, 1)
    loss = (out * grad_out.double()).sum()
    if grad_lse is not None:
        loss = loss + (torch.logsumexp(scores, -1) * grad_lse.double()).sum()
    loss.backward()
    return q64.grad, k64.grad, v64.grad


def grads_of(op, inputs, grad_out):
    for t in inputs:
        t.grad = None
    op(*inputs).backward(grad_out)
    return [t.grad.clone() for t in inputs]


def assert_within_twice_torchs_error(case, dtype, device, config=None):
    causal, scale = case[7], case[8]
    q, k, v, grad_out = make_inputs(case, dtype, device)
    if config is None:
        ours = grads_of(lambda *t: torch.ops.kernels.attention(*t, is_causal=causal, scale=scale), (q, k, v), grad_out)
    else:
        with torch.no_grad():
            out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=causal, scale=scale)
            ours = torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, causal, scale, config=config)
    assert_grads_within_twice_torchs_error(ours, q, k, v, grad_out, causal, scale)


def assert_grads_within_twice_torchs_error(ours, q, k, v, grad_out, causal, scale):
    dtype = q.dtype
    theirs = grads_of(lambda *t: F.scaled_dot_product_attention(*t, is_causal=causal, scale=scale, enable_gqa=True),
                      (q, k, v), grad_out)
    for name, our, their, ref in zip("qkv", ours, theirs, reference_grads(q, k, v, grad_out, causal, scale)):
        assert our.dtype == dtype and our.shape == ref.shape and our.device == q.device
        our_error = (our.double() - ref).abs().max().item()
        their_error = (their.double() - ref).abs().max().item()
        floor = torch.finfo(dtype).eps * ref.abs().max().item()
        assert our_error <= 2 * their_error + floor, (name, our_error, their_error)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_attention_gradients_within_twice_torchs_error(case, dtype):
    """FlashAttention's rule: each gradient's max error against float64 at most twice that of torch's
    SDPA backward at the same dtype, plus one ulp of the dtype at the gradient's size (both round to
    it: at 16 bits, which of the two meets a half-ulp tie first is luck)."""
    assert_within_twice_torchs_error(case, dtype, "cpu")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("case", CUDA_CASES)
def test_attention_gradients_on_cuda_within_twice_torchs_error(case, dtype):
    assert_within_twice_torchs_error(case, dtype, "cuda")


def backward_rows():
    return json.loads(torch.ops.kernels._tile_configs("attention_backward"))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_every_backward_row_on_cuda_within_twice_torchs_error(dtype):
    """Each compiled backward row this GPU runs, forced on every CUDA case it serves (the binding
    otherwise takes the best-ranked one)."""
    arch = 10 * torch.cuda.get_device_capability()[0] + torch.cuda.get_device_capability()[1]
    math = {torch.float16: "fp16", torch.bfloat16: "bf16"}[dtype]
    rows = [r for r in backward_rows() if r["compiled"] and r["math"] == math and r["min_arch"] <= arch <= r["max_arch"]]
    assert rows, "no compiled backward row for this GPU"
    for row in rows:
        served = [case for case in CUDA_CASES if case[5] <= row["head_dim"]]
        assert served, row["name"]
        for case in served:
            assert_within_twice_torchs_error(case, dtype, "cuda", config=row["id"])


def test_backward_rows_are_listed():
    rows = backward_rows()
    assert [r["id"] for r in rows] == list(range(len(rows)))
    assert len({r["name"] for r in rows}) == len(rows)
    for r in rows:
        assert r["math"] in ("fp16", "bf16") and r["key_engine"] in ("mma.sync", "wgmma")
        assert r["head_dim"] in (64, 128, 256) and r["min_arch"] <= r["max_arch"]
        assert not r["dq_atomic"] or r["key_engine"] == "wgmma", r["name"]
    assert {r["key_engine"] for r in rows} == {"mma.sync", "wgmma"}
    assert {r["dq_atomic"] for r in rows} == {False, True}


def test_backward_config_is_rejected_on_the_cpu():
    q, k, v, grad_out = make_inputs((1, 1, 1, 4, 4, 8, 8, False, None), torch.float32)
    out, lse = torch.ops.kernels.attention_with_lse(q.detach(), k.detach(), v.detach())
    with pytest.raises(ValueError, match="CPU backward has no configurations"):
        torch.ops.kernels._attention_backward(grad_out, q.detach(), k.detach(), v.detach(), out, lse, None, config=0)


@pytest.mark.cuda
def test_backward_config_that_cannot_serve_is_rejected():
    q, k, v, grad_out = make_inputs((1, 1, 1, 4, 4, 100, 100, False, None), torch.float16, "cuda")
    q, k, v = q.detach(), k.detach(), v.detach()
    out, lse = torch.ops.kernels.attention_with_lse(q, k, v)
    rows = backward_rows()
    d64 = next(r["id"] for r in rows if r["math"] == "fp16" and r["head_dim"] == 64)
    with pytest.raises(ValueError, match="cannot serve"):
        torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, config=d64)
    with pytest.raises(ValueError, match="no backward configuration"):
        torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, config=len(rows))


@pytest.mark.cuda
def test_warp_specialized_backward_rows_need_tensor_maps():
    """The warp-specialized rows read q, k, v and grad_out through tensor maps: forced on a grad_out
    whose rows are expanded (stride 0, which no map describes) they are refused with a clear error, and
    the default choice takes a row without maps."""
    arch = 10 * torch.cuda.get_device_capability()[0] + torch.cuda.get_device_capability()[1]
    rows = [r for r in backward_rows() if r["compiled"] and r["key_warp_specialized"] and r["math"] == "fp16"
            and r["min_arch"] <= arch <= r["max_arch"]]
    if not rows:
        pytest.skip("no warp-specialized backward row runs on this GPU")
    q, k, v, _ = make_inputs((1, 2, 2, 70, 90, 64, 64, True, None), torch.float16, "cuda")
    grad_out = random_tensor((1, 2, 1, 64), torch.float16, "cuda").expand(1, 2, 70, 64)
    with torch.no_grad():
        out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=True)
        for row in rows:
            with pytest.raises(ValueError, match="tensor maps"):
                torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, True, config=row["id"])
        ours = torch.ops.kernels._attention_backward(grad_out, q, k, v, out, lse, None, True)
        forced = torch.ops.kernels._attention_backward(grad_out.contiguous(), q, k, v, out, lse, None, True,
                                                       config=rows[0]["id"])
    assert_grads_within_twice_torchs_error(ours, q, k, v, grad_out, True, None)
    assert_grads_within_twice_torchs_error(forced, q, k, v, grad_out, True, None)


# Beyond the fused CUDA kernels (float32, head dims above 128, v's head dim != q's): the composite
# backward (our bmm products). GQA, causal with Sq > Sk and Sq < Sk, head dims to 1024.
COMPOSITE_CASES = [
    (2, 4, 2, 37, 53, 160, 160, False, None),
    (1, 2, 2, 70, 45, 256, 96, True, 0.3),
    (1, 3, 1, 33, 90, 64, 64, True, None),
    (1, 2, 1, 20, 24, 1024, 1024, True, None),
    (2, 2, 2, 1, 5, 8, 8, False, None),
]


def composite_grads(case, dtype, device):
    from tilekernels.ops.attention_backward_composite import attention_backward_composite

    causal, scale = case[7], case[8]
    q, k, v, grad_out = make_inputs(case, dtype, device)
    q, k, v = q.detach(), k.detach(), v.detach()
    return attention_backward_composite(grad_out, q, k, v, None, causal, scale), (q, k, v, grad_out)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("case", COMPOSITE_CASES)
def test_composite_backward_within_twice_torchs_error(case, dtype):
    """The composite backward on the CPU (the same code runs on CUDA with the CUDA bmm). float32 is
    held to this rule on CUDA (test_attention_gradients_on_cuda_beyond_the_fused_kernels), where the
    fp32 bmm is at least as accurate as cuBLAS; the CPU bmm accumulates S = Q K^T in fp32 about twice
    as loosely as MKL, so on the CPU float32 gets the fixed bound of the next test."""
    ours, (q, k, v, grad_out) = composite_grads(case, dtype, "cpu")
    causal, scale = case[7], case[8]
    q, k, v = (t.requires_grad_(True) for t in (q, k, v))
    theirs = grads_of(lambda *t: F.scaled_dot_product_attention(*t, is_causal=causal, scale=scale, enable_gqa=True),
                      (q, k, v), grad_out)
    for name, our, their, ref in zip("qkv", ours, theirs, reference_grads(q, k, v, grad_out, causal, scale)):
        assert our.dtype == dtype and our.shape == ref.shape
        our_error = (our.double() - ref).abs().max().item()
        their_error = (their.double() - ref).abs().max().item()
        floor = torch.finfo(dtype).eps * ref.abs().max().item()
        assert our_error <= 2 * their_error + floor, (name, our_error, their_error)


@pytest.mark.parametrize("case", COMPOSITE_CASES)
def test_composite_backward_float32_on_the_cpu(case):
    ours, (q, k, v, grad_out) = composite_grads(case, torch.float32, "cpu")
    for name, our, ref in zip("qkv", ours, reference_grads(q, k, v, grad_out, case[7], case[8])):
        assert (our.double() - ref).abs().max().item() <= 1e-5 * max(1.0, ref.abs().max().item()), name


def test_composite_backward_blocks_agree(monkeypatch):
    """Work split into blocks of kv heads and of query rows (a tiny budget) gives the same gradients."""
    from tilekernels.ops import attention_backward_composite as composite

    case = (2, 6, 2, 45, 37, 32, 24, True, None)
    torch.manual_seed(1)
    whole, _ = composite_grads(case, torch.float32, "cpu")
    monkeypatch.setattr(composite, "_SCORE_BUDGET_BYTES", 3 * 4 * 37 * 10)  # 10 rows of one head per block
    torch.manual_seed(1)
    blocked, _ = composite_grads(case, torch.float32, "cpu")
    for a, b in zip(whole, blocked):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_composite_backward_with_grad_lse():
    from tilekernels.ops.attention_backward_composite import attention_backward_composite

    case = (1, 4, 2, 40, 70, 160, 160, True, None)
    q, k, v, grad_out = (t.detach() for t in make_inputs(case, torch.float32))
    grad_lse = random_tensor((1, 4, 40), torch.float32, "cpu")
    ours = attention_backward_composite(grad_out, q, k, v, grad_lse, True, None)
    for name, our, ref in zip("qkv", ours, reference_grads(q, k, v, grad_out, True, None, grad_lse)):
        assert (our.double() - ref).abs().max().item() <= 2e-6 * ref.abs().max().item(), name


def test_composite_backward_on_views():
    """[B, S, H, D] views (non-contiguous q, k, v, grad_out) give the contiguous inputs' gradients."""
    from tilekernels.ops.attention_backward_composite import attention_backward_composite

    q, k, v, grad_out = (random_tensor(shape, torch.float32, "cpu") for shape in
                         [(2, 40, 4, 24), (2, 33, 2, 24), (2, 33, 2, 16), (2, 40, 4, 16)])
    views = [t.transpose(1, 2) for t in (q, k, v, grad_out)]
    q, k, v, grad_out = (t.contiguous() for t in views)
    want = attention_backward_composite(grad_out, q, k, v, None, True, None)
    got = attention_backward_composite(views[3], *views[:3], None, True, None)
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.is_contiguous()
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [case for case in COMPOSITE_CASES if case[5] == case[6]])
def test_attention_gradients_on_cuda_beyond_the_fused_kernels(case, dtype):
    """Autograd on CUDA for float32 and head dims the fused rows may not reach (above 256; above 128
    before Hopper): the composite backward where they do not, same rule against float64. (The CUDA
    forward needs v's head dim equal to q's.)"""
    assert_within_twice_torchs_error(case, dtype, "cuda")


@pytest.mark.parametrize("device, dtype", [("cpu", torch.float32), ("cpu", torch.bfloat16),
                                           pytest.param("cuda", torch.bfloat16, marks=pytest.mark.cuda),
                                           pytest.param("cuda", torch.float16, marks=pytest.mark.cuda)])
def test_attention_with_lse_gradients_include_the_lse(device, dtype):
    case = (1, 4, 2, 40, 70, 32, 32, True, None)
    q, k, v, grad_out = make_inputs(case, dtype, device)
    grad_lse = random_tensor((1, 4, 40), torch.float32, device)
    out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=True)
    ((out.float() * grad_out.float()).sum() + (lse * grad_lse).sum()).backward()
    tolerance = {torch.float32: 2e-6, torch.bfloat16: 2e-2, torch.float16: 4e-3}[dtype]
    for name, our, ref in zip("qkv", (q.grad, k.grad, v.grad), reference_grads(q, k, v, grad_out, True, None, grad_lse)):
        assert (our.double() - ref).abs().max().item() <= tolerance * ref.abs().max().item(), name


def test_attention_gradcheck():
    """Central differences in fp32 against the analytic gradients (loose: fp32 differences)."""
    q, k, v = (random_tensor((1, 2, 5, 4), torch.float32, "cpu").requires_grad_(True) for _ in range(3))
    for causal in (False, True):
        op = lambda *t: torch.ops.kernels.attention(*t, is_causal=causal)  # noqa: E731
        assert torch.autograd.gradcheck(op, (q, k, v), eps=1e-3, atol=2e-3, rtol=2e-2)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_attention_backward_is_deterministic(device):
    case = (2, 4, 1, 70, 100, 48, 48, True, None)
    q, k, v, grad_out = make_inputs(case, torch.bfloat16, device)
    op = lambda *t: torch.ops.kernels.attention(*t, is_causal=True)  # noqa: E731
    first = grads_of(op, (q, k, v), grad_out)
    for _ in range(3):
        assert all(torch.equal(a, b) for a, b in zip(first, grads_of(op, (q, k, v), grad_out)))


@pytest.mark.cuda
@pytest.mark.parametrize("head_dim", [128, 256])
def test_attention_backward_under_deterministic_algorithms(head_dim):
    """torch.use_deterministic_algorithms(True): the CUDA backward skips the rows that sum dQ with
    atomics (the defaults at head dims 128 and 256 on Hopper; at 256 the composite runs), so repeated
    gradients are bitwise equal."""
    case = (2, 4, 2, 300, 260, head_dim, head_dim, True, None)
    q, k, v, grad_out = make_inputs(case, torch.float16, "cuda")
    op = lambda *t: torch.ops.kernels.attention(*t, is_causal=True)  # noqa: E731
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        first = grads_of(op, (q, k, v), grad_out)
        for _ in range(3):
            assert all(torch.equal(a, b) for a, b in zip(first, grads_of(op, (q, k, v), grad_out)))
    finally:
        torch.use_deterministic_algorithms(previous)
    assert_grads_within_twice_torchs_error(first, q, k, v, grad_out, True, None)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_attention_backward_on_cuda_views_and_without_keys(dtype):
    """[B, S, H, D] views (head stride below the row stride), an expanded incoming gradient (stride 0),
    expanded kv heads, and seq_k = 0 (zero dq) on CUDA."""
    q = random_tensor((2, 50, 4, 64), dtype, "cuda").transpose(1, 2).requires_grad_(True)
    k = random_tensor((2, 70, 2, 64), dtype, "cuda").transpose(1, 2).requires_grad_(True)
    v = random_tensor((2, 70, 2, 64), dtype, "cuda").transpose(1, 2).requires_grad_(True)
    torch.ops.kernels.attention(q, k, v, is_causal=True).sum().backward()
    ours = (q.grad, k.grad, v.grad)
    for t in (q, k, v):
        t.grad = None
    F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).sum().backward()
    theirs = (q.grad, k.grad, v.grad)
    reference = reference_grads(q, k, v, torch.ones(2, 4, 50, 64, device="cuda"), True, None)
    for name, our, their, ref in zip("qkv", ours, theirs, reference):
        floor = torch.finfo(dtype).eps * ref.abs().max().item()
        assert (our.double() - ref).abs().max().item() <= 2 * (their.double() - ref).abs().max().item() + floor, name
    q = random_tensor((2, 4, 30, 32), dtype, "cuda").requires_grad_(True)
    k, v = (random_tensor((2, 1, 40, 32), dtype, "cuda").expand(2, 2, 40, 32).requires_grad_(True) for _ in range(2))
    grad_out = random_tensor((2, 4, 30, 32), dtype, "cuda")
    ours = grads_of(lambda *t: torch.ops.kernels.attention(*t), (q, k, v), grad_out)
    for name, our, ref in zip("qkv", ours, reference_grads(q, k, v, grad_out, False, None)):
        assert (our.double() - ref).abs().max().item() <= 0.02 * ref.abs().max().item(), name
    q = random_tensor((1, 2, 4, 16), dtype, "cuda").requires_grad_(True)
    empty = torch.empty(1, 2, 0, 16, dtype=dtype, device="cuda", requires_grad=True)
    torch.ops.kernels.attention(q, empty, empty).sum().backward()
    assert torch.equal(q.grad, torch.zeros_like(q))


def test_attention_backward_on_views_and_without_keys():
    """Strided (transposed) inputs and an expanded incoming gradient; seq_k = 0 gives zero dq."""
    q = random_tensor((1, 12, 3, 16), torch.float32, "cpu").transpose(1, 2).requires_grad_(True)
    k = random_tensor((1, 20, 3, 16), torch.float32, "cpu").transpose(1, 2).requires_grad_(True)
    v = random_tensor((1, 20, 3, 16), torch.float32, "cpu").transpose(1, 2).requires_grad_(True)
    torch.ops.kernels.attention(q, k, v).sum().backward()  # grad_out: ones expanded (stride 0)
    ref = reference_grads(q, k, v, torch.ones(1, 3, 12, 16), False, None)
    for our, expected in zip((q.grad, k.grad, v.grad), ref):
        torch.testing.assert_close(our.double(), expected, atol=1e-5, rtol=1e-5)
    q = random_tensor((1, 2, 4, 8), torch.float32, "cpu").requires_grad_(True)
    empty = torch.empty(1, 2, 0, 8, requires_grad=True)
    torch.ops.kernels.attention(q, empty, empty).sum().backward()
    assert torch.equal(q.grad, torch.zeros_like(q))


def test_attention_backward_rejects_bad_input():
    q, k, v, grad_out = (t.detach() for t in make_inputs(CASES[0], torch.float32))
    out, lse = torch.ops.kernels.attention_with_lse(q, k, v)
    backward = torch.ops.kernels._attention_backward
    with pytest.raises(ValueError, match="grad_out must have the shape"):
        backward(grad_out[:, :, :-1], q, k, v, out, lse, None)
    with pytest.raises(ValueError, match="lse must be float32"):
        backward(grad_out, q, k, v, out, lse.half(), None)
    with pytest.raises(ValueError, match="out must be float32"):
        backward(grad_out, q, k, v, out.half(), lse, None)
    with pytest.raises(ValueError, match="grad_lse must have the shape"):
        backward(grad_out, q, k, v, out, lse, lse[:, :1])


def test_attention_backward_opcheck():
    q, k, v, grad_out = make_inputs((1, 4, 2, 12, 10, 16, 16, True, None), torch.float32)
    torch.library.opcheck(torch.ops.kernels.attention.default, (q, k, v), {"is_causal": True})
    torch.library.opcheck(torch.ops.kernels.attention_with_lse.default, (q, k, v), {"scale": 0.5})
    out, lse = torch.ops.kernels.attention_with_lse(q.detach(), k.detach(), v.detach(), is_causal=True)
    torch.library.opcheck(torch.ops.kernels._attention_backward.default,
                          (grad_out, q.detach(), k.detach(), v.detach(), out, lse, None, True, None))


def test_attention_backward_torch_compile_fullgraph():
    torch._dynamo.reset()

    @torch.compile(fullgraph=True)
    def loss(q, k, v):
        return (torch.ops.kernels.attention(q, k, v, is_causal=True) * 2).sum()

    q, k, v, _ = make_inputs((1, 4, 2, 32, 32, 16, 16, True, None), torch.float32)
    loss(q, k, v).backward()
    compiled = [t.grad.clone() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    (torch.ops.kernels.attention(q, k, v, is_causal=True) * 2).sum().backward()
    for a, b in zip(compiled, (q.grad, k.grad, v.grad)):
        torch.testing.assert_close(a, b)


def test_training_forward_keeps_the_lse():
    """tilekernels.attention on inputs that need gradients runs one forward (attention_with_lse, whose
    lse the backward reuses) and no recomputation in the backward; without gradients, the plain op."""
    import tilekernels
    from torch.utils._python_dispatch import TorchDispatchMode

    class CountKernelsOps(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.namespace == "kernels":
                self.calls.append(func.__name__)
            return func(*args, **(kwargs or {}))

    q, k, v, grad_out = make_inputs((1, 2, 2, 9, 11, 8, 8, True, None), torch.float32)
    with CountKernelsOps() as counter:
        tilekernels.attention(q, k, v, is_causal=True).backward(grad_out)
    assert counter.calls == ["attention_with_lse.default", "_attention_backward.default"], counter.calls
    with torch.no_grad(), CountKernelsOps() as counter:
        tilekernels.attention(q, k, v)
    assert counter.calls == ["attention.default"], counter.calls


class TinyBlock(torch.nn.Module):
    """Pre-norm attention + MLP: the README's training example, attention swappable."""

    def __init__(self, dim, heads, attention):
        super().__init__()
        self.heads, self.attention = heads, attention
        self.norm1, self.norm2 = torch.nn.LayerNorm(dim), torch.nn.LayerNorm(dim)
        self.qkv, self.proj = torch.nn.Linear(dim, 3 * dim), torch.nn.Linear(dim, dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim, 4 * dim), torch.nn.GELU(), torch.nn.Linear(4 * dim, dim))

    def forward(self, x):
        batch, seq, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, seq, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        x = x + self.proj(self.attention(q, k, v).transpose(1, 2).reshape(batch, seq, dim))
        return x + self.mlp(self.norm2(x))


def test_training_steps_match_sdpa():
    """A few Adam steps of a tiny causal block on our attention reach the loss torch's SDPA reaches."""
    from tilekernels.modules import ScaledDotProductAttention

    losses = {}
    for name, attention in [("ours", ScaledDotProductAttention(is_causal=True)),
                            ("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))]:
        torch.manual_seed(0)
        block = TinyBlock(32, 4, attention)
        optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
        x, target = torch.randn(4, 24, 32), torch.randn(4, 24, 32)
        for _ in range(10):
            optimizer.zero_grad()
            loss = F.mse_loss(block(x), target)
            loss.backward()
            optimizer.step()
        losses[name] = loss.item()
    assert losses["ours"] < 0.9  # it learned (the first loss is about 1.3)
    assert abs(losses["ours"] - losses["sdpa"]) <= 1e-4 * losses["sdpa"], losses
