"""Several GPUs in one process (issue #21): every op on the inputs' GPU whichever GPU is current, on
torch's current stream of that GPU, leaving the current device alone; one thread per GPU from a cold
start; a clear error for inputs on two devices. GPU tests need two GPUs (skipped otherwise); the
checks of calls that mix in a meta tensor or trace over two GPUs run everywhere.

Run as a script (python tests/test_multi_gpu.py SECONDS own|other), it is the two-thread stress run
that test_two_threads_one_per_gpu_from_a_cold_start starts in a fresh process."""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest
import torch

import tilekernels
from helpers import assert_close_to_reference, nan_like, poison_allocator, random_tensor
from test_attention import atol_for as attention_atol
from test_attention import reference_attention, torch_attention
from test_bmm import atol_for as bmm_atol

GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0
two_gpus = pytest.mark.skipif(GPUS < 2, reason=f"needs 2 CUDA GPUs, found {GPUS}")

# (GPU holding the tensors, GPU that is current during the call)
PAIRS = [pytest.param(1, 0, id="cuda1-from-cuda0"), pytest.param(0, 1, id="cuda0-from-cuda1")]
# (dtype, float32 matmul precision)
CASES = [
    pytest.param(torch.float16, "highest", id="fp16"),
    pytest.param(torch.bfloat16, "highest", id="bf16"),
    pytest.param(torch.float32, "highest", id="fp32"),
    pytest.param(torch.float32, "high", id="tf32"),
]
# A small odd shape, and one large enough for the persistent TMA rows on sm_90a (resident-CTA cache,
# shared-memory opt-in, tensor maps).
BMM_SHAPES = [(3, 77, 45, 100), (4, 384, 512, 256)]
# GPU cycles of busy-waiting (about half a second) queued on a side stream ahead of the inputs.
BUSY_WAIT_CYCLES = 10**9


def tf32(dtype, precision):
    return dtype == torch.float32 and precision == "high"


@contextlib.contextmanager
def current_gpu(index):
    """Makes cuda:index current for the block; restores the previous current device afterwards."""
    saved = torch.cuda.current_device()
    torch.cuda.set_device(index)
    try:
        yield
    finally:
        torch.cuda.set_device(saved)


def keeping_current_device(fn):
    """fn(), checking that it left the current device as it found it."""
    before = torch.cuda.current_device()
    result = fn()
    after = torch.cuda.current_device()
    assert after == before, f"the op changed the current device from cuda:{before} to cuda:{after}"
    return result


def check_bmm(ours, a, b, precision, device):
    assert ours.device == device, f"output on {ours.device}, inputs on {device}"
    reference = torch.bmm(a.double(), b.double())
    if tf32(a.dtype, precision):  # TF32 operands: 10-bit mantissas (test_tuning's bound)
        assert not torch.isnan(ours).any(), "result has NaN (unwritten or broken elements)"
        relative = ((ours.double() - reference).norm() / reference.norm()).item()
        assert relative < 2e-3, relative
    else:
        assert_close_to_reference(ours, torch.bmm(a, b), reference, atol=bmm_atol(a.dtype, a.shape[2]))


def check_attention(out, lse, q, k, v, is_causal, device, lse_atol=None):
    """lse may be None (kernels.attention). fp32 follows torch's matmul precision, as the op does."""
    assert out.device == device, f"output on {out.device}, inputs on {device}"
    reference, reference_lse = reference_attention(q, k, v, is_causal, None)
    if tf32(q.dtype, torch.get_float32_matmul_precision()):
        assert not torch.isnan(out).any(), "result has NaN (unwritten or broken elements)"
        relative = ((out.double() - reference).norm() / reference.norm()).item()
        assert relative < 2e-3, relative
        lse_tol = {"atol": 1e-2, "rtol": 1e-3}
    else:
        assert_close_to_reference(out, torch_attention(q, k, v, is_causal, None), reference,
                                  atol=attention_atol(q.dtype))
        finite = reference_lse[torch.isfinite(reference_lse)]
        magnitude = max(1.0, finite.abs().max().item()) if finite.numel() else 1.0
        lse_tol = {"atol": 1e-3 if q.dtype != torch.float32 else 1e-5 * magnitude, "rtol": 1e-4}
    if lse is not None:
        assert lse.device == device
        torch.testing.assert_close(lse.double(), reference_lse, **dict(lse_tol, atol=lse_atol or lse_tol["atol"]))


