"""The roofline ceilings of a GPU: measured on this machine (`bench --measure-ceilings` stores them in
the user's cache), else bundled for that device name (data/ceilings.json), else the H100's with a note.

Keys as runner.measure_ceilings returns them: "fp16", "bf16", "tf32", "fp32" in TFLOP/s, "copy_tbs"
in TB/s.
"""

import datetime
import json
from pathlib import Path
from typing import Dict, Optional, Tuple

from tilekernels.benchmarking.suites import H100_CEILINGS

KEYS = ("fp16", "bf16", "tf32", "fp32", "copy_tbs")
BUNDLED_PATH = Path(__file__).resolve().parent.parent / "data" / "ceilings.json"


def user_path() -> Path:
    from tilekernels.tuning.tables import cache_dir

    return cache_dir() / "ceilings.json"


def _devices(path: Path) -> Dict[str, dict]:
    """{device name: ceilings} of a ceilings file; {} when it is missing or unreadable."""
    try:
        return json.loads(path.read_text()).get("devices", {})
    except (OSError, ValueError, AttributeError):
        return {}


def _complete(entry: Optional[dict]) -> Optional[Dict[str, float]]:
    if not entry or any(not isinstance(entry.get(key), (int, float)) or entry[key] <= 0 for key in KEYS):
        return None
    return {key: float(entry[key]) for key in KEYS}


def ceilings_for(device_name: str) -> Tuple[Dict[str, float], str]:
    """(ceilings, where they came from) for a GPU: user-measured > bundled > the H100's."""
    measured = _complete(_devices(user_path()).get(device_name))
    if measured:
        return measured, f"measured on this machine ({user_path()})"
    bundled = _complete(_devices(BUNDLED_PATH).get(device_name))
    if bundled:
        return bundled, f"bundled for {device_name}"
    return dict(H100_CEILINGS), (f"H100 values: none measured or bundled for {device_name!r} "
                                 "(`python -m tilekernels bench --measure-ceilings` measures this GPU's)")


def save_measured(device_name: str, ceilings: Dict[str, float]) -> Path:
    """Records measured ceilings for a GPU in the user's cache (read-modify-write); returns the file."""
    path = user_path()
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        table = {}
    if not isinstance(table.get("devices"), dict):
        table = {"format": 1, "devices": {}}
    entry = {key: round(float(ceilings[key]), 3) for key in KEYS}
    entry["measured"] = datetime.date.today().isoformat()
    table["devices"][device_name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(table, indent=1, sort_keys=True))
    tmp.replace(path)
    return path
