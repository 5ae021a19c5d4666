"""Benchmark output: a fixed-width table, JSON, and a speedup plot."""

import json
from pathlib import Path
from typing import List, Optional


def _fmt(value, spec, width):
    return f"{value:{spec}}".rjust(width) if value is not None else "n/a".rjust(width)


def format_table(rows: List[dict]) -> str:
    header = (f"{'suite':<10}{'shape':<12}{'mode':<6}{'impl':<16}{'ms':>10}{'TF/s':>9}{'GB/s':>8}"
              f"{'x torch':>9}{'relerr':>10}{'floor ms':>10}")
    lines = [header, "-" * len(header)]
    for r in rows:
        floor = max(r["compute_floor_ms"], r["memory_floor_ms"])
        lines.append(f"{r['suite']:<10}{r['shape']:<12}{r['mode']:<6}{r['impl']:<16}{_fmt(r['ms'], '.3f', 10)}"
                     f"{_fmt(r['tflops'], '.1f', 9)}{_fmt(r['gbs'], '.0f', 8)}"
                     f"{_fmt(r['speedup_vs_torch'], '.2f', 9)}{_fmt(r['relerr'], '.1e', 10)}{floor:>10.3f}")
    return "\n".join(lines)


def write_json(rows: List[dict], path: str, meta: Optional[dict] = None) -> None:
    Path(path).write_text(json.dumps({"meta": meta or {}, "rows": rows}, indent=1))


def plot_speedups(rows: List[dict], path: str, impl: str = "tilekernels") -> bool:
    """Bar chart of impl's speedup over torch per (shape, mode); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ours = [r for r in rows if r["impl"] == impl and r["speedup_vs_torch"]]
    if not ours:
        return False
    labels = [f"{r['shape']}\n{r['mode']}" for r in ours]
    values = [r["speedup_vs_torch"] for r in ours]
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(ours)), 4))
    ax.bar(range(len(ours)), values, color=["tab:green" if v >= 1 else "tab:red" for v in values])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(ours)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel(f"speedup of {impl} over torch")
    ax.set_title(f"{ours[0]['suite']}: {impl} vs torch (same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
