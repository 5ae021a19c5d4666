"""The autotuner: times every compiled candidate for a call's key and remembers the fastest, in
memory and in the user's cache. Mode (env TILEKERNELS_AUTOTUNE or set_autotune_mode):
  "off" (default)  never tune implicitly; tuned tables and the heuristic decide
  "on"             tune unseen keys on first use through tilekernels.bmm / attention / the modules
  "cli"            tune only through `python -m tilekernels tune` (same as "off" for calls)
Tuning never happens during CUDA-graph capture or while torch.compile traces.
"""

import json
import os
import warnings
from typing import Callable, Dict, Optional

import torch

from tilekernels.tuning.tables import save_user_table, set_entry, tile_configs

MODES = ("off", "on", "cli")


def _mode_from_env() -> str:
    mode = os.environ.get("TILEKERNELS_AUTOTUNE", "off").strip().lower()
    if mode not in MODES:
        warnings.warn(f"TILEKERNELS_AUTOTUNE={mode!r} is not one of {MODES}; using 'off'", stacklevel=2)
        return "off"
    return mode


_mode = _mode_from_env()
_seen = set()


def autotune_mode() -> str:
    return _mode


def set_autotune_mode(mode: str) -> None:
    """Sets the autotuning mode: "off", "on" or "cli" (see the module docstring)."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"tilekernels: autotune mode must be one of {MODES}, got {mode!r}")
    _mode = mode


def _capturing(device: torch.device) -> bool:
    # Tuning synchronizes, which breaks a capture on the tensors' device or on the current one (they
    # differ when a cuda:1 call is made with cuda:0 current).
    with torch.cuda.device(device):
        on_tensor_device = torch.cuda.is_current_stream_capturing()
    return on_tensor_device or torch.cuda.is_current_stream_capturing()


def _may_tune_now(tensor) -> bool:
    return (
        _mode == "on"
        and isinstance(tensor, torch.Tensor)
        and tensor.is_cuda
        and not torch.compiler.is_compiling()
        and not _capturing(tensor.device)
    )


def _tolerance(dtype: torch.dtype, math: str) -> float:
    if dtype in (torch.float16, torch.bfloat16):
        return 2e-2
    return 1e-2 if math == "tf32" else 1e-4


def _time_candidates(run: Callable[[int], torch.Tensor], plan: dict, family: str, dtype: torch.dtype,
                     device: torch.device, reps: int) -> Dict[int, float]:
    """Times each candidate; drops (with a warning) any whose result disagrees with the heuristic's."""
    from tilekernels.benchmarking.timing import cuda_times_ms, summarize

    reference = run(plan["config"]).float()
    scale = reference.abs().max().clamp_min(1e-30)
    names = {c["id"]: c for c in tile_configs(family)}
    timings = {}
    for config in plan["candidates"]:
        result = run(config).float()
        error = ((result - reference).abs().max() / scale).item()
        if not error <= _tolerance(dtype, names[config]["math"]):
            warnings.warn(f"tilekernels: skipping {names[config]['name']}: result differs by {error:.2e}", stacklevel=3)
            continue
        times = cuda_times_ms(lambda: run(config), reps=reps, warmup=2, device=device)
        timings[config] = summarize(times)["median_ms"]
    return timings


def _record(family: str, plan: dict, timings: Dict[int, float], device_index: int, persist: bool) -> dict:
    names = {c["id"]: c["name"] for c in tile_configs(family)}
    best = min(timings, key=timings.get)
    path = save_user_table(device_index, family, plan["key"], names[best]) if persist else None
    set_entry(family, plan["key"], best, f"user table {path}" if path else "tuned in this process")
    return {
        "key": plan["key"],
        "best": names[best],
        "best_ms": timings[best],
        "heuristic": names[plan["config"]],
        "timings_ms": {names[c]: t for c, t in sorted(timings.items(), key=lambda item: item[1])},
        "saved_to": str(path) if path else None,
    }


def tune_bmm(a: torch.Tensor, b: torch.Tensor, precision: Optional[str] = None, *, reps: int = 20,
             persist: bool = True) -> dict:
    """Times every candidate configuration for bmm(a, b) and records the fastest for its key."""
    plan = json.loads(torch.ops.kernels._bmm_plan(a, b, precision=precision))
    timings = _time_candidates(lambda c: torch.ops.kernels._bmm_with_config(a, b, c, precision=precision), plan,
                               "bmm", a.dtype, a.device, reps)
    return _record("bmm", plan, timings, a.device.index or 0, persist)


def tune_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, is_causal: bool = False, *, reps: int = 20,
                   persist: bool = True) -> dict:
    """Times every candidate configuration for attention(q, k, v) and records the fastest for its key."""
    plan = json.loads(torch.ops.kernels._attention_plan(q, k, v, is_causal))
    timings = _time_candidates(lambda c: torch.ops.kernels._attention_with_config(q, k, v, c, is_causal)[0], plan,
                               "attention", q.dtype, q.device, reps)
    return _record("attention", plan, timings, q.device.index or 0, persist)


def _first_sight(signature) -> bool:
    if signature in _seen:
        return False
    _seen.add(signature)
    return True


def maybe_tune_bmm(a, b, precision) -> None:
    """Tunes bmm for this call's key if the mode is "on", the key is new and tuning is safe now."""
    if not _may_tune_now(a) or not isinstance(b, torch.Tensor):
        return
    fp32_precision = precision or torch.get_float32_matmul_precision()
    signature = ("bmm", a.device, a.dtype, a.shape, a.stride(), b.shape, b.stride(), fp32_precision)
    if not _first_sight(signature):
        return
    try:
        if json.loads(torch.ops.kernels._bmm_plan(a, b, precision=precision))["source"] == "heuristic":
            tune_bmm(a, b, precision)
    except (ValueError, RuntimeError):
        return  # a malformed call: the op itself raises the clear error next


def maybe_tune_attention(q, k, v, is_causal) -> None:
    """Tunes attention for this call's key if the mode is "on", the key is new and tuning is safe now."""
    if not _may_tune_now(q) or not isinstance(k, torch.Tensor) or not isinstance(v, torch.Tensor):
        return
    signature = ("attention", q.device, q.dtype, q.shape, k.shape, v.shape, bool(is_causal),
                 torch.get_float32_matmul_precision())
    if not _first_sight(signature):
        return
    try:
        if json.loads(torch.ops.kernels._attention_plan(q, k, v, is_causal))["source"] == "heuristic":
            tune_attention(q, k, v, is_causal)
    except (ValueError, RuntimeError):
        return
