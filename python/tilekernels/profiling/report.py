"""Profile output: one table per kernel, a comparison of the calls, one roofline line per call (rich
tables when rich is installed, plain text otherwise), the JSON file and the roofline plot."""

import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import tilekernels
from tilekernels.profiling import roofline
from tilekernels.profiling.ncu import METRICS, OPTIONAL_METRICS, KernelRecord
from tilekernels.profiling.session import CallProfile, ProfileResult

Rows = List[Tuple[str, str]]
MAX_KERNEL_NAME = 110


def _num(value: Optional[float], spec: str, suffix: str = "") -> str:
    return f"{value:{spec}}{suffix}" if value is not None else "n/a"


def call_title(call: CallProfile) -> str:
    """"ours: fp16_128x256x32_w2x4_s4 (planner's pick)", "torch", "fp16_64x64x32_w2x2_s3"."""
    if call.kind == "torch":
        return "torch"
    pick = " (planner's pick)" if call.pick else ""
    return f"ours: {call.config}{pick}" if call.label == "ours" else f"{call.config}{pick}"


def _kernel_tflops(call: CallProfile, kernel: KernelRecord, flops: float) -> Optional[float]:
    """The call's FLOPs over this kernel's time, when the call is this one kernel (a call of several
    kernels does not say which of them did the FLOPs)."""
    seconds = kernel.seconds(METRICS["duration"])
    return flops / seconds / 1e12 if len(call.kernels) == 1 and seconds else None


def _kernel_dram_gbs(kernel: KernelRecord) -> Optional[float]:
    seconds = kernel.seconds(METRICS["duration"])
    read, write = kernel.bytes(METRICS["dram_read"]), kernel.bytes(METRICS["dram_write"])
    return (read + write) / seconds / 1e9 if seconds and read is not None and write is not None else None


def kernel_rows(call: CallProfile, kernel: KernelRecord, flops: float) -> Rows:
    """The seeds' five metrics, then duration, throughput, resources and the top stall reasons."""
    def number(key: str) -> Optional[float]:
        return kernel.number(METRICS.get(key) or OPTIONAL_METRICS[key])

    seconds = kernel.seconds(METRICS["duration"])
    smem = [kernel.bytes(METRICS["smem_dynamic"]), kernel.bytes(METRICS["smem_static"])]
    tflops = (_num(_kernel_tflops(call, kernel, flops), ".1f", " TFLOP/s") if len(call.kernels) == 1
              else "TFLOP/s of the call: see the roofline")
    stalls = ", ".join(f"{name} {value:.2f}" for name, value in kernel.top_stalls())
    rows = [
        ("achieved occupancy", f"{_num(number('achieved_occupancy'), '.1f', ' %')} "
                               f"(theoretical {_num(number('theoretical_occupancy'), '.1f', ' %')})"),
        ("SM throughput", _num(number("sm_throughput"), ".1f", " % of peak")),
        ("DRAM throughput", _num(number("dram_throughput"), ".1f", " % of peak")),
        ("L2 hit rate", _num(number("l2_hit_rate"), ".1f", " %")),
        ("grid size", f"{_num(number('grid_size'), ',.0f')} blocks x {_num(number('block_size'), '.0f')} threads"),
        ("duration", _num(seconds * 1e3 if seconds else None, ".4f", " ms")),
        ("achieved", f"{tflops}, {_num(_kernel_dram_gbs(kernel), ',.0f', ' GB/s DRAM')}"),
        ("registers", f"{_num(number('registers'), '.0f')} per thread "
                      f"({_num(number('blocks_per_sm_by_registers'), '.0f')} block(s) per SM by registers)"),
        ("shared memory", f"{_num(sum(smem) if None not in smem else None, ',.0f')} B per block "
                          f"(dynamic {_num(smem[0], ',.0f')} + static {_num(smem[1], ',.0f')})"),
    ]
    if number("tensor_pipe") is not None:  # an optional metric: absent when this ncu lacks it
        rows.append(("tensor pipe", _num(number("tensor_pipe"), ".1f", " % of active cycles")))
    rows.append(("top stalls", f"{stalls} (warps per issued instruction)" if stalls else "n/a"))
    return rows


