"""Nsight Compute (ncu) as a subprocess: where it is, the command line, running it, reading its CSV
(`--csv --page raw`) and turning its failures into one sentence."""

import csv
import io
import os
import re
import shutil
import signal
import site
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

# The metrics read per kernel: short name -> ncu metric. The first five are the seeds' loop (achieved
# occupancy, SM throughput, DRAM throughput, L2 hit rate, grid size); the rest explain them.
METRICS: Dict[str, str] = {
    "achieved_occupancy": "sm__warps_active.avg.pct_of_peak_sustained_active",
    "sm_throughput": "sm__throughput.avg.pct_of_peak_sustained_elapsed",
    "dram_throughput": "dram__throughput.avg.pct_of_peak_sustained_elapsed",
    "l2_hit_rate": "lts__t_sector_hit_rate.pct",
    "grid_size": "launch__grid_size",
    "duration": "gpu__time_duration.sum",
    "block_size": "launch__block_size",
    "registers": "launch__registers_per_thread",
    "smem_dynamic": "launch__shared_mem_per_block_dynamic",
    "smem_static": "launch__shared_mem_per_block_static",
    "dram_read": "dram__bytes_read.sum",
    "dram_write": "dram__bytes_write.sum",
    "blocks_per_sm_by_registers": "launch__occupancy_limit_registers",
    "theoretical_occupancy": "sm__maximum_warps_per_active_cycle_pct",
}
# Metrics that are nice to have: when this ncu / GPU does not know one, profiling reruns without it.
OPTIONAL_METRICS: Dict[str, str] = {
    "tensor_pipe": "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active",
}
# Warp stall reasons: average number of warps stalled for each reason per issued instruction.
STALL_PREFIX = "smsp__average_warps_issue_stalled_"
STALL_SUFFIX = "_per_issue_active.ratio"
STALLS_REGEX = r"regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio"
# "selected" counts the warp that issued, not a stall.
NOT_STALLS = ("selected",)

# Each call the profiled program makes sits in an NVTX range named RANGE_PREFIX + op + ":" + label;
# `--print-nvtx-rename kernel` puts it in front of the kernel name: "tk:bmm:ours/void bmm_kernel<...>".
RANGE_PREFIX = "tk:"
_NVTX_COLUMN_LABEL = re.compile(r"<default domain>:(" + re.escape(RANGE_PREFIX) + r"[^:\"]+:[^:\"/]+):")

# Scale of ncu's units to seconds / bytes (raw pages print base units; the others, should they appear).
_TIME_UNITS = {"ns": 1e-9, "nsecond": 1e-9, "us": 1e-6, "usecond": 1e-6, "ms": 1e-3, "msecond": 1e-3,
               "s": 1.0, "second": 1.0}
_BYTE_UNITS = {"byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "Tbyte": 1e12,
               "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}

DEFAULT_PATHS = ("/usr/local/cuda/bin/ncu",)


class NcuError(Exception):
    """A failure to profile, said in one sentence for the user (no traceback)."""


def find_ncu(explicit: Optional[str] = None) -> Optional[str]:
    """ncu's path: `explicit` if given (and executable), else on PATH, else $CUDA_HOME/bin, else
    /usr/local/cuda/bin; None when there is none."""
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    found = shutil.which("ncu")
    if found:
        return found
    candidates = [os.path.join(os.environ[var], "bin", "ncu") for var in ("CUDA_HOME", "CUDA_PATH")
                  if os.environ.get(var)]
    for path in candidates + list(DEFAULT_PATHS):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def missing_ncu_message(explicit: Optional[str] = None) -> str:
    if explicit:
        return f"ncu not found at {explicit} (--ncu): give the path of Nsight Compute's `ncu` executable"
    return ("ncu (Nsight Compute) not found on PATH, in $CUDA_HOME/bin or /usr/local/cuda/bin: install Nsight "
            "Compute (it comes with the CUDA toolkit) or pass --ncu /path/to/ncu")


def metric_list(optional: bool = True) -> List[str]:
    names = list(METRICS.values()) + (list(OPTIONAL_METRICS.values()) if optional else [])
    return names + [STALLS_REGEX]


def ncu_command(ncu: str, program: Sequence[str], optional_metrics: bool = True) -> List[str]:
    """The ncu command line around `program`: raw metrics as CSV, clocks as they are, caches flushed
    before every replay, only what runs between cudaProfilerStart and Stop, kernels renamed after
    their NVTX range."""
    return [
        ncu, "--target-processes", "all", "--csv", "--page", "raw",
        "--clock-control", "none", "--cache-control", "all", "--profile-from-start", "off",
        "--nvtx", "--print-nvtx-rename", "kernel",
        "--metrics", ",".join(metric_list(optional_metrics)),
        *program,
    ]


def run(command: Sequence[str], timeout: float, env: Optional[Dict[str, str]] = None) -> Tuple[int, str, str]:
    """(return code, stdout, stderr) of the command; NcuError when it cannot start or runs past timeout
    (then ncu and the program under it are killed)."""
    try:
        # Its own session, so that a timeout or Ctrl-C can stop ncu and the program under it together.
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   encoding="utf-8", errors="replace", env=env, start_new_session=True)
    except OSError as error:
        raise NcuError(f"could not start {command[0]}: {error.strerror or error}") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise NcuError(f"ncu ran longer than {timeout:.0f} s and was stopped (--timeout raises the limit)") from None
    except KeyboardInterrupt:
        _stop(process)
        raise NcuError("interrupted: ncu and the profiled program were stopped") from None
    return process.returncode, stdout, stderr


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already gone
    process.communicate()


