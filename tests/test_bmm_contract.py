"""kernels::bmm as a torch op: bad inputs, opcheck, autograd, torch.compile."""

import pytest
import torch

from conftest import DEVICES
from helpers import random_tensor


@pytest.mark.parametrize(
    "a_shape, b_shape, dtypes, message",
    [
        ((4, 5), (4, 5, 6), (torch.float32, torch.float32), "a must be a 3-D tensor"),
        ((2, 4, 5), (5, 6), (torch.float32, torch.float32), "b must be a 3-D tensor"),
        ((2, 4, 5), (3, 5, 6), (torch.float32, torch.float32), "batch sizes differ"),
        ((2, 4, 5), (2, 6, 6), (torch.float32, torch.float32), "inner dimensions differ"),
        ((2, 4, 5), (2, 5, 6), (torch.float32, torch.float16), "same dtype"),
        ((2, 4, 5), (2, 5, 6), (torch.float64, torch.float64), "unsupported dtype float64"),
        ((2, 4, 5), (2, 5, 6), (torch.int32, torch.int32), "unsupported dtype int32"),
    ],
)
@pytest.mark.parametrize("device", DEVICES)
def test_bmm_rejects_bad_input(device, a_shape, b_shape, dtypes, message):
    a = torch.ones(a_shape, dtype=dtypes[0], device=device)
    b = torch.ones(b_shape, dtype=dtypes[1], device=device)
    with pytest.raises(ValueError, match=message):
        torch.ops.kernels.bmm(a, b)


@pytest.mark.parametrize("device", DEVICES)
def test_bmm_rejects_bad_out_and_precision(device):
    a = random_tensor((2, 4, 5), torch.float32, device)
    b = random_tensor((2, 5, 6), torch.float32, device)
    with pytest.raises(ValueError, match="out must have shape"):
        torch.ops.kernels.bmm.out(a, b, out=torch.empty(2, 4, 7, device=device))
    with pytest.raises(ValueError, match="out must have dtype"):
        torch.ops.kernels.bmm.out(a, b, out=torch.empty(2, 4, 6, dtype=torch.float16, device=device))
    with pytest.raises(ValueError, match="precision must be one of"):
        torch.ops.kernels.bmm(a, b, precision="fastest")


@pytest.mark.cuda
def test_bmm_rejects_mixed_devices():
    a = random_tensor((2, 4, 5), torch.float32, "cuda")
    b = random_tensor((2, 5, 6), torch.float32, "cpu")
    with pytest.raises(ValueError, match="same device"):
        torch.ops.kernels.bmm(a, b)
    with pytest.raises(ValueError, match="out must be on"):
        torch.ops.kernels.bmm.out(a, b.cuda(), out=torch.empty(2, 4, 6))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_bmm_opcheck(device, dtype):
    samples = [
        (random_tensor((2, 8, 12), dtype, device), random_tensor((2, 12, 5), dtype, device)),
        (random_tensor((3, 12, 8), dtype, device).transpose(1, 2), random_tensor((3, 12, 4), dtype, device)),
    ]
    for a, b in samples:
        torch.library.opcheck(torch.ops.kernels.bmm.default, (a, b))
        a.requires_grad_(True)
        b.requires_grad_(True)
        torch.library.opcheck(torch.ops.kernels.bmm.default, (a, b))
    out = torch.empty(2, 8, 5, dtype=dtype, device=device)
    torch.library.opcheck(torch.ops.kernels.bmm.out, (samples[0][0].detach(), samples[0][1].detach()), {"out": out})


@pytest.mark.parametrize("device", DEVICES)
def test_bmm_gradcheck(device):
    # bmm is bilinear, so central differences are exact up to fp32 rounding.
    a = random_tensor((2, 5, 4), torch.float32, device).requires_grad_(True)
    b = random_tensor((2, 4, 3), torch.float32, device).requires_grad_(True)
    bmm = lambda x, y: torch.ops.kernels.bmm(x, y, precision="highest")  # noqa: E731
    assert torch.autograd.gradcheck(bmm, (a, b), eps=1e-2, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_bmm_gradients_match_torch(device):
    a = random_tensor((3, 7, 9), torch.float32, device).requires_grad_(True)
    b = random_tensor((3, 9, 5), torch.float32, device).requires_grad_(True)
    grad = random_tensor((3, 7, 5), torch.float32, device)
    torch.ops.kernels.bmm(a, b, precision="highest").backward(grad)
    ours = (a.grad.clone(), b.grad.clone())
    a.grad = b.grad = None
    torch.bmm(a, b).backward(grad)
    torch.testing.assert_close(ours[0], a.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours[1], b.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_bmm_torch_compile_fullgraph(device):
    torch._dynamo.reset()
    mode = "reduce-overhead" if device == "cuda" else None

    @torch.compile(fullgraph=True, mode=mode)
    def f(x, y):
        return torch.ops.kernels.bmm(x, y) * 2

    x = random_tensor((2, 16, 24), torch.float32, device)
    y = random_tensor((2, 24, 8), torch.float32, device)
    for _ in range(3):  # reduce-overhead records a CUDA graph on a later call
        result = f(x, y)
    torch.testing.assert_close(result, torch.bmm(x, y) * 2, atol=1e-4, rtol=1e-4)