def kernel_title(call: CallProfile, index: int, kernel: KernelRecord) -> str:
    name = kernel.kernel if len(kernel.kernel) <= MAX_KERNEL_NAME else kernel.kernel[:MAX_KERNEL_NAME - 3] + "..."
    count = f" kernel {index + 1}/{len(call.kernels)}" if len(call.kernels) > 1 else ""
    return f"{call_title(call)}{count}: {name}"


def comparison_rows(result: ProfileResult) -> Tuple[List[str], List[List[str]]]:
    """One row per call (its longest kernel's metrics): the seeds' loop of configurations at a glance."""
    columns = ["call", "ms", "TFLOP/s", "% of roof", "occupancy %", "SM %", "DRAM %", "L2 hit %", "grid", "kernels"]
    rows = []
    for call in result.calls:
        main = max(call.kernels, key=lambda k: k.seconds(METRICS["duration"]) or 0.0)
        placement = call.placement
        rows.append([
            ("* " if call.pick else "  ") + (call.config or call.label),
            _num(call.duration_ms, ".4f"),
            _num(placement.achieved_tflops if placement else None, ".1f"),
            _num(placement.fraction_of_ceiling * 100 if placement else None, ".0f"),
            _num(main.number(METRICS["achieved_occupancy"]), ".1f"),
            _num(main.number(METRICS["sm_throughput"]), ".1f"),
            _num(main.number(METRICS["dram_throughput"]), ".1f"),
            _num(main.number(METRICS["l2_hit_rate"]), ".1f"),
            _num(main.number(METRICS["grid_size"]), ".0f"),
            str(len(call.kernels)),
        ])
    return columns, rows


def header_lines(result: ProfileResult) -> List[str]:
    request, roof = result.request, result.roofline
    return [
        f"profile {request.op} {request.shape_name} ({request.sizes}) {request.mode} on {result.device}"
        + (f", ncu {result.ncu_version}" if result.ncu_version else ""),
        f"work {request.flops() / 1e9:,.1f} GFLOP, minimal DRAM traffic {request.ideal_bytes() / 1e6:,.1f} MB; "
        f"ceilings {roof.compute_tflops:.0f} TFLOP/s ({request.mode}) and {roof.memory_tbs:.2f} TB/s, ridge "
        f"{roof.ridge:.0f} FLOP/B ({result.ceilings_source})",
    ] + ([f"planner's pick: {result.pick} ({result.plan_source})"] if result.pick else [])


def roofline_lines(result: ProfileResult) -> List[str]:
    return [f"{call_title(call)}: {_num(call.duration_ms, '.4f', ' ms')}, "
            + (roofline.describe(call.placement) if call.placement else "no duration recorded")
            for call in result.calls]


def footer_lines(result: ProfileResult) -> List[str]:
    return ([f"skipped {s['label']}: {s['reason']}" for s in result.skipped]
            + [f"note: {note}" for note in result.notes])


def _text_table(columns: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: List[str]) -> str:  # the first column left-aligned, numbers right-aligned
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(columns), "-" * len(line(columns))] + [line(r) for r in rows])


def format_text(result: ProfileResult) -> str:
    """The whole report as plain text."""
    parts = ["\n".join(header_lines(result))]
    flops = result.request.flops()
    for call in result.calls:
        for index, kernel in enumerate(call.kernels):
            rows = kernel_rows(call, kernel, flops)
            width = max(len(name) for name, _ in rows)
            parts.append("\n".join([kernel_title(call, index, kernel)]
                                   + [f"  {name.ljust(width)}  {value}" for name, value in rows]))
    if len(result.calls) > 1:
        parts.append(_text_table(*comparison_rows(result)))
    parts.append("roofline:\n" + "\n".join(f"  {line}" for line in roofline_lines(result)))
    footer = footer_lines(result)
    if footer:
        parts.append("\n".join(footer))
    return "\n\n".join(parts)


