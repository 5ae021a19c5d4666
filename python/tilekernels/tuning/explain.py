"""explain(): which compiled configuration a call would run, and why."""

import json

import torch

from tilekernels.tuning.tables import table_origin, tile_configs


def explain(op: str, *args, **kwargs) -> dict:
    """Says which configuration ``op`` would run for these arguments and why, without running it.

    ``explain("bmm", a, b, precision=None)`` or ``explain("attention", q, k, v, is_causal=False)``.
    Returns the tuning key, the chosen configuration (id, name, tile sizes), its source ("tuned" table
    entry or "heuristic"), for a tuned entry the table it came from ("table": bundled for this GPU,
    borrowed from another GPU of its architecture, or the user's), the reason, and every candidate
    that could serve the call.
    CPU tensors always run the CPU implementation.
    """
    if op not in ("bmm", "attention"):
        raise ValueError(f"tilekernels.explain: unknown op {op!r} (known: 'bmm', 'attention')")
    first = args[0] if args else None
    if isinstance(first, torch.Tensor) and not first.is_cuda:
        return {"family": op, "device": "cpu", "source": "cpu", "reason": "CPU tensors run the C++ CPU implementation"}
    if op == "bmm":
        plan = json.loads(torch.ops.kernels._bmm_plan(*args, **kwargs))
    else:
        plan = json.loads(torch.ops.kernels._attention_plan(*args, **kwargs))
    if plan["source"] == "tuned":
        plan["table"] = table_origin(plan["key"]) or "set in this process"
    configs = {c["id"]: c for c in tile_configs(op)}
    plan["config_details"] = configs[plan["config"]]
    plan["candidate_names"] = [configs[i]["name"] for i in plan["candidates"]]
    return plan
