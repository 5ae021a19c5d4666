"""ModelNew drop-ins against the KernelBench problem definitions (written here, small shapes on CPU,
the real shapes on CUDA)."""

import pytest
import torch
import torch.nn as nn

from conftest import DEVICES
from helpers import assert_kernelbench_close


# KernelBench level1/3_Batched_matrix_multiplication.py
class BmmModel(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.bmm(A, B)


def bmm_get_inputs(batch_size=128, m=128 * 4, k=256 * 4, n=512 * 4):
    return [torch.rand(batch_size, m, k), torch.rand(batch_size, k, n)]


# KernelBench level1/97_ScaledDotProductAttention.py
class SdpaModel(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, Q, K, V):
        return torch.nn.functional.scaled_dot_product_attention(Q, K, V)


def sdpa_get_inputs(batch_size=32, num_heads=32, sequence_length=512, embedding_dimension=1024):
    shape = (batch_size, num_heads, sequence_length, embedding_dimension)
    return [torch.rand(shape), torch.rand(shape), torch.rand(shape)]


SMALL_BMM = dict(batch_size=4, m=64, k=96, n=80)
SMALL_SDPA = dict(batch_size=2, num_heads=2, sequence_length=64, embedding_dimension=128)


def run_problem(model_class, new_class, inputs, device, dtype):
    torch.set_float32_matmul_precision("highest")
    model = model_class().to(device=device, dtype=dtype)
    new = new_class().to(device=device, dtype=dtype)
    assert list(new.state_dict()) == list(model.state_dict())
    inputs = [x.to(device=device, dtype=dtype) for x in inputs]
    with torch.no_grad():
        assert_kernelbench_close(new(*inputs), model(*inputs))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_bmm_model_new(device, dtype):
    from tilekernels.kernelbench.bmm import ModelNew

    run_problem(BmmModel, ModelNew, bmm_get_inputs(**SMALL_BMM), device, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_sdpa_model_new(device, dtype):
    from tilekernels.kernelbench.attention import ModelNew

    run_problem(SdpaModel, ModelNew, sdpa_get_inputs(**SMALL_SDPA), device, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_bmm_model_new_full_size(dtype):
    from tilekernels.kernelbench.bmm import ModelNew

    run_problem(BmmModel, ModelNew, bmm_get_inputs(), "cuda", dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_sdpa_model_new_full_size(dtype):
    from tilekernels.kernelbench.attention import ModelNew

    run_problem(SdpaModel, ModelNew, sdpa_get_inputs(), "cuda", dtype)