def qkv(dtype, device, dim=64, seq=200):
    return (random_tensor((2, 4, seq, dim), dtype, device), random_tensor((2, 2, seq, dim), dtype, device),
            random_tensor((2, 2, seq, dim), dtype, device))


# --- each op on the tensors' GPU, the other GPU current ----------------------------------------------


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("tensor_gpu, current", PAIRS)
@pytest.mark.parametrize("dtype, precision", CASES)
def test_bmm_on_the_inputs_gpu(tensor_gpu, current, dtype, precision):
    device = torch.device("cuda", tensor_gpu)
    with current_gpu(current):
        for batch, m, n, k in BMM_SHAPES:
            a = random_tensor((batch, m, k), dtype, device)
            b = random_tensor((batch, k, n), dtype, device)
            poison_allocator(device)
            ours = keeping_current_device(lambda: torch.ops.kernels.bmm(a, b, precision=precision))
            check_bmm(ours, a, b, precision, device)
            # The Python wrapper (autotuner hook, off by default) takes the same path.
            check_bmm(keeping_current_device(lambda: tilekernels.bmm(a, b, precision=precision)), a, b, precision,
                      device)


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("tensor_gpu, current", PAIRS)
@pytest.mark.parametrize("dtype, precision", CASES)
def test_bmm_out_on_the_inputs_gpu(tensor_gpu, current, dtype, precision):
    device = torch.device("cuda", tensor_gpu)
    with current_gpu(current):
        for batch, m, n, k in BMM_SHAPES:
            a = random_tensor((batch, m, k), dtype, device)
            b = random_tensor((batch, k, n), dtype, device)
            out = nan_like((batch, m, n), dtype, device)
            keeping_current_device(lambda: torch.ops.kernels.bmm.out(a, b, precision=precision, out=out))
            check_bmm(out, a, b, precision, device)
            # A transposed out, which the kernels cannot write: through a temporary and a copy.
            out_t = nan_like((batch, n, m), dtype, device).transpose(1, 2)
            keeping_current_device(lambda: torch.ops.kernels.bmm.out(a, b, precision=precision, out=out_t))
            check_bmm(out_t, a, b, precision, device)


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("tensor_gpu, current", PAIRS)
@pytest.mark.parametrize("dtype, precision", CASES)
def test_bmm_backward_on_the_inputs_gpu(tensor_gpu, current, dtype, precision):
    """The backward pass is two bmms through the op, run by autograd's thread of that GPU."""
    device = torch.device("cuda", tensor_gpu)
    batch, m, n, k = 3, 130, 72, 200
    with current_gpu(current):
        a = random_tensor((batch, m, k), dtype, device).requires_grad_(True)
        b = random_tensor((batch, k, n), dtype, device).requires_grad_(True)
        grad = random_tensor((batch, m, n), dtype, device)
        poison_allocator(device)
        out = keeping_current_device(lambda: torch.ops.kernels.bmm(a, b, precision=precision))
        keeping_current_device(lambda: out.backward(grad))
        check_bmm(out.detach(), a.detach(), b.detach(), precision, device)
        check_bmm(a.grad, grad, b.detach().transpose(1, 2), precision, device)
        check_bmm(b.grad, a.detach().transpose(1, 2), grad, precision, device)


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("op", ["attention", "attention_with_lse"])
@pytest.mark.parametrize("tensor_gpu, current", PAIRS)
@pytest.mark.parametrize("dtype, precision", CASES)
def test_attention_on_the_inputs_gpu(op, tensor_gpu, current, dtype, precision):
    """(The backward pass is not implemented yet; test_attention_contract checks it raises.)"""
    torch.set_float32_matmul_precision(precision)
    device = torch.device("cuda", tensor_gpu)
    with current_gpu(current):
        for dim in (64, 128):
            for is_causal in (False, True):
                q, k, v = qkv(dtype, device, dim)
                poison_allocator(device)
                result = keeping_current_device(lambda: getattr(torch.ops.kernels, op)(q, k, v, is_causal=is_causal))
                out, lse = result if op == "attention_with_lse" else (result, None)
                check_attention(out, lse, q, k, v, is_causal, device)


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("dtype, precision", CASES)
def test_every_bmm_configuration_on_both_gpus(dtype, precision):
    """Each configuration keeps its own per-device state (shared-memory opt-in, resident CTAs): every
    candidate runs on cuda:0 and then on cuda:1, with cuda:0 current. The last shape has more tiles
    than the GPU holds CTAs (persistent rows walk); k = 37 reaches the whole-k rows."""
    shapes = [(3, 100, 136, 72), (3, 100, 136, 37), (200, 130, 264, 72)]
    with current_gpu(0):
        for batch, m, n, k in shapes:
            for b_k_major in (False, True):
                for index in (0, 1):
                    device = torch.device("cuda", index)
                    a = random_tensor((batch, m, k), dtype, device)
                    b = random_tensor((batch, n, k) if b_k_major else (batch, k, n), dtype, device)
                    b = b.transpose(1, 2) if b_k_major else b
                    for config in tilekernels.explain("bmm", a, b, precision=precision)["candidates"]:
                        poison_allocator(device, nbytes=batch * m * n * a.element_size())
                        ours = keeping_current_device(
                            lambda: torch.ops.kernels._bmm_with_config(a, b, config, precision=precision))
                        check_bmm(ours, a, b, precision, device)


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("dtype, precision", CASES)
def test_every_attention_configuration_on_both_gpus(dtype, precision):
    """As for bmm: every candidate row, at its own head dim (less 8), on cuda:0 and then on cuda:1, with
    cuda:0 current (test_tuning's shapes and LSE tolerance)."""
    torch.set_float32_matmul_precision(precision)
    configs = tilekernels.tile_configs("attention")
    with current_gpu(0):
        for head_dim in sorted({c["head_dim"] for c in configs if c["compiled"]}):
            dim = head_dim - 8 if head_dim > 8 else head_dim
            for index in (0, 1):
                q, k, v = qkv(dtype, torch.device("cuda", index), dim, seq=300)  # two 256-key blocks
                for is_causal in (False, True):
                    for config in tilekernels.explain("attention", q, k, v, is_causal)["candidates"]:
                        if configs[config]["head_dim"] != head_dim:
                            continue  # forced at its own head dim
                        poison_allocator(q.device)
                        out, lse = keeping_current_device(
                            lambda: torch.ops.kernels._attention_with_config(q, k, v, config, is_causal))
                        check_attention(out, lse, q, k, v, is_causal, q.device,
                                        lse_atol=1e-2 if tf32(dtype, precision) else 1e-3)


