"""kernels::attention as a torch op: bad inputs, opcheck, autograd, torch.compile."""

import pytest
import torch

from conftest import DEVICES
from helpers import random_tensor


def ones(shape, device, dtype=torch.float32):
    return torch.ones(shape, dtype=dtype, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_attention_rejects_bad_input(device):
    good = ones((1, 4, 8, 16), device)
    kv = ones((1, 2, 8, 16), device)
    cases = [
        ((ones((4, 8, 16), device), good, good), "q must be a 4-D tensor"),
        ((good, ones((4, 8, 16), device), good), "k must be a 4-D tensor"),
        ((good, ones((2, 4, 8, 16), device), ones((2, 4, 8, 16), device)), "batch sizes differ"),
        ((good, ones((1, 3, 8, 16), device), ones((1, 3, 8, 16), device)), "multiple of k/v's heads"),
        ((good, kv, ones((1, 2, 9, 16), device)), "same sequence length"),
        ((good, ones((1, 4, 8, 32), device), good), "same head dim"),
        ((good, kv, ones((1, 4, 8, 16), device)), "same number of heads"),
        ((good, good.half(), good), "same dtype"),
        ((good.double(), good.double(), good.double()), "unsupported dtype float64"),
        ((ones((1, 1, 2, 1040), device),) * 3, "exceeds the supported maximum of 1024"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            torch.ops.kernels.attention(*args)
    with pytest.raises(ValueError, match="scale must be finite"):
        torch.ops.kernels.attention(good, good, good, scale=float("inf"))


@pytest.mark.cuda
def test_attention_rejects_mixed_devices():
    q = torch.ones(1, 2, 4, 8, device="cuda")
    with pytest.raises(ValueError, match="same device"):
        torch.ops.kernels.attention(q, q.cpu(), q)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_attention_opcheck(device, dtype):
    q = random_tensor((2, 4, 12, 16), dtype, device)
    k = random_tensor((2, 2, 10, 16), dtype, device)
    v = random_tensor((2, 2, 10, 16), dtype, device)
    torch.library.opcheck(torch.ops.kernels.attention.default, (q, k, v), {"is_causal": True},
                          test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static",
                                      "test_aot_dispatch_dynamic"))
    torch.library.opcheck(torch.ops.kernels.attention_with_lse.default, (q, k, v), {"scale": 0.5},
                          test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_dynamic"))


@pytest.mark.parametrize("device", DEVICES)
def test_attention_torch_compile_fullgraph(device):
    torch._dynamo.reset()
    mode = "reduce-overhead" if device == "cuda" else None

    @torch.compile(fullgraph=True, mode=mode)
    def f(q, k, v):
        return torch.ops.kernels.attention(q, k, v, is_causal=True) + 1

    q = random_tensor((1, 4, 32, 64), torch.float16, device)
    k = random_tensor((1, 2, 32, 64), torch.float16, device)
    v = random_tensor((1, 2, 32, 64), torch.float16, device)
    for _ in range(3):
        result = f(q, k, v)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True) + 1
    torch.testing.assert_close(result, expected, atol=2e-3, rtol=2e-3)
