"""Loads the compiled extension and reports how it was built."""

import functools
import json
import warnings
from pathlib import Path

import torch

_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def build_info() -> dict:
    """How the installed extension was built: CUDA or not, target architectures, kernel families."""
    path = _PACKAGE_DIR / "_build_info.json"
    if not path.exists():
        return {"cuda": False, "cuda_archs": [], "families": [], "instances": [], "version": "unknown"}
    return json.loads(path.read_text())


def _extension_path() -> Path:
    candidates = sorted(_PACKAGE_DIR.glob("_C*.so")) + sorted(_PACKAGE_DIR.glob("_C*.pyd"))
    if not candidates:
        raise ImportError(
            "tilekernels: the compiled extension (tilekernels/_C*.so) is missing; install the package with "
            "`pip install --no-build-isolation .` from a checkout (see README)"
        )
    return candidates[0]


def cuda_arch_string(capability) -> str:
    major, minor = capability
    arch = f"{major}{minor}"
    return arch + "a" if arch == "90" else arch


def _warn_about_cuda_mismatch(info: dict) -> None:
    if not torch.cuda.is_available():
        return
    if not info.get("cuda"):
        warnings.warn(
            "tilekernels was built without CUDA kernels; CUDA tensors will raise. Reinstall with a CUDA toolkit "
            "present (see README, TILEKERNELS_BUILD_CUDA).",
            stacklevel=3,
        )
        return
    archs = info.get("cuda_archs", [])
    for index in range(torch.cuda.device_count()):
        arch = cuda_arch_string(torch.cuda.get_device_capability(index))
        if arch not in archs:
            warnings.warn(
                f"tilekernels: GPU {index} is sm_{arch} but the extension was compiled for {archs}; its CUDA calls "
                "will raise. Rebuild with TILEKERNELS_CUDA_ARCHS including it.",
                stacklevel=3,
            )


@functools.lru_cache(maxsize=None)
def load() -> Path:
    """Defines the op schemas, then loads the extension that implements them (once)."""
    from tilekernels import _registry  # noqa: F401  (defines the kernels:: schemas)

    path = _extension_path()
    try:
        torch.ops.load_library(str(path))
    except OSError as error:
        raise ImportError(f"tilekernels: could not load {path}: {error}") from error
    _warn_about_cuda_mismatch(build_info())
    return path