# --- torch's current stream of the tensors' GPU ------------------------------------------------------


def run_behind_busy_side_stream(device, current, sources, op):
    """Copies `sources` into NaN-filled inputs on a side stream of `device`, behind a long busy-wait,
    with that side stream torch's current stream of `device` and cuda:current the current device, then
    calls op(*inputs). Work the op queued on any other stream ran before its inputs were written and
    left NaN. Returns (op's result, inputs) once the side stream has finished."""
    inputs = [nan_like(s.shape, s.dtype, device) for s in sources]
    torch.cuda.synchronize(device)
    side = torch.cuda.Stream(device)
    with torch.cuda.device(device), torch.cuda.stream(side):
        poison_allocator(device)  # outputs the op allocates (from the side stream's blocks) start as NaN
        torch.cuda._sleep(BUSY_WAIT_CYCLES)
        with torch.no_grad():
            for target, source in zip(inputs, sources):
                target.copy_(source)
        with torch.cuda.device(current):
            assert torch.cuda.current_stream(device) == side
            result = keeping_current_device(lambda: op(*inputs))
            assert not side.query(), "the busy-wait ended before the op was queued; lengthen BUSY_WAIT_CYCLES"
    side.synchronize()
    return result, inputs


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("op", ["bmm", "bmm.out", "bmm backward", "attention", "attention_with_lse"])
@pytest.mark.parametrize("tensor_gpu, current", PAIRS)
def test_ops_run_on_torchs_current_stream_of_the_inputs_gpu(op, tensor_gpu, current):
    device = torch.device("cuda", tensor_gpu)
    dtype = torch.float16
    with current_gpu(current):
        if op.startswith("bmm"):
            batch, m, n, k = BMM_SHAPES[1]
            sources = [random_tensor((batch, m, k), dtype, device), random_tensor((batch, k, n), dtype, device)]
            out = nan_like((batch, m, n), dtype, device)
            grad = random_tensor((batch, m, n), dtype, device)

            def run(a, b):
                if op == "bmm":
                    return torch.ops.kernels.bmm(a, b)
                if op == "bmm.out":
                    torch.ops.kernels.bmm.out(a, b, out=out)
                    return out
                a.requires_grad_(True)
                b.requires_grad_(True)
                result = torch.ops.kernels.bmm(a, b)
                result.backward(grad)
                return result.detach()

            run(*(s.clone() for s in sources))  # warm up: the call must be queued well inside the busy-wait
            out.fill_(float("nan"))
            ours, (a, b) = run_behind_busy_side_stream(device, current, sources, run)
            check_bmm(ours, a.detach(), b.detach(), None, device)
            if op == "bmm backward":
                check_bmm(a.grad, grad, b.detach().transpose(1, 2), None, device)
                check_bmm(b.grad, a.detach().transpose(1, 2), grad, None, device)
        else:
            sources = qkv(dtype, device)
            run = lambda q, k, v: getattr(torch.ops.kernels, op)(q, k, v, is_causal=True)  # noqa: E731
            run(*sources)
            result, (q, k, v) = run_behind_busy_side_stream(device, current, sources, run)
            out, lse = result if op == "attention_with_lse" else (result, None)
            check_attention(out, lse, q, k, v, True, device)


