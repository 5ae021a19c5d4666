"""Tuned tile tables on disk: bundled (package data, produced by our tuner on the named GPU) and the
user's cache, pushed into the extension's in-memory table before the heuristic is consulted.

File format (one JSON file per device name):
    {"format": 1, "library": "0.1.0", "torch": "2.11.0", "cuda": "13.0", "arch": 90,
     "device": "NVIDIA H100 80GB HBM3",
     "entries": {"bmm": {key: config_name, ...}, "attention": {key: config_name, ...}}}
Entries name configurations (not ids), so a changed table never maps a key to the wrong kernel.
"""

import functools
import json
import os
import re
import threading
import warnings
from pathlib import Path
from typing import Dict, List, Optional

import torch

FORMAT = 1
FAMILIES = ("bmm", "attention")
_BUNDLED_DIR = Path(__file__).resolve().parent.parent / "data" / "tuned"
_lock = threading.Lock()


def library_version() -> str:
    from tilekernels._library import build_info

    return build_info().get("version", "unknown")


def cache_dir() -> Path:
    """Where tuned tables are written: $TILEKERNELS_CACHE_DIR, else ~/.cache/tilekernels."""
    env = os.environ.get("TILEKERNELS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tilekernels"


def device_file_name(device_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", device_name).strip("_") + ".json"


@functools.lru_cache(maxsize=None)
def tile_configs(family: str) -> List[dict]:
    """The compiled configurations of a kernel family (id, name, tile sizes, threads, smem, ...)."""
    return json.loads(torch.ops.kernels._tile_configs(family))


def _config_ids(family: str) -> Dict[str, int]:
    return {c["name"]: c["id"] for c in tile_configs(family)}


def current_meta(device_index: int) -> dict:
    props = torch.cuda.get_device_properties(device_index)
    return {
        "format": FORMAT,
        "library": library_version(),
        "torch": torch.__version__.split("+")[0],
        "cuda": torch.version.cuda,
        "arch": props.major * 10 + props.minor,
        "device": props.name,
    }


def stale_reason(table: dict, meta: dict, strict: bool) -> Optional[str]:
    """Why a table must be ignored, or None. Bundled tables (strict=False) need the same library and
    architecture; the user's cache also the same torch and CUDA versions."""
    fields = ["format", "library", "arch", "device"] + (["torch", "cuda"] if strict else [])
    for field in fields:
        if table.get(field) != meta.get(field):
            return f"{field} is {table.get(field)!r}, this process has {meta.get(field)!r}"
    return None


def _read(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        warnings.warn(f"tilekernels: ignoring unreadable tuned table {path}: {error}", stacklevel=3)
        return None


def _push(table: dict) -> int:
    pushed = 0
    for family in FAMILIES:
        ids = _config_ids(family)
        for key, name in table.get("entries", {}).get(family, {}).items():
            if name in ids:
                torch.ops.kernels._tile_table_set(family, key, ids[name])
                pushed += 1
    return pushed


def table_paths(device_name: str) -> Dict[str, Path]:
    name = device_file_name(device_name)
    return {"bundled": _BUNDLED_DIR / name, "user": cache_dir() / name}


def load_tables() -> dict:
    """Pushes the bundled, then the user's (which win) tuned tables of every visible GPU into the
    extension. Returns {device name: {"bundled": n, "user": n, "ignored": [reasons]}}."""
    report = {}
    if not torch.cuda.is_available():
        return report
    with _lock:
        for index in range(torch.cuda.device_count()):
            meta = current_meta(index)
            if meta["device"] in report:
                continue
            summary = {"bundled": 0, "user": 0, "ignored": []}
            for source, path in table_paths(meta["device"]).items():
                table = _read(path)
                if table is None:
                    continue
                reason = stale_reason(table, meta, strict=(source == "user"))
                if reason:
                    summary["ignored"].append(f"{path}: {reason}")
                    continue
                summary[source] = _push(table)
            report[meta["device"]] = summary
    return report


def save_user_table(device_index: int, family: str, key: str, config_name: str) -> Path:
    """Records one tuned choice in the user's cache file for this GPU (read-modify-write)."""
    meta = current_meta(device_index)
    path = table_paths(meta["device"])["user"]
    with _lock:
        table = _read(path)
        if table is None or stale_reason(table, meta, strict=True):
            table = dict(meta, entries={})
        table.setdefault("entries", {}).setdefault(family, {})[key] = config_name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(table, indent=1, sort_keys=True))
        tmp.replace(path)
    return path


def tuned_entries(family: str) -> Dict[str, int]:
    """The extension's in-memory tuned table: key -> configuration id."""
    return json.loads(torch.ops.kernels._tile_table_entries(family))
