"""Tuned tile tables on disk: bundled (package data, produced by our tuner on the named GPU) and the
user's cache, pushed into the extension's in-memory table before the heuristic is consulted.

File format (one JSON file per device name):
    {"format": 1, "library": "0.1.0", "torch": "2.11.0", "cuda": "13.0", "arch": 90,
     "device": "NVIDIA H100 80GB HBM3", "sms": 132,
     "entries": {"bmm": {key: config_name, ...}, "attention": {key: config_name, ...}}}
Entries name configurations (not ids), so a changed table never maps a key to the wrong kernel.
A GPU without a bundled table of its own borrows the nearest one of its architecture (same arch, same
SM count preferred), its keys renamed to this GPU; the user's tuned entries still win.
"""

import functools
import json
import os
import re
import threading
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

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
        "sms": props.multi_processor_count,
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


# Which table each pushed key came from, for explain().
_origins: Dict[str, str] = {}


def set_entry(family: str, key: str, config_id: int, origin: str) -> None:
    """Puts one tuned choice into the extension's in-memory table, remembering where it came from."""
    torch.ops.kernels._tile_table_set(family, key, config_id)
    _origins[key] = origin


def _push(table: dict, origin: str = "") -> int:
    pushed = 0
    for family in FAMILIES:
        ids = _config_ids(family)
        for key, name in table.get("entries", {}).get(family, {}).items():
            if name in ids:
                set_entry(family, key, ids[name], origin)
                pushed += 1
    return pushed


def table_origin(key: str) -> Optional[str]:
    """Which table on disk supplied a tuned key ("bundled table of NVIDIA H100 80GB HBM3", ...)."""
    return _origins.get(key)


def table_paths(device_name: str) -> Dict[str, Path]:
    name = device_file_name(device_name)
    return {"bundled": _BUNDLED_DIR / name, "user": cache_dir() / name}


def nearest_bundled_table(meta: dict) -> Optional[Path]:
    """The bundled table for a GPU that has none of its own: one tuned on another GPU of the same
    architecture (an H200 takes the H100's), preferring one with the same number of SMs."""
    candidates = []
    for path in sorted(_BUNDLED_DIR.glob("*.json")):
        table = _read(path)
        if table is None or table.get("device") == meta["device"]:
            continue
        if stale_reason(dict(table, device=meta["device"]), meta, strict=False) is None:
            candidates.append((table.get("sms") != meta.get("sms"), path))
    return min(candidates)[1] if candidates else None


def retarget(table: dict, device_name: str) -> dict:
    """The table with its keys renamed to another GPU: a key's second field names the device."""
    entries = {}
    for family, family_entries in table.get("entries", {}).items():
        renamed = {}
        for key, name in family_entries.items():
            fields = key.split("|")
            if len(fields) > 1:
                fields[1] = device_name
            renamed["|".join(fields)] = name
        entries[family] = renamed
    return dict(table, device=device_name, entries=entries)


def _table_sources(meta: dict) -> List[Tuple[str, Path, bool]]:
    """(source, path, borrowed) in the order they are pushed: bundled (this GPU's own, else the
    nearest of its architecture), then the user's cache, which wins."""
    paths = table_paths(meta["device"])
    bundled = paths["bundled"]
    borrowed = not bundled.exists()
    if borrowed:
        bundled = nearest_bundled_table(meta)
    sources = [("bundled", bundled, borrowed)] if bundled else []
    return sources + [("user", paths["user"], False)]


def load_tables() -> dict:
    """Pushes the bundled, then the user's (which win) tuned tables of every visible GPU into the
    extension. Returns {device name: {"bundled": n, "bundled_from": device or None, "user": n,
    "ignored": [reasons]}}; "bundled_from" names the GPU a borrowed table was tuned on."""
    report = {}
    if not torch.cuda.is_available():
        return report
    with _lock:
        for index in range(torch.cuda.device_count()):
            meta = current_meta(index)
            if meta["device"] in report:
                continue
            summary = {"bundled": 0, "bundled_from": None, "user": 0, "ignored": []}
            for source, path, borrowed in _table_sources(meta):
                table = _read(path)
                if table is None:
                    continue
                if borrowed:
                    summary["bundled_from"] = table.get("device")
                    table = retarget(table, meta["device"])
                reason = stale_reason(table, meta, strict=(source == "user"))
                if reason:
                    summary["ignored"].append(f"{path}: {reason}")
                    continue
                origin = f"bundled table of {summary['bundled_from']}" if borrowed else f"{source} table {path}"
                summary[source] = _push(table, origin)
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
