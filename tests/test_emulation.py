"""The CUDA kernels run on the CPU under host emulation (tests/emulation/): one OS thread per CUDA
thread, emulated ldmatrix / mma.sync / shuffles / cp.async and Hopper's wgmma / TMA / mbarriers /
named barriers / stmatrix, shared memory poisoned with NaN, against float64. Catches indexing,
fragment-layout, descriptor, masking and pipeline mistakes without a GPU. Needs a C++20 compiler and
the CUDA headers (cuda_fp16.h); skips without them."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EMULATION = ROOT / "tests" / "emulation"


def cuda_include_dir():
    candidates = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(str(pathlib.Path(nvcc).resolve().parent.parent))
    for base in filter(None, candidates):
        include = pathlib.Path(base) / "include"
        if (include / "cuda_fp16.h").exists():
            return include
    return None


def build(driver, tmp_path):
    compiler = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    include = cuda_include_dir()
    if compiler is None or include is None:
        pytest.skip("host emulation needs a C++20 compiler and the CUDA headers (cuda_fp16.h)")
    binary = tmp_path / driver
    command = [compiler, "-std=c++20", "-O1", "-pthread", f"-I{EMULATION}", f"-I{ROOT / 'csrc'}", f"-I{include}",
               str(EMULATION / f"{driver}.cpp"), "-o", str(binary)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return binary


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    built = {}

    def get(driver):
        if driver not in built:
            built[driver] = build(driver, tmp_path_factory.mktemp(driver))
        return built[driver]

    return get


# early: asynchronous copies and wgmma complete when issued; late: at the wait that covers them, so a
# read before its wait (or an operand overwritten before it) fails.
@pytest.mark.parametrize("schedule", ["early", "late"])
@pytest.mark.parametrize("driver", ["attention_forward", "attention_backward", "bmm"])
def test_kernels_under_emulation(driver, schedule, binaries, fresh_seed):
    result = subprocess.run([str(binaries(driver)), str(fresh_seed), schedule], capture_output=True, text=True,
                            timeout=600)
    print(result.stdout)
    assert result.returncode == 0 and "all passed" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