def _print_rich(result: ProfileResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for line in header_lines(result):
        console.print(line, highlight=False)
    flops = result.request.flops()
    for call in result.calls:
        for index, kernel in enumerate(call.kernels):
            table = Table(title=kernel_title(call, index, kernel), title_justify="left", show_header=False)
            table.add_column(style="bold")
            table.add_column()
            for name, value in kernel_rows(call, kernel, flops):
                table.add_row(name, value)
            console.print(table)
    if len(result.calls) > 1:
        columns, rows = comparison_rows(result)
        table = Table(title="calls (* = the planner's pick)", title_justify="left")
        for index, column in enumerate(columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    console.print("roofline:", highlight=False)
    for line in roofline_lines(result):
        console.print(f"  {line}", highlight=False)
    for line in footer_lines(result):
        console.print(line, highlight=False)


def show(result: ProfileResult) -> None:
    """Prints the report: rich tables on a terminal when rich is installed, plain text otherwise (and
    into files, where rich would wrap the tables at 80 columns)."""
    try:
        import rich  # noqa: F401
    except ImportError:
        rich = None
    if rich is None or not sys.stdout.isatty():
        print(format_text(result))
        return
    _print_rich(result)


def _kernel_json(call: CallProfile, kernel: KernelRecord, flops: float) -> dict:
    metrics = {key: kernel.number(name) for key, name in {**METRICS, **OPTIONAL_METRICS}.items()}
    seconds = kernel.seconds(METRICS["duration"])
    return {
        "range": kernel.range, "kernel": kernel.kernel,
        "metrics": metrics,
        "derived": {"duration_ms": seconds * 1e3 if seconds else None, "tflops": _kernel_tflops(call, kernel, flops),
                    "dram_gbs": _kernel_dram_gbs(kernel)},
        "top_stalls": kernel.top_stalls(), "stalls": kernel.stalls(),
        "raw": kernel.values, "units": kernel.units,
    }


def to_json(result: ProfileResult) -> dict:
    request = result.request
    return {
        "meta": {"op": request.op, "shape": request.shape_name, "sizes": request.to_json()["shape"],
                 "mode": request.mode, "device": result.device, "ncu": result.ncu_version,
                 "tilekernels": tilekernels.build_info().get("version"), "flops": request.flops(),
                 "ideal_bytes": request.ideal_bytes(), "pick": result.pick, "plan_source": result.plan_source,
                 "candidates": result.candidates},
        "roofline": {"mode": result.roofline.mode, "compute_tflops": result.roofline.compute_tflops,
                     "memory_tbs": result.roofline.memory_tbs, "ridge": result.roofline.ridge,
                     "ceilings": result.ceilings, "ceilings_source": result.ceilings_source},
        "calls": [{"label": call.label, "config": call.config, "pick": call.pick, "kind": call.kind,
                   "duration_ms": call.duration_ms, "dram_bytes": call.dram_bytes,
                   "roofline": call.placement.to_json() if call.placement else None,
                   "summary": roofline.describe(call.placement) if call.placement else None,
                   "kernels": [_kernel_json(call, k, request.flops()) for k in call.kernels]}
                  for call in result.calls],
        "skipped": result.skipped,
        "notes": result.notes,
    }


def write_json(result: ProfileResult, path: str) -> None:
    Path(path).write_text(json.dumps(to_json(result), indent=1))


def plot_from_json(data: dict, path: str) -> Optional[str]:
    """Draws the roofline plot again from a --json file (on a machine with matplotlib, say); the
    reason when it cannot."""
    roof = data["roofline"]
    meta = data["meta"]
    line = roofline.Roofline(roof["mode"], roof["compute_tflops"], roof["memory_tbs"])
    points = [{"label": (call["config"] or call["label"]) if call["kind"] == "ours" else "torch", "kind": call["kind"],
               "pick": call["pick"], "placement": roofline.Placement(line, meta["flops"], meta["ideal_bytes"],
                                                                     call["duration_ms"], call["dram_bytes"])}
              for call in data["calls"] if call["duration_ms"]]
    if not points:
        return "no call has a duration to plot"
    title = f"{meta['op']} {meta['shape']} {meta['mode']} on {meta['device']}"
    if not roofline.plot(points, line, path, title):
        return "matplotlib is not installed (pip install matplotlib, or the package's `cli` extra)"
    return None


def plot(result: ProfileResult, path: str) -> Optional[str]:
    """Draws the roofline plot with every call; the reason when it cannot."""
    return plot_from_json(to_json(result), path)