# --- one thread per GPU, from a cold start -----------------------------------------------------------

THREAD_SECONDS = 3.0


def _thread_round(device):
    """One round of every op on `device`, each on fresh inputs and checked (fp32 at "highest"; TF32
    through bmm's precision argument, since torch's setting is global to the threads)."""
    for dtype, precision in [(torch.float16, None), (torch.bfloat16, None), (torch.float32, "highest"),
                             (torch.float32, "high")]:
        for batch, m, n, k in BMM_SHAPES:
            a = random_tensor((batch, m, k), dtype, device)
            b = random_tensor((batch, k, n), dtype, device)
            check_bmm(torch.ops.kernels.bmm(a, b, precision=precision), a, b, precision, device)
            out = nan_like((batch, m, n), dtype, device)
            torch.ops.kernels.bmm.out(a, b, precision=precision, out=out)
            check_bmm(out, a, b, precision, device)
        a = random_tensor((2, 70, 90), dtype, device).requires_grad_(True)
        b = random_tensor((2, 90, 40), dtype, device).requires_grad_(True)
        grad = random_tensor((2, 70, 40), dtype, device)
        torch.ops.kernels.bmm(a, b, precision=precision).backward(grad)
        check_bmm(a.grad, grad, b.detach().transpose(1, 2), precision, device)
        check_bmm(b.grad, a.detach().transpose(1, 2), grad, precision, device)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        for dim, is_causal in [(64, False), (128, True)]:
            q, k, v = qkv(dtype, device, dim)
            check_attention(torch.ops.kernels.attention(q, k, v, is_causal=is_causal), None, q, k, v, is_causal,
                            device)
            out, lse = torch.ops.kernels.attention_with_lse(q, k, v, is_causal=is_causal)
            check_attention(out, lse, q, k, v, is_causal, device)


def _thread_main(index, current, seconds, barrier, results):
    try:
        torch.cuda.set_device(current)
        device = torch.device("cuda", index)
        barrier.wait(timeout=120)  # both threads make their first calls together, caches still empty
        deadline = time.monotonic() + seconds
        rounds = 0
        while rounds == 0 or time.monotonic() < deadline:
            _thread_round(device)
            assert torch.cuda.current_device() == current, "an op changed the thread's current device"
            rounds += 1
        torch.cuda.synchronize(device)
        results[index] = {"rounds": rounds}
    except BaseException:  # reported to the parent process, as is a thread that never returns
        results[index] = {"error": traceback.format_exc()}
        barrier.abort()  # the other thread must not wait for this one


