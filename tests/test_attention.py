"""kernels::attention against SDPA and a float64 reference, on CPU always and on CUDA when present."""

import math

import pytest
import torch
import torch.nn.functional as F

import tilekernels

from conftest import DEVICES
from helpers import (DTYPES, assert_close_to_reference, assert_kernelbench_close, poison_allocator, random_tensor)


def reference_attention(q, k, v, is_causal, scale):
    """float64 SDPA with GQA, causal top-left as torch's is_causal, plus the log-sum-exp per row."""
    q, k, v = q.double(), k.double(), v.double()
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = scale * q @ k.transpose(-1, -2)
    if is_causal:
        mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v, torch.logsumexp(scores, dim=-1)


def torch_attention(q, k, v, is_causal, scale):
    return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal, scale=scale, enable_gqa=k.shape[1] != q.shape[1])


def atol_for(dtype):
    return {torch.float16: 2e-3, torch.bfloat16: 1.5e-2, torch.float32: 2e-5}[dtype]


def check_attention(q, k, v, is_causal=False, scale=None, op=None):
    reference, reference_lse = reference_attention(q, k, v, is_causal, scale)
    theirs = torch_attention(q, k, v, is_causal, scale)
    poison_allocator(q.device)
    op = op or (lambda *args, **kw: torch.ops.kernels.attention_with_lse(*args, **kw))
    ours, lse = op(q, k, v, is_causal=is_causal, scale=scale)
    assert ours.dtype == q.dtype and ours.shape == theirs.shape and ours.is_contiguous()
    assert_close_to_reference(ours, theirs, reference, atol=atol_for(q.dtype))
    assert lse.dtype == torch.float32 and lse.shape == q.shape[:3]
    # An LSE is a row's largest score plus a log: its error scales with the scores, not with the LSE
    # itself, which can be near zero (rtol then helps nothing).
    finite = reference_lse[torch.isfinite(reference_lse)]
    magnitude = max(1.0, finite.abs().max().item()) if finite.numel() else 1.0
    atol = 1e-3 if q.dtype != torch.float32 else 1e-5 * magnitude
    torch.testing.assert_close(lse.double(), reference_lse, atol=atol, rtol=1e-4)
    return ours, theirs


def qkv(batch, heads, heads_kv, seq_q, seq_k, dim, dtype, device, distribution="randn"):
    return (random_tensor((batch, heads, seq_q, dim), dtype, device, distribution),
            random_tensor((batch, heads_kv, seq_k, dim), dtype, device, distribution),
            random_tensor((batch, heads_kv, seq_k, dim), dtype, device, distribution))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("dim", [8, 24, 64, 72, 128])
def test_attention_head_dims(device, dtype, is_causal, dim):
    check_attention(*qkv(2, 3, 3, 77, 77, dim, dtype, device), is_causal=is_causal)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("seq_q, seq_k", [(1, 1), (1, 17), (17, 1), (17, 100), (100, 17), (130, 130)])
def test_attention_lengths(device, dtype, is_causal, seq_q, seq_k):
    check_attention(*qkv(2, 2, 2, seq_q, seq_k, 64, dtype, device), is_causal=is_causal)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("heads, heads_kv", [(8, 2), (6, 1), (4, 4)])
def test_attention_grouped_query(device, dtype, heads, heads_kv):
    check_attention(*qkv(2, heads, heads_kv, 40, 56, 32, dtype, device), is_causal=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_scale(device, dtype):
    check_attention(*qkv(1, 2, 2, 33, 45, 64, dtype, device), scale=0.3)
    check_attention(*qkv(1, 2, 2, 33, 45, 64, dtype, device), is_causal=True, scale=1.7)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("scale", [4.0, 8.0])
def test_attention_fp32_large_logits(device, is_causal, scale):
    """Softmax turns an absolute error of scale * q.k into a relative error of p, so the fp32 score
    product must be accurate to a few fp32 ulps of sum |q k|, not just to 1e-6 relative: a bf16
    rounding of the cross terms (2^-19) failed this for most draws."""
    check_attention(*qkv(2, 8, 8, 33, 45, 64, torch.float32, device), is_causal=is_causal, scale=scale)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [64, 128])
def test_attention_fp32_long_keys(device, dim):
    """16384 keys of rand values (p near uniform, v all positive): a sum chained through the tensor
    cores' truncating accumulator drifts by about one ulp per k step, coherently."""
    q, k, v = qkv(1, 2, 2, 64, 16384, dim, torch.float32, device, "rand")
    ours, theirs = check_attention(q, k, v)
    assert_kernelbench_close(ours, theirs)


def fp16x3_rows(q, k, v):
    """The compiled fp16x3 attention rows (fp32 split into fp16 pieces) that can serve this call."""
    candidates = tilekernels.explain("attention", q, k, v)["candidates"]
    return [c["id"] for c in tilekernels.tile_configs("attention") if c["math"] == "fp16x3" and c["id"] in candidates]


