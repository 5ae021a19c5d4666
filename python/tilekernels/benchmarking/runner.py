"""Runs the bmm and attention suites: torch and every other implementation timed in the same run,
errors against a float64 reference, ratios against torch, roofline floors per shape."""

import importlib.util
import math
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

import torch
import torch.nn.functional as F

from tilekernels.benchmarking.suites import (ATTENTION_CPU_SUITE, ATTENTION_SUITE, BMM_CPU_SUITE, BMM_SUITE,
                                             ELEMENT_BYTES, H100_CEILINGS, floors_ms)
from tilekernels.benchmarking.timing import time_ms

BMM_MODES = {  # mode -> (dtype, fp32 matmul precision)
    "fp16": (torch.float16, "highest"),
    "bf16": (torch.bfloat16, "highest"),
    "tf32": (torch.float32, "high"),
    "fp32": (torch.float32, "highest"),
}
ATTENTION_MODES = {  # mode -> (dtype, fp32 matmul precision)
    "fp16": (torch.float16, "highest"),
    "bf16": (torch.bfloat16, "highest"),
    "tf32": (torch.float32, "high"),
    "fp32": (torch.float32, "highest"),
}
# fp32 / tf32 attention is benchmarked where ANCHORS.md has fp32 (it is slow for torch).
ATTENTION_FP32_SHAPES = ("kb97", "d128")


@contextmanager
def matmul_precision(precision: str):
    saved = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(saved)


def load_baseline(directory: Optional[str], name: str):
    """The seed Triton kernels (shared/baselines), when a directory holding them is given."""
    if not directory:
        return None
    path = Path(directory) / f"{name}.py"
    if not path.exists() or importlib.util.find_spec("triton") is None:
        return None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relative_error(out: torch.Tensor, reference: torch.Tensor) -> float:
    return ((out.double() - reference).norm() / reference.norm()).item()


def _time(fn: Callable[[], torch.Tensor], device: torch.device, reps: int) -> Optional[float]:
    try:
        return time_ms(fn, device, reps=reps)["median_ms"]
    except (RuntimeError, ValueError, NotImplementedError):
        return None


def bmm_operands(shape, dtype: torch.dtype, device, sample: Callable = torch.rand):
    """A and B of a suite shape, drawn by `sample` (torch.rand, torch.randn); B as a transposed view
    (k contiguous) when the shape says so."""
    a = sample(shape.batch, shape.m, shape.k, device=device).to(dtype)
    if shape.b_transposed:
        b = sample(shape.batch, shape.n, shape.k, device=device).to(dtype).transpose(1, 2)
    else:
        b = sample(shape.batch, shape.k, shape.n, device=device).to(dtype)
    return a, b


def _no_progress(items, description: str):
    return items


def bench_bmm(shapes: Dict, modes: Iterable[str], device: torch.device, reps: int = 50,
              baselines: Optional[str] = None, ceilings: Dict[str, float] = H100_CEILINGS,
              track: Callable = _no_progress) -> List[dict]:
    """`track(items, description)` wraps the (shape, mode) loop: a progress bar in the CLI."""
    seed = load_baseline(baselines, "seed_bmm_triton") if device.type == "cuda" else None
    rows = []
    jobs = [(name, shape, mode) for name, shape in shapes.items() for mode in modes]
    for name, shape, mode in track(jobs, "bench bmm"):
        dtype, precision = BMM_MODES[mode]
        a, b = bmm_operands(shape, dtype, device)
        reference = torch.bmm(a.double(), b.double())
        impls = {
            "torch.bmm": lambda: torch.bmm(a, b),
            "tilekernels": lambda: torch.ops.kernels.bmm(a, b, precision=precision),
        }
        if seed is not None and mode != "bf16":
            impls["seed_triton"] = lambda: seed.triton_bmm_optimized(a, b)
        compute_floor, memory_floor = floors_ms(shape.flops(), shape.bytes(ELEMENT_BYTES[mode]), mode, ceilings)
        torch_ms = None
        with matmul_precision(precision):
            for impl, fn in impls.items():
                ms = _time(fn, device, reps)
                if impl == "torch.bmm":
                    torch_ms = ms
                error = relative_error(fn(), reference) if ms is not None else None
                rows.append(dict(suite="bmm", shape=name, mode=mode, impl=impl, ms=ms,
                                 tflops=shape.flops() / ms / 1e9 if ms else None,
                                 gbs=shape.bytes(ELEMENT_BYTES[mode]) / ms / 1e6 if ms else None,
                                 speedup_vs_torch=torch_ms / ms if ms and torch_ms else None,
                                 relerr=error, compute_floor_ms=compute_floor, memory_floor_ms=memory_floor))
        del a, b, reference
    return rows


