"""One profile: runs the request's calls under ncu, reads the kernels back, groups them by call and
places each call on the roofline of the GPU."""

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from tilekernels.benchmarking.ceilings import ceilings_for
from tilekernels.profiling import ncu
from tilekernels.profiling.ncu import KernelRecord, NcuError
from tilekernels.profiling.request import ProfileRequest
from tilekernels.profiling.roofline import Placement, Roofline, roofline_for

# ncu says this for every run with --clock-control none, which we ask for: not worth repeating.
_EXPECTED_WARNINGS = ("Running with unmodified GPU clocks",)


@dataclass
class CallProfile:
    """One call of the request (ours under the planner's pick, a forced configuration, or torch's) and
    the kernels it launched."""

    label: str
    config: Optional[str]  # the tile configuration (None for torch)
    pick: bool  # the configuration the planner picks for this call
    kernels: List[KernelRecord]
    placement: Optional[Placement] = None

    @property
    def kind(self) -> str:
        return "torch" if self.label == "torch" else "ours"

    @property
    def duration_ms(self) -> Optional[float]:
        seconds = [k.seconds(ncu.METRICS["duration"]) for k in self.kernels]
        return sum(seconds) * 1e3 if seconds and None not in seconds else None

    @property
    def dram_bytes(self) -> Optional[float]:
        moved = [k.bytes(ncu.METRICS["dram_read"]) for k in self.kernels] + \
                [k.bytes(ncu.METRICS["dram_write"]) for k in self.kernels]
        return sum(moved) if moved and None not in moved else None


@dataclass
class ProfileResult:
    request: ProfileRequest
    device: str
    calls: List[CallProfile]
    roofline: Roofline
    ceilings: Dict[str, float]
    ceilings_source: str
    pick: Optional[str] = None
    plan_source: Optional[str] = None
    candidates: List[str] = field(default_factory=list)
    skipped: List[dict] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    ncu_version: Optional[str] = None


def child_command(request_path: Path, result_path: Path) -> List[str]:
    return [sys.executable, "-m", "tilekernels.profiling.child", str(request_path), str(result_path)]


def _read_child_result(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _last_program_line(output: str) -> str:
    """The last line that is not ncu's: for a crashed program, its error."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("==")]
    return lines[-1] if lines else "no output"


def run_under_ncu(request: ProfileRequest, ncu_path: str,
                  timeout: float) -> Tuple[List[KernelRecord], dict, List[str]]:
    """(kernel records, the program's result file, notes). NcuError with one sentence when it fails."""
    notes = []
    with tempfile.TemporaryDirectory(prefix="tilekernels-profile-") as tmp:
        request_path, result_path = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request_path.write_text(json.dumps(request.to_json()))
        env = ncu.package_pythonpath(dict(os.environ))
        optional = True
        while True:
            command = ncu.ncu_command(ncu_path, child_command(request_path, result_path), optional_metrics=optional)
            returncode, stdout, stderr = ncu.run(command, timeout, env)
            output = stdout + "\n" + stderr
            unknown = ncu.unknown_metric(output)
            if optional and unknown and any(m.split(".")[0] in unknown for m in ncu.OPTIONAL_METRICS.values()):
                notes.append(f"ran without {', '.join(ncu.OPTIONAL_METRICS)}: {unknown}")
                optional = False
                continue
            break
        child = _read_child_result(result_path)
    if child is not None and child.get("error"):
        raise NcuError(child["error"])  # the program's own reason (no GPU, an architecture not compiled in)
    failure = ncu.classify_failure(output, returncode)
    records = ncu.parse_raw_csv(stdout)
    if failure and (failure == ncu.PERMISSION_MESSAGE or ncu.error_lines(output)):
        raise NcuError(failure)  # ncu's own error, which also stops the program
    if child is None:
        raise NcuError(f"the profiled program stopped before it finished: {_last_program_line(output)}")
    if failure and not records:
        raise NcuError(failure)
    if not records:
        raise NcuError(f"ncu wrote no kernel rows ({_last_program_line(output)})")
    notes += [ncu.strip_tag(line) for line in output.splitlines()
              if line.startswith("==WARNING==") and not any(w in line for w in _EXPECTED_WARNINGS)]
    return records, child, notes


def assemble(request: ProfileRequest, records: List[KernelRecord], child: dict,
             ceilings_lookup: Callable = ceilings_for) -> ProfileResult:
    """Groups the kernels by call (their NVTX range) and places each call on the roofline."""
    device = child.get("device") or next((r.device for r in records if r.device), "unknown GPU")
    ceilings, source = ceilings_lookup(device)
    roofline = roofline_for(request.mode, ceilings)
    prefix = f"{ncu.RANGE_PREFIX}{request.op}:"
    by_label: Dict[str, List[KernelRecord]] = {}
    for record in records:
        if record.range and record.range.startswith(prefix):
            by_label.setdefault(record.range[len(prefix):], []).append(record)
    notes = []
    calls = []
    for entry in child.get("calls", []):
        kernels = by_label.pop(entry["label"], [])
        if not kernels:
            notes.append(f"{entry['label']}: ncu recorded no kernel for this call")
            continue
        call = CallProfile(label=entry["label"], config=entry.get("config"), pick=bool(entry.get("pick")),
                           kernels=kernels)
        if call.duration_ms:
            call.placement = Placement(roofline, request.flops(), request.ideal_bytes(), call.duration_ms,
                                       call.dram_bytes)
        calls.append(call)
    notes += [f"{label}: kernels of a call the program did not announce, ignored" for label in by_label]
    if not calls:
        raise NcuError("ncu recorded none of the profiled calls' kernels")
    return ProfileResult(request=request, device=device, calls=calls, roofline=roofline, ceilings=ceilings,
                         ceilings_source=source, pick=child.get("pick"), plan_source=child.get("plan_source"),
                         candidates=child.get("candidates", []), skipped=child.get("skipped", []), notes=notes)


def profile(request: ProfileRequest, ncu_path: str, timeout: float = 1800) -> ProfileResult:
    records, child, notes = run_under_ncu(request, ncu_path, timeout)
    result = assemble(request, records, child)
    result.notes = notes + result.notes
    result.ncu_version = ncu.version(ncu_path)
    return result