def _run_threads(seconds, which_current):
    """One thread per GPU; `which_current`: "own" (each thread makes its GPU current) or "other" (each
    keeps the other GPU current). Prints a JSON summary; exits 3 if a thread hung."""
    torch.set_float32_matmul_precision("highest")
    barrier = threading.Barrier(2)
    results = {}
    threads = [threading.Thread(target=_thread_main, daemon=True,
                                args=(i, i if which_current == "own" else 1 - i, seconds, barrier, results))
               for i in (0, 1)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds + 180
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [i for i, thread in enumerate(threads) if thread.is_alive()]
    print(json.dumps({"results": results, "hung": hung}), flush=True)
    os._exit(3 if hung else 0)  # daemon threads that hung cannot be joined; leave without them


@pytest.mark.cuda
@two_gpus
@pytest.mark.parametrize("which_current", ["own", "other"])
def test_two_threads_one_per_gpu_from_a_cold_start(which_current):
    """A fresh process (every cache empty) runs all ops in two threads at once, one per GPU, for a few
    seconds, each checking every result; a hang fails the test instead of blocking it."""
    package_root = str(Path(tilekernels.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
               TILEKERNELS_AUTOTUNE="off")
    try:
        run = subprocess.run([sys.executable, __file__, str(THREAD_SECONDS), which_current], env=env,
                             capture_output=True, text=True, timeout=THREAD_SECONDS + 300)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"the two-thread run hung (killed after {timeout.timeout} s):\n{timeout.stdout}\n{timeout.stderr}")
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    print(summary)
    for index in ("0", "1"):
        result = summary["results"].get(index)
        assert result is not None, f"the thread for cuda:{index} reported nothing\n{run.stderr}"
        assert "error" not in result, f"the thread for cuda:{index} failed:\n{result['error']}"
        assert result["rounds"] >= 1


# --- inputs on two devices ---------------------------------------------------------------------------


@pytest.mark.cuda
@two_gpus
def test_inputs_on_two_gpus_raise_a_clear_error():
    a0 = random_tensor((2, 8, 16), torch.float16, "cuda:0")
    b0 = random_tensor((2, 16, 4), torch.float16, "cuda:0")
    b1 = b0.to("cuda:1")
    q0 = random_tensor((1, 2, 8, 16), torch.float16, "cuda:0")
    q1 = q0.to("cuda:1")
    with current_gpu(0):
        for a, b, devices in [(a0, b1, "cuda:0 and cuda:1"), (b1.transpose(1, 2), a0.transpose(1, 2),
                                                              "cuda:1 and cuda:0")]:
            with pytest.raises(ValueError, match=f"a and b must be on the same device, got {devices}"):
                torch.ops.kernels.bmm(a, b)
            with pytest.raises(ValueError, match=f"a and b must be on the same device, got {devices}"):
                tilekernels.bmm(a.detach().requires_grad_(True), b)  # through autograd
            with pytest.raises(ValueError, match=f"a and b must be on the same device, got {devices}"):
                torch.ops.kernels.bmm.out(a, b, out=nan_like((2, a.shape[1], b.shape[2]), a.dtype, a.device))
        with pytest.raises(ValueError, match="out must be on cuda:0, got cuda:1"):
            torch.ops.kernels.bmm.out(a0, b0, out=nan_like((2, 8, 4), torch.float16, "cuda:1"))
        for op in (torch.ops.kernels.attention, torch.ops.kernels.attention_with_lse):
            with pytest.raises(ValueError, match="q, k and v must be on the same device, got cuda:0, cuda:1 and cuda:0"):
                op(q0, q1, q0)
            with pytest.raises(ValueError, match="q, k and v must be on the same device, got cuda:1, cuda:1 and cuda:0"):
                op(q1, q1, q0)
        assert torch.cuda.current_device() == 0


def test_mixing_in_a_meta_tensor_raises_a_clear_error():
    """The dispatcher sends any call with a meta tensor to the fake (meta) implementations, which
    returned an uninitialized result (or, for bmm.out, nothing at all) instead of raising."""
    a = random_tensor((2, 3, 4), torch.float32, "cpu")
    b = random_tensor((2, 4, 5), torch.float32, "cpu")
    with pytest.raises(ValueError, match="a and b must be on the same device, got cpu and meta"):
        torch.ops.kernels.bmm(a, b.to("meta"))
    with pytest.raises(ValueError, match="a and b must be on the same device, got meta and cpu"):
        torch.ops.kernels.bmm(a.to("meta"), b)
    with pytest.raises(ValueError, match="out must be on cpu, got meta"):
        torch.ops.kernels.bmm.out(a, b, out=torch.empty(2, 3, 5, device="meta"))
    q = random_tensor((1, 2, 4, 8), torch.float32, "cpu")
    for op in (torch.ops.kernels.attention, torch.ops.kernels.attention_with_lse):
        with pytest.raises(ValueError, match="q, k and v must be on the same device, got cpu, meta and cpu"):
            op(q, q.to("meta"), q)
    # All on meta is still fine (shape propagation).
    assert torch.ops.kernels.bmm(a.to("meta"), b.to("meta")).shape == (2, 3, 5)


def test_tracing_over_two_gpus_raises_a_clear_error():
    """What torch.compile meets: fake tensors on two GPUs fail in the fake implementations as they
    fail eagerly (needs no GPU: fake tensors only carry a device)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    if torch.cuda.is_available() and torch.cuda.device_count() < 2:
        pytest.skip("with CUDA initialized, a fake tensor on cuda:1 needs that GPU (runs on CPU-only machines)")
    with FakeTensorMode():
        a = torch.empty(2, 3, 4, device="cuda:0")
        b = torch.empty(2, 4, 5, device="cuda:1")
        q0 = torch.empty(1, 2, 4, 8, device="cuda:0")
        q1 = torch.empty(1, 2, 4, 8, device="cuda:1")
        with pytest.raises(ValueError, match="a and b must be on the same device, got cuda:0 and cuda:1"):
            torch.ops.kernels.bmm(a, b)
        with pytest.raises(ValueError, match="out must be on cuda:0, got cuda:1"):
            torch.ops.kernels.bmm.out(a, b.to("cuda:0"), out=torch.empty(2, 3, 5, device="cuda:1"))
        for op in (torch.ops.kernels.attention, torch.ops.kernels.attention_with_lse):
            with pytest.raises(ValueError, match="q, k and v must be on the same device, got cuda:0, cuda:0 and cuda:1"):
                op(q0, q0, q1)
        assert torch.ops.kernels.bmm(a, b.to("cuda:0")).device == torch.device("cuda:0")


# --- the autotuner times on the tensors' GPU ---------------------------------------------------------


@pytest.mark.cuda
@two_gpus
def test_timing_runs_on_the_device_it_is_given():
    """cuda_times_ms(fn, device=cuda:1) with cuda:0 current: the events must bracket fn()'s work on
    cuda:1 (they were recorded on cuda:0's stream, timing nothing: the autotuner, timing a cuda:1 call,
    kept a random winner)."""
    from tilekernels.benchmarking.timing import cuda_times_ms

    def work_on_cuda1():
        with torch.cuda.device(1):
            torch.cuda._sleep(20_000_000)  # about 10 ms at 2 GHz

    with current_gpu(0):
        times = keeping_current_device(lambda: cuda_times_ms(work_on_cuda1, reps=3, warmup=1, device="cuda:1"))
    assert min(times) > 3.0, times


@pytest.mark.cuda
@two_gpus
def test_autotuner_on_the_second_gpu(tmp_path, monkeypatch):
    """tune_bmm on cuda:1 tensors, cuda:0 current: every timing is the kernel's (an 8 x 2048^3 fp16
    bmm takes well over 0.05 ms on any GPU), the key names cuda:1's GPU, cuda:0 stays current."""
    from tilekernels.tuning import tables

    monkeypatch.setenv("TILEKERNELS_CACHE_DIR", str(tmp_path))
    a = random_tensor((8, 2048, 2048), torch.float16, "cuda:1")
    b = random_tensor((8, 2048, 2048), torch.float16, "cuda:1")
    try:
        with current_gpu(0):
            result = keeping_current_device(lambda: tilekernels.tuning.tune_bmm(a, b, reps=3, persist=False))
        assert result["key"].split("|")[1] == torch.cuda.get_device_name(1)
        assert result["timings_ms"] and min(result["timings_ms"].values()) > 0.05, result["timings_ms"]
    finally:
        for family in tables.FAMILIES:
            torch.ops.kernels._tile_table_clear(family)
        tables.load_tables()


if __name__ == "__main__":
    _run_threads(float(sys.argv[1]), sys.argv[2])