def _sdpa_backends():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return {
        "sdpa_flash": lambda: sdpa_kernel(SDPBackend.FLASH_ATTENTION),
        "sdpa_efficient": lambda: sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION),
        "sdpa_cudnn": lambda: sdpa_kernel(SDPBackend.CUDNN_ATTENTION),
    }


def attention_operands(shape, dtype, device):
    """q [batch, heads, seq, dim] and k, v with the shape's kv heads: uniform in [0, 1)."""
    def make(heads):
        return torch.rand(shape.batch, heads, shape.seq, shape.dim, device=device).to(dtype)

    return make(shape.heads), make(shape.kv_heads), make(shape.kv_heads)


def sdpa(q, k, v, causal):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=k.shape[1] != q.shape[1])


def attention_reference(q, k, v, causal, heads=2):
    """float64 reference on the first batch and `heads` query heads (bounded memory for long sequences)."""
    group = q.shape[1] // k.shape[1]
    k, v = (t.repeat_interleave(group, 1) if group > 1 else t for t in (k[:1, :heads], v[:1, :heads]))
    q, k, v = (t[:1, :heads].double() for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, -1) @ v


def bench_attention(shapes: Dict, modes: Iterable[str], device: torch.device, reps: int = 30,
                    baselines: Optional[str] = None, ceilings: Dict[str, float] = H100_CEILINGS,
                    backends: bool = True, track: Callable = _no_progress) -> List[dict]:
    """`track(items, description)` wraps the (shape, mode) loop: a progress bar in the CLI."""
    seed = load_baseline(baselines, "seed_sdpa_triton") if device.type == "cuda" else None
    rows = []
    jobs = [(name, shape, mode) for name, shape in shapes.items() for mode in modes
            if not (ATTENTION_MODES[mode][0] == torch.float32 and device.type == "cuda"
                    and name not in ATTENTION_FP32_SHAPES)]
    for name, shape, mode in track(jobs, "bench attention"):
        dtype, precision = ATTENTION_MODES[mode]
        q, k, v = attention_operands(shape, dtype, device)
        reference = attention_reference(q, k, v, shape.causal)
        causal = shape.causal
        impls = {"sdpa_default": (nullcontext, lambda: sdpa(q, k, v, causal))}
        if backends and device.type == "cuda":
            for backend, context in _sdpa_backends().items():
                impls[backend] = (context, lambda: sdpa(q, k, v, causal))
        impls["tilekernels"] = (nullcontext, lambda: torch.ops.kernels.attention(q, k, v, is_causal=causal))
        if seed is not None and mode == "fp16" and not causal and shape.kv_heads == shape.heads:
            impls["seed_triton"] = (nullcontext, lambda: seed.triton_scaled_dot_product_attention(q, k, v))
        compute_floor, memory_floor = floors_ms(shape.flops(), shape.bytes(q.element_size()), mode, ceilings)
        torch_ms = None
        with matmul_precision(precision):
            for impl, (context, fn) in impls.items():
                with context():
                    ms = _time(fn, device, reps)
                    error = relative_error(fn()[:1, :2], reference) if ms is not None else None
                if impl == "sdpa_default":
                    torch_ms = ms
                rows.append(dict(suite="attention", shape=name, mode=mode, impl=impl, ms=ms,
                                 tflops=shape.flops() / ms / 1e9 if ms else None,
                                 gbs=shape.bytes(q.element_size()) / ms / 1e6 if ms else None,
                                 speedup_vs_torch=torch_ms / ms if ms and torch_ms else None,
                                 relerr=error, compute_floor_ms=compute_floor, memory_floor_ms=memory_floor))
        del q, k, v, reference
    return rows


def default_suites(device: torch.device):
    if device.type == "cuda":
        return BMM_SUITE, ATTENTION_SUITE
    return BMM_CPU_SUITE, ATTENTION_CPU_SUITE


def measure_ceilings(device: torch.device) -> Dict[str, float]:
    """Re-measures the matmul and copy ceilings on this GPU (cuBLAS 8192^3, a 4 GiB copy)."""
    ceilings = {}
    size = 8192
    for mode, (dtype, precision) in BMM_MODES.items():
        a = torch.randn(size, size, device=device).to(dtype)
        with matmul_precision(precision):
            ms = time_ms(lambda: a @ a, device, reps=10)["median_ms"]
        ceilings[mode] = 2 * size**3 / ms / 1e9
    src = torch.empty(1 << 31, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src), device, reps=10)["median_ms"]
    ceilings["copy_tbs"] = 2 * src.numel() / ms / 1e9
    return ceilings
