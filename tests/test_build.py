"""What the compiled extension contains: for sm_89 every kernel is spill-free (the RTX 4090 target),
checked on the ptxas resource report embedded in the binary (cuobjdump), and its sm_89-enabled
configurations fit 99 KB of shared memory (test_tuning checks the table)."""

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

import tilekernels
from tilekernels._library import _extension_path


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
