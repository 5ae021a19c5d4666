"""What the compiled extension contains: no exported symbols (so no private C++ runtime can mix with
the one Python loaded), and for sm_89 every kernel is spill-free (the RTX 4090 target), checked on the
ptxas resource report embedded in the binary (cuobjdump); its sm_89-enabled configurations fit 99 KB
of shared memory (test_tuning checks the table)."""

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import torch

import tilekernels
from tilekernels._library import _extension_path

from elf import read_dynamic


def cuobjdump():
    """From PATH, the CUDA toolkit, or NVIDIA's PyPI package (nvidia-cuda-cuobjdump)."""
    candidates = [shutil.which("cuobjdump"), os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin/cuobjdump")]
    candidates += [str(p) for p in Path(sysconfig.get_paths()["purelib"]).glob("nvidia/cu*/bin/cuobjdump")]
    return next((path for path in candidates if path and Path(path).exists()), None)


def resource_usage(arch):
    out = subprocess.run([cuobjdump(), "--dump-resource-usage", "--gpu-architecture", f"sm_{arch}",
                          str(_extension_path())], capture_output=True, text=True, check=True).stdout
    kernels = {}
    name = None
    for line in out.splitlines():
        match = re.search(r"Function (\S+):", line)
        if match:
            name = match.group(1)
        usage = re.search(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)", line)
        if usage and name:
            kernels[name] = {k: int(v) for k, v in zip(("reg", "stack", "shared", "local"), usage.groups())}
    return kernels


@pytest.mark.parametrize("arch", ["89", "90a"])
def test_kernels_have_no_spills(arch):
    info = tilekernels.build_info()
    if not info["cuda"] or arch not in info["cuda_archs"] or not info["instances"]:
        pytest.skip(f"this build has no sm_{arch} kernels")
    if cuobjdump() is None:
        pytest.skip("cuobjdump not found")
    kernels = resource_usage(arch.rstrip("a"))
    assert kernels, "no kernels found in the extension"
    spilling = {name: usage for name, usage in kernels.items() if usage["local"] or usage["stack"]}
    assert not spilling, f"kernels with local memory (spills) for sm_{arch}: {spilling}"
    assert all(usage["reg"] <= 255 for usage in kernels.values())


def test_extension_exports_no_symbols():
    """A toolchain whose g++ finds only a static libstdc++.a links a private C++ runtime into the
    extension; exported, its std:: symbols mix with the libstdc++.so.6 Python already loaded and the
    first ostringstream crashes. The linker flags in setup.py keep every symbol private."""
    info = read_dynamic(_extension_path())
    cxx_runtime = [name for name in info.exported if name.startswith(("_ZNSt", "_ZNKSt", "_ZSt", "_ZTISt", "_ZTSSt",
                                                                     "_ZTVSt", "_ZNSo", "_ZNSi", "__cxa", "__gxx"))]
    assert not cxx_runtime, f"{len(cxx_runtime)} C++ runtime symbols exported, e.g. {cxx_runtime[:5]}"
    assert not info.exported, f"{len(info.exported)} symbols exported, e.g. {info.exported[:5]}"


def test_extension_needs_no_cuda_runtime_library():
    """The CUDA runtime is linked statically: the extension loads where no CUDA is installed."""
    info = read_dynamic(_extension_path())
    assert not [lib for lib in info.needed if lib.startswith("libcudart")], info.needed


def test_elf_reader_sees_exports_and_needs():
    """The checks above read a real library: the one torch's own ops live in exports thousands of
    symbols and links against the C++ runtime."""
    libtorch_cpu = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    info = read_dynamic(libtorch_cpu)
    assert "libc10.so" in info.needed
    assert len(info.exported) > 1000
