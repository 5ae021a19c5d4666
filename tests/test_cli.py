"""The CLI runs end to end (on CPU: the CPU path on small shapes)."""

import json
import subprocess
import sys

import torch


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tilekernels", *args], capture_output=True, text=True, timeout=600)


def test_info():
    result = run_cli("info")
    assert result.returncode == 0, result.stderr
    assert "CUDA kernels:" in result.stdout and "family bmm" in result.stdout and "family attention" in result.stdout


def test_bench_writes_json(tmp_path):
    path = tmp_path / "bench.json"
    shapes = ["odd1000", "d128"] if torch.cuda.is_available() else ["cpu_odd", "cpu_d64"]
    result = run_cli("bench", "--shapes", *shapes, "--modes", "fp32", "--reps", "2", "--no-backends", "--json",
                     str(path))
    assert result.returncode == 0, result.stderr
    rows = json.loads(path.read_text())["rows"]
    impls = {(row["suite"], row["impl"]) for row in rows}
    assert ("bmm", "tilekernels") in impls and ("attention", "tilekernels") in impls
    for row in rows:
        assert row["ms"] and row["ms"] > 0 and row["relerr"] < 1e-4, row
    if not torch.cuda.is_available():
        assert "CPU implementations" in result.stdout


def test_explain_cli():
    result = run_cli("explain", "bmm", "2,8,8,8", "--mode", "fp32")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["family"] == "bmm"