def version(ncu: str) -> Optional[str]:
    """ncu's version ("2025.3.1.0"), or None."""
    try:
        out = subprocess.run([ncu, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"Version (\S+)", out)
    return match.group(1) if match else None


PERMISSION_MESSAGE = (
    "ncu may not read this GPU's performance counters (ERR_NVGPUCTRPERM): run the command as root (sudo), "
    "or let every user profile by loading the nvidia kernel module with NVreg_RestrictProfilingToAdminUsers=0 "
    "(https://developer.nvidia.com/ERR_NVGPUCTRPERM)")


def _ncu_lines(output: str, tag: str) -> List[str]:
    return [line.strip() for line in output.splitlines() if line.startswith(f"=={tag}==")]


def error_lines(output: str) -> List[str]:
    """ncu's ==ERROR== lines."""
    return _ncu_lines(output, "ERROR")


def unknown_metric(output: str) -> Optional[str]:
    """The line where ncu says it does not know a metric, or None."""
    for line in error_lines(output):
        lowered = line.lower()
        if "failed to find metric" in lowered or ("metric" in lowered and "not found" in lowered):
            return line
    return None


def classify_failure(output: str, returncode: int) -> Optional[str]:
    """One sentence saying why an ncu run gave no results, or None when it looks fine.
    `output` is ncu's stdout and stderr together."""
    if "ERR_NVGPUCTRPERM" in output:
        return PERMISSION_MESSAGE
    errors = error_lines(output)
    for line in errors + _ncu_lines(output, "WARNING"):
        lowered = line.lower()
        if ("not supported" in lowered or "unsupported" in lowered) and ("device" in lowered or "gpu" in lowered):
            return f"ncu cannot profile this GPU: {strip_tag(line)}"
    metric = unknown_metric(output)
    if metric:
        return f"ncu does not know a requested metric on this GPU: {strip_tag(metric)}"
    if errors:
        return f"ncu failed: {strip_tag(errors[0])}"
    if "No kernels were profiled" in output:
        return ("ncu profiled no kernels: the program ran, but no kernel launched between its profiler "
                "start and stop")
    if returncode != 0 and _header_index(output.splitlines()) is None:
        tail = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
        return f"ncu exited with code {returncode}: {tail[0].strip()}"
    return None


def strip_tag(line: str) -> str:
    return re.sub(r"^==[A-Z]+==\s*", "", line)


def _header_index(lines: List[str]) -> Optional[int]:
    for index, line in enumerate(lines):
        if line.startswith('"ID",'):
            return index
    return None


Value = Union[float, str, None]


def parse_value(text: str) -> Value:
    """A CSV cell: a number (ncu prints thousands separators: "1,980,000") or the text as it is;
    None for an empty cell or n/a."""
    text = text.strip()
    if text in ("", "n/a", "N/A"):
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text


@dataclass
class KernelRecord:
    """One profiled kernel launch: the NVTX range it ran in, its name, and every column of its row."""

    range: Optional[str]  # "tk:bmm:ours", or None outside our ranges
    kernel: str
    device: Optional[str] = None  # "NVIDIA H200"
    values: Dict[str, Value] = field(default_factory=dict)
    units: Dict[str, str] = field(default_factory=dict)

    def number(self, metric: str) -> Optional[float]:
        value = self.values.get(metric)
        return value if isinstance(value, float) else None

    def seconds(self, metric: str) -> Optional[float]:
        value = self.number(metric)
        scale = _TIME_UNITS.get(self.units.get(metric, ""))
        return value * scale if value is not None and scale is not None else None

    def bytes(self, metric: str) -> Optional[float]:
        value = self.number(metric)
        return value * _BYTE_UNITS.get(self.units.get(metric, ""), 1) if value is not None else None

    def stalls(self) -> Dict[str, float]:
        """Stall reason -> warps stalled per issued instruction ("long_scoreboard": 0.2, ...)."""
        stalls = {}
        for column, value in self.values.items():
            if column.startswith(STALL_PREFIX) and column.endswith(STALL_SUFFIX) and isinstance(value, float):
                reason = column[len(STALL_PREFIX):-len(STALL_SUFFIX)]
                if reason not in NOT_STALLS:
                    stalls[reason] = value
        return stalls

    def top_stalls(self, count: int = 3) -> List[Tuple[str, float]]:
        """The `count` largest stall reasons, largest first, with readable names ("long scoreboard")."""
        ranked = sorted(self.stalls().items(), key=lambda item: (-item[1], item[0]))[:count]
        return [(reason.replace("_", " "), value) for reason, value in ranked]


def split_kernel_name(name: str, nvtx_column: str = "") -> Tuple[Optional[str], str]:
    """(NVTX range, kernel) from the "Kernel Name" column renamed by `--print-nvtx-rename kernel`
    ("tk:bmm:ours/void f<...>(...)"); the range from the NVTX column when the name carries none."""
    if name.startswith(RANGE_PREFIX) and "/" in name:
        label, kernel = name.split("/", 1)
        return label, kernel
    match = _NVTX_COLUMN_LABEL.search(nvtx_column)
    return (match.group(1) if match else None), name


def parse_raw_csv(output: str) -> List[KernelRecord]:
    """The kernels of ncu's `--csv --page raw` output. ncu's own lines (==PROF==, ==WARNING==) and the
    program's output come before the header; a row of units follows it."""
    lines = output.splitlines()
    start = _header_index(lines)
    if start is None:
        return []
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:]))))
    header, rows = rows[0], rows[1:]
    units = {}
    if rows and not rows[0][0].strip():  # the units row: its ID cell is empty
        units = {column: unit for column, unit in zip(header, rows[0]) if unit}
        rows = rows[1:]
    nvtx_column = next((c for c in header if "Push/Pop_Range" in c), None)
    records = []
    for row in rows:
        if len(row) < len(header) or not row[0].strip().isdigit():
            continue  # a line the program printed after the table, not a kernel
        cells = dict(zip(header, row))
        nvtx = cells.get(nvtx_column, "") if nvtx_column else ""
        label, kernel = split_kernel_name(cells.get("Kernel Name", ""), nvtx)
        values = {column: parse_value(text) for column, text in cells.items()
                  if not column.startswith("device__attribute_")}  # hundreds of constant device columns
        records.append(KernelRecord(range=label, kernel=kernel, device=cells.get("device__attribute_display_name"),
                                    values=values, units=units))
    return records


def package_pythonpath(env: Dict[str, str]) -> Dict[str, str]:
    """The environment for the profiled program, so that it imports this tilekernels package: a
    checkout's python/ folder goes first on PYTHONPATH; an installed package (site-packages, which must
    not come before the standard library) is found as it is."""
    root = str(Path(__file__).resolve().parents[2])
    if root in {os.path.realpath(p) for p in site.getsitepackages() + [site.getusersitepackages()]}:
        return dict(env)
    paths = [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    return dict(env, PYTHONPATH=os.pathsep.join(paths))