@pytest.mark.cuda
@pytest.mark.parametrize("where", ["q", "k", "v"])
def test_attention_fp32_pieces_outside_fp16_range(where):
    """fp16x3 rows cannot represent 7e4 (fp16 stops at 65504): the 128-row tiles that meet it flag
    themselves and rerun on the exact row, the others keep the fp16x3 result; both must be right,
    relative to each output's scale."""
    torch.set_float32_matmul_precision("highest")
    q, k, v = qkv(2, 2, 2, 300, 300, 1000, torch.float32, "cuda")
    {"q": q, "k": k, "v": v}[where][1, 0, 140, 3] = 7e4
    rows = fp16x3_rows(q, k, v)
    if not rows:
        pytest.skip("no fp16x3 attention row runs on this GPU")
    for config in rows:
        for is_causal in (False, True):
            reference, _ = reference_attention(q, k, v, is_causal, None)
            # Each output's own error scale, sum_j p_j |v_j|: with 7e4 in v, outputs reach thousands,
            # where fp32 rounding (ours and torch's alike) swamps an absolute tolerance. Each element
            # may err by twice torch's largest error relative to that scale, plus 4e-6 of it (the
            # exact rerun's 3xTF32 scores carry about 1e-7 of sum_d |q_d k_d|, a few times torch's
            # fp32 error, and a large v amplifies it: measured up to 2.1e-6 of the scale over 90
            # draws, torch's 1.1e-6), plus the usual 2e-5.
            scale, _ = reference_attention(q, k, v.abs(), is_causal, None)
            theirs = torch_attention(q, k, v, is_causal, None)
            torch_relative = ((theirs.double() - reference).abs() / scale).max().item()
            poison_allocator("cuda")
            ours, _ = torch.ops.kernels._attention_with_config(q, k, v, config, is_causal)
            assert not torch.isnan(ours).any(), "result has NaN (unwritten or broken elements)"
            excess = (ours.double() - reference).abs() - ((2 * torch_relative + 4e-6) * scale + 2e-5)
            assert excess.max().item() <= 0, (config, is_causal, excess.max().item(), torch_relative)


@pytest.mark.cuda
def test_attention_fp32_pieces_nan_input():
    """A NaN query element: its row is NaN as in torch, every other row (its tile reruns exactly) is not."""
    torch.set_float32_matmul_precision("highest")
    q, k, v = qkv(1, 2, 2, 200, 200, 512, torch.float32, "cuda")
    q[0, 1, 70, 9] = float("nan")
    rows = fp16x3_rows(q, k, v)
    if not rows:
        pytest.skip("no fp16x3 attention row runs on this GPU")
    reference, _ = reference_attention(q, k, v, False, None)
    for config in rows:
        poison_allocator("cuda")
        ours, _ = torch.ops.kernels._attention_with_config(q, k, v, config, False)
        nan_rows = torch.isnan(ours).any(-1)
        assert nan_rows[0, 1, 70] and nan_rows.sum().item() == 1, nan_rows.nonzero().tolist()
        finite = ~torch.isnan(reference)
        assert (ours.double()[finite] - reference[finite]).abs().max().item() < 2e-5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_strided_views(device, dtype):
    # minGPT: x [B, S, 3 * H * D] split into q, k, v and viewed as [B, H, S, D] (transposed strides).
    batch, seq, heads, dim = 2, 50, 4, 32
    x = random_tensor((batch, seq, 3 * heads * dim), dtype, device)
    q, k, v = (t.view(batch, seq, heads, dim).transpose(1, 2) for t in x.split(heads * dim, dim=2))
    check_attention(q, k, v, is_causal=True)
    # Last dim not contiguous, and a pointer off a 16-byte boundary.
    q2 = random_tensor((2, 3, 40, 16), dtype, device).transpose(-1, -2).contiguous().transpose(-1, -2)
    flat = random_tensor((2 * 3 * 40 * 16 + 1,), dtype, device)
    k2 = flat[1:].view(2, 3, 40, 16)
    check_attention(q2, k2, random_tensor((2, 3, 40, 16), dtype, device))


