"""The program ncu profiles: `python -m tilekernels.profiling.child REQUEST.json RESULT.json`.

Builds the inputs of the request, warms every call up, then runs each call once between
cudaProfilerStart and Stop inside its own NVTX range ("tk:bmm:ours", "tk:bmm:<config>",
"tk:bmm:torch"), so ncu profiles only those kernels and names them after their call. What it ran,
the planner's pick and what it skipped go to RESULT.json; stdout stays free for ncu's CSV.
"""

import json
import sys
from pathlib import Path
from typing import Callable, List, Tuple

import torch

from tilekernels.profiling.ncu import RANGE_PREFIX
from tilekernels.profiling.request import ProfileRequest, gpu_problem

WARMUP = 2


class ChildError(Exception):
    """A reason the calls cannot run, reported through RESULT.json."""


Call = Tuple[str, Callable[[], object]]  # (label, the call)


def _bmm_calls(request: ProfileRequest, precision: str):
    import tilekernels
    from tilekernels.benchmarking.runner import bmm_operands

    a, b = bmm_operands(request.shape, _dtype_and_precision(request)[0], "cuda")
    plan = tilekernels.explain("bmm", a, b, precision=precision)
    ours = lambda: torch.ops.kernels.bmm(a, b, precision=precision)  # noqa: E731
    forced = lambda config: lambda: torch.ops.kernels._bmm_with_config(a, b, config, precision=precision)  # noqa: E731
    theirs = lambda: torch.bmm(a, b)  # noqa: E731
    return plan, ours, forced, theirs


def _attention_calls(request: ProfileRequest, precision: str):
    import tilekernels

    shape, dtype = request.shape, _dtype_and_precision(request)[0]
    from tilekernels.benchmarking.runner import attention_operands, sdpa

    q, k, v = attention_operands(shape, dtype, "cuda")
    causal = shape.causal
    plan = tilekernels.explain("attention", q, k, v, is_causal=causal)
    ours = lambda: torch.ops.kernels.attention(q, k, v, is_causal=causal)  # noqa: E731
    forced = lambda config: lambda: torch.ops.kernels._attention_with_config(  # noqa: E731
        q, k, v, config, is_causal=causal)
    theirs = lambda: sdpa(q, k, v, causal)  # noqa: E731
    return plan, ours, forced, theirs


def _dtype_and_precision(request: ProfileRequest) -> Tuple[torch.dtype, str]:
    from tilekernels.benchmarking.runner import ATTENTION_MODES, BMM_MODES

    return (BMM_MODES if request.op == "bmm" else ATTENTION_MODES)[request.mode]


def plan_calls(request: ProfileRequest) -> Tuple[List[Call], dict]:
    """The calls to profile and what the result file says about them (pick, candidates, skipped)."""
    import tilekernels

    build = _bmm_calls if request.op == "bmm" else _attention_calls
    plan, ours, forced, theirs = build(request, _dtype_and_precision(request)[1])
    names = {c["id"]: c["name"] for c in tilekernels.tile_configs(request.op)}
    ids = {name: config for config, name in names.items()}
    pick = names[plan["config"]]
    info = {"pick": pick, "plan_source": plan["source"], "plan_reason": plan.get("reason"),
            "candidates": [names[c] for c in plan["candidates"]], "calls": [], "skipped": []}
    calls: List[Call] = []
    if request.configs is None:
        calls.append(("ours", ours))
        info["calls"].append({"label": "ours", "config": pick, "pick": True})
    else:
        wanted = info["candidates"] if request.all_configs else request.configs
        for name in wanted:
            if name not in info["candidates"]:
                info["skipped"].append({"label": name, "reason": "cannot serve this call (not among the planner's "
                                                                  "candidates for it)"})
                continue
            calls.append((name, forced(ids[name])))
            info["calls"].append({"label": name, "config": name, "pick": name == pick})
    if request.against_torch:
        calls.append(("torch", theirs))
        info["calls"].append({"label": "torch", "config": None, "pick": False})
    return calls, info


def warm_up(calls: List[Call], info: dict) -> List[Call]:
    """Runs every call a few times (first-use work stays out of the profile); a call that fails is
    skipped with its error."""
    working = []
    for label, call in calls:
        try:
            for _ in range(WARMUP):
                call()
            torch.cuda.synchronize()
        except (RuntimeError, ValueError, NotImplementedError) as error:
            info["skipped"].append({"label": label, "reason": f"failed: {str(error).splitlines()[0]}"})
            info["calls"] = [c for c in info["calls"] if c["label"] != label]
            continue
        working.append((label, call))
    return working


def profile(request: ProfileRequest, calls: List[Call]) -> None:
    """Each call once, inside its NVTX range, between the profiler's start and stop."""
    torch.cuda.synchronize()
    torch.cuda.profiler.start()
    for label, call in calls:
        torch.cuda.nvtx.range_push(f"{RANGE_PREFIX}{request.op}:{label}")
        call()
        torch.cuda.nvtx.range_pop()
    torch.cuda.synchronize()
    torch.cuda.profiler.stop()


def run(request: ProfileRequest) -> dict:
    problem = gpu_problem()
    if problem:
        raise ChildError(problem)
    torch.set_float32_matmul_precision(_dtype_and_precision(request)[1])
    calls, info = plan_calls(request)
    calls = warm_up(calls, info)
    if not calls:
        raise ChildError("nothing to profile: " + "; ".join(f"{s['label']} {s['reason']}" for s in info["skipped"]))
    profile(request, calls)
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return dict(info, device=props.name, arch=f"{props.major}{props.minor}", sms=props.multi_processor_count)


def main(argv: List[str]) -> int:
    request_path, result_path = argv
    request = ProfileRequest.from_json(json.loads(Path(request_path).read_text()))
    try:
        result = run(request)
    except ChildError as error:
        result = {"error": str(error)}
    except (RuntimeError, ValueError) as error:  # CUDA out of memory included
        result = {"error": f"the profiled program failed: {str(error).splitlines()[0] if str(error) else error!r}"}
    Path(result_path).write_text(json.dumps(result, indent=1))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
