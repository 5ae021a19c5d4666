"""The roofline: where a call sits against the compute and memory ceilings of the GPU, which floor
binds, how far away it is, and a log-log plot of it.

Units: intensity in FLOP/byte, compute in TFLOP/s, bandwidth in TB/s (so the ridge point,
compute / bandwidth, is in FLOP/byte too). The floors are suites.floors_ms's, so `profile` and
`bench` agree.
"""

import math
from dataclasses import dataclass
from typing import Dict, List, Optional

from tilekernels.benchmarking.suites import compute_ceiling_tflops


@dataclass(frozen=True)
class Roofline:
    mode: str
    compute_tflops: float  # the compute ceiling of the mode
    memory_tbs: float  # DRAM bandwidth (the copy rate)

    @property
    def ridge(self) -> float:
        """The intensity (FLOP/byte) where the memory roof meets the compute roof."""
        return self.compute_tflops / self.memory_tbs

    def attainable_tflops(self, intensity: float) -> float:
        return min(self.compute_tflops, intensity * self.memory_tbs)


def roofline_for(mode: str, ceilings: Dict[str, float]) -> Roofline:
    return Roofline(mode, compute_ceiling_tflops(mode, ceilings), ceilings["copy_tbs"])


@dataclass(frozen=True)
class Placement:
    """One call on the roofline: `flops` of work and `ideal_bytes` of least DRAM traffic done in
    `duration_ms`, with `dram_bytes` measured by ncu (None when unknown)."""

    roofline: Roofline
    flops: float
    ideal_bytes: float
    duration_ms: float
    dram_bytes: Optional[float] = None

    @property
    def achieved_tflops(self) -> float:
        return self.flops / (self.duration_ms * 1e-3) / 1e12

    @property
    def dram_gbs(self) -> Optional[float]:
        """Measured DRAM bandwidth in GB/s."""
        return self.dram_bytes / (self.duration_ms * 1e-3) / 1e9 if self.dram_bytes is not None else None

    @property
    def ideal_intensity(self) -> float:
        return self.flops / self.ideal_bytes if self.ideal_bytes else math.inf

    @property
    def measured_intensity(self) -> Optional[float]:
        return self.flops / self.dram_bytes if self.dram_bytes else None

    @property
    def bound(self) -> str:
        """"compute" or "memory": which roof is lower at the ideal intensity (the one no kernel can beat)."""
        return "compute" if self.ideal_intensity >= self.roofline.ridge else "memory"

    @property
    def compute_floor_ms(self) -> float:
        return self.flops / (self.roofline.compute_tflops * 1e12) * 1e3

    @property
    def memory_floor_ms(self) -> float:
        return self.ideal_bytes / (self.roofline.memory_tbs * 1e12) * 1e3

    @property
    def floor_ms(self) -> float:
        return max(self.compute_floor_ms, self.memory_floor_ms)

    @property
    def fraction_of_ceiling(self) -> float:
        """How close to the binding ceiling: floor / duration (1.0 = on the roof)."""
        return self.floor_ms / self.duration_ms

    @property
    def traffic_ratio(self) -> Optional[float]:
        """Measured DRAM bytes over the least possible (1.0 = every operand read once)."""
        return self.dram_bytes / self.ideal_bytes if self.dram_bytes is not None and self.ideal_bytes else None

    def to_json(self) -> dict:
        return {
            "achieved_tflops": self.achieved_tflops, "dram_gbs": self.dram_gbs, "ideal_intensity": self.ideal_intensity,
            "measured_intensity": self.measured_intensity, "ridge": self.roofline.ridge, "bound": self.bound,
            "compute_floor_ms": self.compute_floor_ms, "memory_floor_ms": self.memory_floor_ms,
            "floor_ms": self.floor_ms, "fraction_of_ceiling": self.fraction_of_ceiling,
            "traffic_ratio": self.traffic_ratio,
        }


