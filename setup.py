"""Builds the tilekernels extension against the installed torch (stable ABI, see README "Build").

Environment variables (all optional):
  TILEKERNELS_BUILD_CUDA   1 / 0 / auto (default auto: build the CUDA kernels when nvcc is found)
  TILEKERNELS_CUDA_ARCHS   ';'- or ','-separated targets, e.g. "89;90a" (default: the visible GPU's
                           architecture, or 89;90a when no GPU is visible)
  TILEKERNELS_FAMILIES     kernel families to compile, e.g. "bmm" (default: bmm,attention)
  TILEKERNELS_INSTANCES    regular expression; only instance files whose name matches are compiled
                           (a fast developer build; the other configurations raise a clear error)
  MAX_JOBS                 parallel compile jobs (ninja)
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import setuptools

# The stable-ABI floor: one build loads under this torch and every later one.
TORCH_TARGET = (2, 10)
# pyproject.toml's SPDX `license` string needs setuptools 77.
SETUPTOOLS_FLOOR = (77, 0)


def version_tuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:2])


# A build without isolation (pip install --no-build-isolation .) uses what is installed: say in one
# sentence what is missing instead of failing with a traceback further down.
if version_tuple(setuptools.__version__) < SETUPTOOLS_FLOOR:
    sys.exit(f"tilekernels: building needs setuptools >= {SETUPTOOLS_FLOOR[0]} (found {setuptools.__version__}); "
             "run `pip install -U setuptools`, or build with `pip install .`, which fetches it.")
try:
    import torch
except ImportError:
    sys.exit("tilekernels: building needs torch, which is not installed; run `pip install torch` first "
             f"(>= {TORCH_TARGET[0]}.{TORCH_TARGET[1]}), or build with `pip install .`, which fetches one to build against.")
if version_tuple(torch.__version__) < TORCH_TARGET:
    sys.exit(f"tilekernels: building needs torch >= {TORCH_TARGET[0]}.{TORCH_TARGET[1]}, found {torch.__version__}; "
             "run `pip install -U torch`.")

import torch.utils.cpp_extension as cpp_extension  # noqa: E402
from setuptools import find_namespace_packages, setup  # noqa: E402
from torch.utils.cpp_extension import BuildExtension, CppExtension  # noqa: E402

ROOT = os.path.dirname(os.path.abspath(__file__))
ALL_FAMILIES = ("bmm", "attention")
DEFAULT_ARCHS_WITHOUT_GPU = ("89", "90a")
# Keeps every symbol of the extension private: see build_extension().
EXPORTS_MAP = os.path.join(ROOT, "csrc", "extension_exports.map")


def is_cuda_home(path):
    return bool(path) and os.path.exists(os.path.join(path, "bin", "nvcc")) and os.path.exists(
        os.path.join(path, "include", "cuda_runtime.h"))


def find_cuda_home():
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    candidates = ["/usr/local/cuda"]
    nvcc = shutil.which("nvcc")
    if nvcc:  # may be a wrapper script outside the toolkit, hence the check below
        candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    return next((path for path in candidates if is_cuda_home(path)), None)


def normalize_arch(text):
    arch = text.strip().lower().replace("sm_", "").replace("compute_", "").replace(".", "")
    if not re.fullmatch(r"\d{2,3}[af]?", arch):
        raise ValueError(f"TILEKERNELS_CUDA_ARCHS: cannot read the architecture {text!r} (use e.g. 89 or 90a)")
    return arch


def visible_gpu_arch():
    capability = None
    if torch.cuda.is_available():
        capability = torch.cuda.get_device_capability()
    elif shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30).stdout.split()
            if out:
                major, minor = out[0].split(".")
                capability = (int(major), int(minor))
        except (OSError, subprocess.SubprocessError, ValueError):
            capability = None
    if capability is None:
        return None
    arch = f"{capability[0]}{capability[1]}"
    # Hopper's wgmma/setmaxnreg live only in the arch-specific target.
    return arch + "a" if arch == "90" else arch


def cuda_archs():
    env = os.environ.get("TILEKERNELS_CUDA_ARCHS")
    if env:
        return [normalize_arch(a) for a in re.split(r"[;, ]+", env) if a.strip()]
    gpu = visible_gpu_arch()
    return [gpu] if gpu else list(DEFAULT_ARCHS_WITHOUT_GPU)


def selected_families():
    env = os.environ.get("TILEKERNELS_FAMILIES")
    if not env:
        return list(ALL_FAMILIES)
    families = [f.strip() for f in env.split(",") if f.strip()]
    unknown = sorted(set(families) - set(ALL_FAMILIES))
    if unknown:
        raise ValueError(f"TILEKERNELS_FAMILIES: unknown families {unknown}; known: {list(ALL_FAMILIES)}")
    return families


def want_cuda(cuda_home):
    mode = os.environ.get("TILEKERNELS_BUILD_CUDA", "auto").lower()
    if mode in ("0", "false", "no", "off"):
        return False
    if mode in ("1", "true", "yes", "on"):
        if cuda_home is None:
            raise RuntimeError("TILEKERNELS_BUILD_CUDA=1 but no CUDA toolkit was found (set CUDA_HOME)")
        return True
    return cuda_home is not None


def rel(paths):
    return sorted(os.path.relpath(p, ROOT) for p in paths)


def build_extension():
    cuda_home = find_cuda_home()
    with_cuda = want_cuda(cuda_home)
    families = selected_families()
    archs = cuda_archs() if with_cuda else []
    instance_filter = os.environ.get("TILEKERNELS_INSTANCES")

    sources = rel(glob.glob(os.path.join(ROOT, "csrc", "ops", "*.cpp")))
    sources += rel(glob.glob(os.path.join(ROOT, "csrc", "kernels", "cpu", "*.cpp")))
    sources += rel(glob.glob(os.path.join(ROOT, "csrc", "tuning", "*.cpp")))

    target = f"0x{TORCH_TARGET[0]:02x}{TORCH_TARGET[1]:02x}000000000000"
    defines = [f"-DTORCH_TARGET_VERSION={target}"]
    cxx_flags = ["-O3", "-fvisibility=hidden"] + defines
    nvcc_flags = ["-O3", "-lineinfo", "-Xptxas=--warn-on-spills", "--expt-relaxed-constexpr"] + defines
    libraries, library_dirs, include_dirs = [], [], [os.path.join(ROOT, "csrc")]
    compiled_instances = []

    if with_cuda:
        # CPU-only torch wheels leave cpp_extension.CUDA_HOME unset even where nvcc exists; our
        # kernels need only nvcc and the CUDA runtime, never torch's own CUDA libraries.
        cpp_extension.CUDA_HOME = cuda_home
        for family in families:
            sources += rel(glob.glob(os.path.join(ROOT, "csrc", "kernels", family, "*.cu")))
            for path in sorted(glob.glob(os.path.join(ROOT, "csrc", "kernels", family, "instances", "*.cu"))):
                name = os.path.basename(path)
                if instance_filter and not re.search(instance_filter, name):
                    continue
                sources.append(os.path.relpath(path, ROOT))
                compiled_instances.append(name[: -len(".cu")])
        cxx_flags.append("-DTILEKERNELS_WITH_CUDA")
        nvcc_flags.append("-DTILEKERNELS_WITH_CUDA")
        for arch in archs:
            nvcc_flags.append(f"-gencode=arch=compute_{arch},code=sm_{arch}")
        if "90a" in archs:  # the wgmma rows of the tile tables are compiled (and registered) only then
            nvcc_flags.append("-DTILEKERNELS_WITH_SM90A")
        include_dirs.append(os.path.join(cuda_home, "include"))
        library_dirs.append(os.path.join(cuda_home, "lib64"))
        # Static cudart: the extension loads on hosts without a CUDA runtime installed (CI, CPU users).
        libraries += ["cudart_static", "dl", "rt", "pthread"]

    build_info = {
        "version": "0.1.0",
        "cuda": with_cuda,
        "cuda_archs": archs,
        "families": families,
        "instances": compiled_instances,
        "instance_filter": instance_filter,
        "torch_built_against": torch.__version__,
        "torch_target": f"{TORCH_TARGET[0]}.{TORCH_TARGET[1]}",
        "nvcc": nvcc_version(cuda_home) if with_cuda else None,
    }
    with open(os.path.join(ROOT, "python", "tilekernels", "_build_info.json"), "w") as f:
        json.dump(build_info, f, indent=1)
    print(f"tilekernels: cuda={with_cuda} archs={archs} families={families} instances={len(compiled_instances)}",
          file=sys.stderr)

    # The extension exports no symbols: its ops register from static initializers when torch loads it,
    # and it talks to torch only through the stable C ABI. Some toolchains (a g++ whose library folder
    # holds only libstdc++.a) link a private C++ runtime into it; exported, that copy's std:: symbols
    # would mix with the libstdc++.so Python already loaded and crash on first use. --exclude-libs hides
    # what static archives bring (that libstdc++, cudart_static); the version script hides the rest.
    link_flags = ["-Wl,--exclude-libs,ALL", f"-Wl,--version-script={EXPORTS_MAP}"]

    return CppExtension(
        "tilekernels._C",
        sources,
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        libraries=libraries,
        extra_compile_args={"cxx": cxx_flags, "nvcc": nvcc_flags},
        extra_link_args=link_flags,
        py_limited_api=True,
    )


def nvcc_version(cuda_home):
    try:
        out = subprocess.run([os.path.join(cuda_home, "bin", "nvcc"), "--version"],
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"release (\d+\.\d+)", out)
    return match.group(1) if match else None


setup(
    # Namespace discovery also lists the data folders (tuned tables) as packages, as setuptools wants.
    packages=find_namespace_packages("python", include=["tilekernels*"], exclude=["*__pycache__*"]),
    package_dir={"": "python"},
    package_data={"tilekernels": ["_build_info.json", "data/tuned/*.json", "data/ceilings.json"]},
    ext_modules=[build_extension()],
    cmdclass={"build_ext": BuildExtension},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