@pytest.mark.parametrize("device", DEVICES)
def test_attention_rows_seeing_one_key(device):
    """Causal rows see keys j <= i: row 0 sees exactly one key, so its output is v[0]."""
    q, k, v = qkv(1, 2, 2, 20, 20, 16, torch.float32, device)
    out, _ = check_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out[:, :, 0], v[:, :, 0], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_attention_fp32_passes_kernelbench(device):
    torch.set_float32_matmul_precision("highest")
    ours, theirs = check_attention(*qkv(2, 2, 2, 128, 128, 128, torch.float32, device, "rand"))
    assert_kernelbench_close(ours, theirs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_empty_and_keyless(device, dtype):
    q, k, v = qkv(2, 2, 2, 0, 5, 16, dtype, device)
    assert torch.ops.kernels.attention(q, k, v).shape == (2, 2, 0, 16)
    q, k, v = qkv(2, 2, 2, 4, 0, 16, dtype, device)
    out, lse = torch.ops.kernels.attention_with_lse(q, k, v)
    assert torch.equal(out, torch.zeros_like(out)) and torch.isneginf(lse).all()


@pytest.mark.parametrize("device", DEVICES)
def test_attention_functional_and_module(device):
    import tilekernels

    q, k, v = qkv(1, 2, 2, 9, 9, 16, torch.float32, device)
    expected = torch_attention(q, k, v, True, None)
    torch.testing.assert_close(tilekernels.attention(q, k, v, is_causal=True), expected, atol=1e-5, rtol=1e-5)
    module = tilekernels.ScaledDotProductAttention(is_causal=True)
    torch.testing.assert_close(module(q, k, v), expected, atol=1e-5, rtol=1e-5)


def warp_specialized_candidates(q, k, v, is_causal):
    plan = tilekernels.explain("attention", q, k, v, is_causal)
    names = {c["id"]: c for c in tilekernels.tile_configs("attention")}
    return [i for i in plan["candidates"] if names[i]["kernel"] == "warp_specialized"]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_attention_warp_specialized_layouts(dtype):
    """The TMA rows read q, k and v through 4-D tensor maps (column, row, head, batch): every layout
    a map must describe, forced on each such row the GPU runs."""
    if not any(c["kernel"] == "warp_specialized" and c["compiled"] and c["min_arch"] <= 90
               for c in tilekernels.tile_configs("attention")) or torch.cuda.get_device_capability()[0] != 9:
        pytest.skip("no warp-specialized rows for this GPU")
    batch, heads, heads_kv = 2, 4, 2

    def bshd(seq, h, dim):  # [B, S, H, D] viewed as [B, H, S, D]: head stride < row stride
        return random_tensor((batch, seq, h, dim), dtype, "cuda").transpose(1, 2)

    def expanded_heads(seq, dim):  # one kv head shared by all (head stride 0)
        return random_tensor((batch, 1, seq, dim), dtype, "cuda").expand(batch, heads_kv, seq, dim)

    def expanded_batch(seq, h, dim):  # batch stride 0
        return random_tensor((1, h, seq, dim), dtype, "cuda").expand(batch, h, seq, dim)

    cases = {
        "bshd": lambda d: (bshd(200, heads, d), bshd(333, heads_kv, d), bshd(333, heads_kv, d)),
        "expanded kv heads": lambda d: (random_tensor((batch, heads, 130, d), dtype, "cuda"),
                                        expanded_heads(257, d), expanded_heads(257, d)),
        "expanded batch": lambda d: (expanded_batch(64, heads, d), expanded_batch(100, heads_kv, d),
                                     random_tensor((batch, heads_kv, 100, d), dtype, "cuda")),
        "one row and key": lambda d: tuple(random_tensor((batch, h, 1, d), dtype, "cuda")
                                           for h in (heads, heads_kv, heads_kv)),
        "partial tiles": lambda d: (random_tensor((batch, heads, 17, d), dtype, "cuda"),
                                    random_tensor((batch, heads_kv, 300, d), dtype, "cuda"),
                                    random_tensor((batch, heads_kv, 300, d), dtype, "cuda")),
    }
    forced = set()
    for dim in (64, 120, 128, 256):
        for name, make in cases.items():
            q, k, v = make(dim)
            for is_causal in (False, True):
                configs = warp_specialized_candidates(q, k, v, is_causal)
                assert configs, (name, dim, "no warp-specialized row serves this layout")
                reference, reference_lse = reference_attention(q, k, v, is_causal, None)
                theirs = torch_attention(q, k, v, is_causal, None)
                for config in configs:
                    poison_allocator("cuda")
                    ours, lse = torch.ops.kernels._attention_with_config(q, k, v, config, is_causal)
                    assert_close_to_reference(ours, theirs, reference, atol=atol_for(dtype))
                    torch.testing.assert_close(lse.double(), reference_lse, atol=1e-3, rtol=1e-4)
                    forced.add(config)
    assert len(forced) >= 3, forced


@pytest.mark.cuda
@pytest.mark.parametrize("op", ["attention", "bmm"])
def test_first_cuda_work_of_a_new_thread(op):
    """A thread whose first CUDA work is one of our ops (autograd's backward threads are such) has no
    current CUDA context until the runtime makes one current: the Hopper rows encode tensor maps
    through the driver, which needs it."""
    import threading

    if op == "attention":
        args = [random_tensor((2, 4, 300, 64), torch.float16, "cuda") for _ in range(3)]
        run = lambda: torch.ops.kernels.attention(*args)  # noqa: E731
    else:
        args = [random_tensor((4, 512, 512), torch.float16, "cuda") for _ in range(2)]
        run = lambda: torch.ops.kernels.bmm(*args)  # noqa: E731
    expected = run()
    torch.cuda.synchronize()
    results = []

    def in_thread():
        try:
            results.append(run())
            torch.cuda.synchronize()
        except Exception as error:  # noqa: BLE001 - reported below
            results.append(error)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert not isinstance(results[0], Exception), results[0]
    assert torch.equal(results[0], expected)