def describe(placement: Placement) -> str:
    """One line: the binding floor, how far the call is from it, and its DRAM traffic."""
    roof = placement.roofline
    relation = ">=" if placement.bound == "compute" else "<"
    if placement.bound == "compute":
        where = (f"{placement.achieved_tflops:.0f} of {roof.compute_tflops:.0f} TFLOP/s")
    else:
        achieved_tbs = placement.ideal_bytes / (placement.duration_ms * 1e-3) / 1e12
        where = f"{achieved_tbs:.2f} of {roof.memory_tbs:.2f} TB/s of minimal traffic"
    line = (f"{placement.bound}-bound (ideal intensity {placement.ideal_intensity:.0f} {relation} ridge "
            f"{roof.ridge:.0f} FLOP/B): at {placement.fraction_of_ceiling:.0%} of the {placement.bound} ceiling "
            f"({where}; floor {placement.floor_ms:.3f} ms, {1 / placement.fraction_of_ceiling:.2f}x away)")
    if placement.traffic_ratio is not None:
        line += (f"; DRAM traffic {placement.traffic_ratio:.2f}x the minimum "
                 f"(measured intensity {placement.measured_intensity:.0f} FLOP/B)")
    return line


def plot(points: List[dict], roofline: Roofline, path: str, title: str) -> bool:
    """A log-log roofline with one labelled point per call: dicts with "label", "placement" and
    "kind" ("ours" / "torch"), "pick" (the planner's choice). False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    intensities = [_plotted_intensity(p["placement"]) for p in points]
    low = min(intensities + [roofline.ridge]) / 8
    high = max(intensities + [roofline.ridge]) * 8
    xs = [low * (high / low) ** (i / 200) for i in range(201)]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.plot(xs, [roofline.attainable_tflops(x) for x in xs], color="black", linewidth=1.5)
    ax.axvline(roofline.ridge, color="gray", linewidth=0.6, linestyle=":")
    ax.annotate(f"{roofline.compute_tflops:.0f} TFLOP/s ({roofline.mode})", (high, roofline.compute_tflops),
                textcoords="offset points", xytext=(-4, 4), ha="right", fontsize=8)
    ax.annotate(f"{roofline.memory_tbs:.2f} TB/s", (low * 1.5, roofline.attainable_tflops(low * 1.5)),
                textcoords="offset points", xytext=(12, -6), ha="left", fontsize=8)
    ax.annotate(f"ridge {roofline.ridge:.0f} FLOP/B", (roofline.ridge, roofline.compute_tflops),
                textcoords="offset points", xytext=(4, -12), fontsize=7, color="gray")
    ideal = points[0]["placement"].ideal_intensity if points else math.inf
    if math.isfinite(ideal):
        ax.axvline(ideal, color="tab:green", linewidth=0.8, linestyle="--")
    colors = {"ours": "tab:blue", "torch": "tab:orange"}
    for index, (point, x) in enumerate(zip(points, intensities)):
        y = point["placement"].achieved_tflops
        marker = "*" if point.get("pick") else ("s" if point["kind"] == "torch" else "o")
        ax.scatter([x], [y], color=colors.get(point["kind"], "tab:gray"), marker=marker,
                   s=150 if point.get("pick") else 45, zorder=3)
        # Staggered offsets keep the labels of nearby configurations apart.
        ax.annotate(point["label"], (x, y), textcoords="offset points", xytext=(6, -10 + 10 * (index % 3)),
                    fontsize=7)
    legend = [Line2D([], [], color="tab:blue", marker="o", linestyle="", label="tilekernels"),
              Line2D([], [], color="tab:blue", marker="*", markersize=12, linestyle="", label="planner's pick"),
              Line2D([], [], color="tab:orange", marker="s", linestyle="", label="torch"),
              Line2D([], [], color="tab:green", linestyle="--", label="ideal intensity (minimal traffic)")]
    ax.legend(handles=legend, fontsize=8, loc="lower right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=roofline.compute_tflops * 1.6)
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.set_xlabel("arithmetic intensity (FLOP per DRAM byte, measured by ncu)")
    ax.set_ylabel("achieved TFLOP/s")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", linewidth=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return True


def _plotted_intensity(placement: Placement) -> float:
    """Measured intensity, else the ideal one (no DRAM bytes recorded)."""
    return placement.measured_intensity or placement.ideal_intensity
