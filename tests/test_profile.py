"""`python -m tilekernels profile`: ncu's CSV read from stored real ncu output (tests/data/ncu, from
ncu 2025.3.1 on an H200), the roofline arithmetic, the ceilings files, the messages when profiling
cannot run (through a stand-in ncu), argument parsing; on a GPU with ncu, small calls end to end."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tilekernels import cli, progress
from tilekernels.benchmarking import ceilings, suites
from tilekernels.profiling import child, ncu, report, request, roofline, session
from tilekernels.profiling.ncu import METRICS

DATA = Path(__file__).parent / "data" / "ncu"
HAS_CUDA = torch.cuda.is_available()
PICK = "fp16_128x256x32_w2x4_s4"


def sample(name: str) -> str:
    return (DATA / name).read_text()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """No user-measured ceilings or tuned tables from this machine leak into the results."""
    monkeypatch.setenv("TILEKERNELS_CACHE_DIR", str(tmp_path / "cache"))


# ---------------------------------------------------------------------------------------------------
# ncu's CSV


def test_parse_kernels_renamed_after_their_nvtx_range():
    records = ncu.parse_raw_csv(sample("raw_nvtx_stalls.csv"))
    assert [r.range for r in records] == ["tk:bmm:ours", "tk:bmm:torch", "tk:attention:ours"]
    ours, theirs, attention = records
    assert ours.kernel == ("void tilekernels::bmm::detail::bmm_kernel<(int)0, (bool)1, (bool)0>"
                           "(tilekernels::bmm::Params)")
    assert theirs.kernel == "nvjet_sm90_hsh_256x128_64x4_1x2_h_bz_coopA_NNT"
    assert attention.kernel.startswith("void tilekernels::attention::detail::register_wgmma_fwd_kernel")
    assert ours.device == "NVIDIA H200"


def test_parse_numbers_and_units():
    ours = ncu.parse_raw_csv(sample("raw_nvtx_stalls.csv"))[0]
    assert ours.number(METRICS["duration"]) == 91968.0  # "91,968"
    assert ours.units[METRICS["duration"]] == "ns"
    assert ours.seconds(METRICS["duration"]) == pytest.approx(91.968e-6)
    assert ours.bytes(METRICS["dram_read"]) == 84426240.0  # "84,426,240"
    assert ours.bytes(METRICS["dram_write"]) == 21630720.0
    assert ours.units[METRICS["dram_read"]] == "byte"
    assert ours.number(METRICS["achieved_occupancy"]) == 12.48
    assert ours.number(METRICS["sm_throughput"]) == 61.48
    assert ours.number(METRICS["dram_throughput"]) == 23.97
    assert ours.number(METRICS["l2_hit_rate"]) == 64.04
    assert ours.number(METRICS["grid_size"]) == 512
    assert ours.number(METRICS["registers"]) == 229
    assert ours.bytes(METRICS["smem_dynamic"]) == 98304
    assert ours.values["Block Size"] == "(256, 1, 1)"  # text stays text
    # Every metric the command asks for is in the stored output (the optional one was not asked for).
    assert all(ours.number(metric) is not None for metric in METRICS.values())
    assert not any(column.startswith("device__attribute_") for column in ours.values)


def test_parse_top_stalls_readable_and_without_selected():
    ours, theirs, _ = ncu.parse_raw_csv(sample("raw_nvtx_stalls.csv"))
    assert ours.top_stalls() == [("wait", 2.04), ("math pipe throttle", 0.59), ("not selected", 0.33)]
    assert theirs.top_stalls() == [("long scoreboard", 4.93), ("barrier", 4.67), ("gmma", 2.84)]
    assert "selected" not in ours.stalls() and ours.stalls()["long_scoreboard"] == 0.20
    assert len(ours.stalls()) == 18  # 19 stall columns in the file, "selected" left out


def test_parse_without_nvtx_ranges():
    records = ncu.parse_raw_csv(sample("raw_basic.csv"))
    assert [r.range for r in records] == [None, None, None]
    assert records[1].kernel == "nvjet_sm90_hsh_256x128_64x4_1x2_h_bz_coopA_NNT"
    assert records[0].top_stalls() == []  # not asked for in that run
    assert records[2].number(METRICS["duration"]) == 14464.0


def test_parse_range_from_the_nvtx_column():
    """With --nvtx-include ncu does not rename the kernel: the range comes from the NVTX column."""
    (record,) = ncu.parse_raw_csv(sample("raw_nvtx_include.csv"))
    assert record.range == "tk:bmm:ours"
    assert record.kernel == "void bmm_kernel<0, 1, 0>(Params)"
    assert record.number(METRICS["duration"]) == 92896.0


def test_parse_no_kernels():
    output = sample("bad_metric.csv")
    assert ncu.parse_raw_csv(output) == []
    assert "profiled no kernels" in ncu.classify_failure(output, 0)


@pytest.mark.parametrize("text, value", [("1,980,000", 1980000.0), ("12.50", 12.5), ("0", 0.0), ("", None),
                                         ("n/a", None), ("(256, 1, 1)", "(256, 1, 1)"),
                                         ("PolicySpread", "PolicySpread")])
def test_parse_value(text, value):
    assert ncu.parse_value(text) == value


def test_split_kernel_name():
    assert ncu.split_kernel_name("tk:bmm:fp16_64x64x32_w2x2_s3/void k<(int)1>(P)") == \
        ("tk:bmm:fp16_64x64x32_w2x2_s3", "void k<(int)1>(P)")
    assert ncu.split_kernel_name("void a/b(int)") == (None, "void a/b(int)")


# ---------------------------------------------------------------------------------------------------
# Failures in one sentence


def test_classify_permission():
    output = ("==PROF== Connected to process 1 (/usr/bin/python3)\n==ERROR== ERR_NVGPUCTRPERM - The user does not "
              "have permission to access NVIDIA GPU Performance Counters on the target device 0.\n")
    message = ncu.classify_failure(output, 1)
    assert message == ncu.PERMISSION_MESSAGE
    assert "root" in message and "NVreg_RestrictProfilingToAdminUsers=0" in message


def test_classify_unsupported_gpu_and_unknown_metric_and_other_errors():
    assert ncu.classify_failure("==ERROR== The device 0 is not supported by this version.\n", 1) == \
        "ncu cannot profile this GPU: The device 0 is not supported by this version."
    unknown = "==ERROR== Failed to find metric regex:^sm__pipe_tensor_cycles_active.avg.pct$\n"
    assert ncu.unknown_metric(unknown).startswith("==ERROR== Failed to find metric")
    assert "does not know a requested metric" in ncu.classify_failure(unknown, 1)
    assert ncu.classify_failure("==ERROR== something else broke\n", 1) == "ncu failed: something else broke"
    assert ncu.classify_failure("Segmentation fault\n", 139) == "ncu exited with code 139: Segmentation fault"


def test_classify_good_output():
    assert ncu.classify_failure(sample("raw_nvtx_stalls.csv"), 0) is None


# ---------------------------------------------------------------------------------------------------
# Finding ncu and its command line


def test_command_line():
    command = ncu.ncu_command("/opt/ncu", ["python", "-m", "prog"])
    assert command[0] == "/opt/ncu" and command[-3:] == ["python", "-m", "prog"]
    joined = " ".join(command)
    for flag in ("--target-processes all", "--csv", "--page raw", "--clock-control none", "--cache-control all",
                 "--profile-from-start off", "--nvtx", "--print-nvtx-rename kernel"):
        assert flag in joined
    metrics = command[command.index("--metrics") + 1].split(",")
    assert metrics[:5] == ["sm__warps_active.avg.pct_of_peak_sustained_active",
                           "sm__throughput.avg.pct_of_peak_sustained_elapsed",
                           "dram__throughput.avg.pct_of_peak_sustained_elapsed", "lts__t_sector_hit_rate.pct",
                           "launch__grid_size"]
    assert ncu.STALLS_REGEX in metrics and ncu.OPTIONAL_METRICS["tensor_pipe"] in metrics
    without = ncu.ncu_command("/opt/ncu", ["p"], optional_metrics=False)
    assert ncu.OPTIONAL_METRICS["tensor_pipe"] not in without[without.index("--metrics") + 1]


def _executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_find_ncu(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setattr(ncu, "DEFAULT_PATHS", ())
    monkeypatch.delenv("CUDA_HOME", raising=False)
    assert ncu.find_ncu() is None
    home_ncu = _executable(tmp_path / "cuda" / "bin" / "ncu")
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "cuda"))
    assert ncu.find_ncu() == str(home_ncu)
    path_ncu = _executable(tmp_path / "bin" / "ncu")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert ncu.find_ncu() == str(path_ncu)  # PATH first
    assert ncu.find_ncu(str(tmp_path / "nowhere" / "ncu")) is None
    assert ncu.find_ncu(str(home_ncu)) == str(home_ncu)


# ---------------------------------------------------------------------------------------------------
# The roofline, on hand-computed numbers


def test_roofline_compute_bound():
    roof = roofline.Roofline("fp16", compute_tflops=100.0, memory_tbs=2.0)
    assert roof.ridge == 50.0
    assert roof.attainable_tflops(10.0) == 20.0 and roof.attainable_tflops(80.0) == 100.0
    # 1 TFLOP over 10 GB at least (intensity 100 >= 50), 20 ms, 20 GB moved.
    place = roofline.Placement(roof, flops=1e12, ideal_bytes=1e10, duration_ms=20.0, dram_bytes=2e10)
    assert place.achieved_tflops == pytest.approx(50.0)
    assert place.dram_gbs == pytest.approx(1000.0)
    assert place.ideal_intensity == pytest.approx(100.0) and place.measured_intensity == pytest.approx(50.0)
    assert place.bound == "compute"
    assert place.compute_floor_ms == pytest.approx(10.0) and place.memory_floor_ms == pytest.approx(5.0)
    assert place.floor_ms == pytest.approx(10.0)
    assert place.fraction_of_ceiling == pytest.approx(0.5)
    assert place.traffic_ratio == pytest.approx(2.0)
    line = roofline.describe(place)
    assert line.startswith("compute-bound (ideal intensity 100 >= ridge 50 FLOP/B): at 50% of the compute ceiling")
    assert "50 of 100 TFLOP/s" in line and "2.00x away" in line and "DRAM traffic 2.00x the minimum" in line


def test_roofline_memory_bound():
    roof = roofline.Roofline("fp16", compute_tflops=100.0, memory_tbs=2.0)
    # 0.1 TFLOP over 10 GB (intensity 10 < 50) in 10 ms: the 5 ms memory floor binds, 2 GB/ms moved = 1 TB/s.
    place = roofline.Placement(roof, flops=1e11, ideal_bytes=1e10, duration_ms=10.0)
    assert place.bound == "memory"
    assert place.compute_floor_ms == pytest.approx(1.0) and place.memory_floor_ms == pytest.approx(5.0)
    assert place.fraction_of_ceiling == pytest.approx(0.5)
    assert place.dram_gbs is None and place.measured_intensity is None and place.traffic_ratio is None
    line = roofline.describe(place)
    assert line.startswith("memory-bound (ideal intensity 10 < ridge 50 FLOP/B): at 50% of the memory ceiling")
    assert "1.00 of 2.00 TB/s" in line and "DRAM traffic" not in line


def test_roofline_agrees_with_the_bench_floors():
    shape = suites.BMM_SUITE["kb3"]
    for mode in ("fp16", "tf32", "fp32"):
        roof = roofline.roofline_for(mode, suites.H100_CEILINGS)
        nbytes = shape.bytes(suites.ELEMENT_BYTES[mode])
        place = roofline.Placement(roof, shape.flops(), nbytes, duration_ms=1.0)
        compute, memory = suites.floors_ms(shape.flops(), nbytes, mode, suites.H100_CEILINGS)
        assert place.compute_floor_ms == pytest.approx(compute) and place.memory_floor_ms == pytest.approx(memory)
    # fp32-accurate work: the best of FP32, TF32 / 3 and fp16 / 3 (3xFP16 on the H100: 679 / 3).
    assert roofline.roofline_for("fp32", suites.H100_CEILINGS).compute_tflops == pytest.approx(679.0 / 3)


# ---------------------------------------------------------------------------------------------------
# Ceilings: measured > bundled > the H100's


def test_ceilings_order(tmp_path):
    h200, source = ceilings.ceilings_for("NVIDIA H200")
    assert h200 == {"fp16": 749.0, "bf16": 782.0, "tf32": 401.0, "fp32": 51.0, "copy_tbs": 4.27}
    assert source == "bundled for NVIDIA H200"
    h100, _ = ceilings.ceilings_for("NVIDIA H100 80GB HBM3")
    assert h100 == suites.H100_CEILINGS  # the bundled file and suites agree
    other, source = ceilings.ceilings_for("NVIDIA B200")
    assert other == suites.H100_CEILINGS and "--measure-ceilings" in source
    measured = {"fp16": 700.0, "bf16": 710.0, "tf32": 350.0, "fp32": 50.0, "copy_tbs": 4.0}
    path = ceilings.save_measured("NVIDIA H200", measured)
    assert path.parent == tmp_path / "cache"
    assert ceilings.ceilings_for("NVIDIA H200") == (measured, f"measured on this machine ({path})")
    ceilings.save_measured("NVIDIA B200", dict(measured, fp16=900.0))  # a second GPU keeps the first
    assert ceilings.ceilings_for("NVIDIA H200")[0] == measured
    assert ceilings.ceilings_for("NVIDIA B200")[0]["fp16"] == 900.0


def test_ceiling_keys_match_measure_ceilings():
    from tilekernels.benchmarking import runner

    assert set(ceilings.KEYS) == set(runner.BMM_MODES) | {"copy_tbs"}


# ---------------------------------------------------------------------------------------------------
# Arguments


def test_resolve_mode():
    assert request.resolve_mode(None, None) == "fp16"
    assert request.resolve_mode("bf16", None) == "bf16"
    assert request.resolve_mode("fp32", None) == "fp32"
    assert request.resolve_mode(None, "tf32") == "tf32"
    assert request.resolve_mode("fp32", "tf32") == "tf32"
    with pytest.raises(ValueError, match="disagree"):
        request.resolve_mode("fp16", "tf32")


def test_parse_shape_suite_names_and_sizes():
    assert request.parse_shape("bmm", "kb3") == suites.BMM_SUITE["kb3"]
    assert request.parse_shape("bmm", "4,256,128,64") == suites.BmmShape(4, 256, 128, 64)
    assert request.parse_shape("bmm", "4,256,128,64,1") == suites.BmmShape(4, 256, 128, 64, b_transposed=True)
    assert request.parse_shape("attention", "kb97") == suites.ATTENTION_SUITE["kb97"]
    assert request.parse_shape("attention", "2,4,128,64,1") == suites.AttentionShape(2, 4, 128, 64, causal=True)
    for op, text in [("bmm", "kb97"), ("attention", "kb3"), ("bmm", "1,2,3"), ("bmm", "1,2,3,x"),
                     ("bmm", "1,2,3,4,2"), ("attention", "1,-2,3,4")]:
        with pytest.raises(ValueError, match="unknown"):
            request.parse_shape(op, text)


def test_request_round_trip_and_names():
    req = request.ProfileRequest("attention", suites.AttentionShape(2, 4, 128, 64, causal=True), "bf16",
                                 configs=["all"], against_torch=True)
    back = request.ProfileRequest.from_json(json.loads(json.dumps(req.to_json())))
    assert back == req and back.all_configs
    assert back.shape_name == "2,4,128,64,1" and back.sizes == "batch=2, heads=4, seq=128, dim=64, causal=1"
    assert request.ProfileRequest("bmm", suites.BMM_SUITE["kb3"], "fp16").shape_name == "kb3"
    assert req.ideal_bytes() == suites.AttentionShape(2, 4, 128, 64, True).bytes(2)


def test_parse_configs():
    assert request.parse_configs("bmm", None) is None
    assert request.parse_configs("bmm", "all") == ["all"]
    names = [c["name"] for c in __import__("tilekernels").tile_configs("bmm")][:2]
    assert request.parse_configs("bmm", ",".join(names)) == names
    with pytest.raises(ValueError, match="unknown bmm configuration nope"):
        request.parse_configs("bmm", f"{names[0]},nope")


@pytest.mark.parametrize("args, message", [
    (["bmm", "kb99"], "unknown bmm shape 'kb99': give a suite name (kb3,"),
    (["attention", "64,64"], "unknown attention shape '64,64'"),
    (["bmm", "kb3", "--dtype", "bf16", "--mode", "fp16"], "--dtype bf16 and --mode fp16 disagree"),
    (["attention", "kb97", "--config", "fp16_d999"], "unknown attention configuration fp16_d999"),
    (["bmm", "kb3", "--mode", "fp8"], "invalid choice: 'fp8'"),
    (["conv", "kb3"], "invalid choice: 'conv'"),
])
def test_bad_arguments_are_argparse_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["profile", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# Messages: exit code 2, one sentence, no traceback


def test_missing_ncu_message(monkeypatch, capsys):
    monkeypatch.setattr(ncu, "find_ncu", lambda explicit=None: None)
    assert cli.main(["profile", "bmm", "kb3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("profile: ncu (Nsight Compute) not found on PATH") and "--ncu" in err


def test_missing_ncu_in_a_subprocess_has_no_traceback():
    result = subprocess.run([sys.executable, "-m", "tilekernels", "profile", "bmm", "4,64,64,64", "--ncu",
                             "/nonexistent/ncu"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip() == ("profile: ncu not found at /nonexistent/ncu (--ncu): give the path of "
                                     "Nsight Compute's `ncu` executable")


@pytest.mark.skipif(HAS_CUDA, reason="the message for a machine without a GPU")
def test_no_gpu_message(tmp_path, capsys):
    fake = _executable(tmp_path / "ncu")
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake)]) == 2
    assert capsys.readouterr().err.startswith("profile: no CUDA GPU is visible")


@pytest.mark.skipif(HAS_CUDA, reason="the profiled program's answer without a GPU")
def test_child_reports_no_gpu(tmp_path):
    req = request.ProfileRequest("bmm", suites.BmmShape(1, 8, 8, 8), "fp16")
    (tmp_path / "req.json").write_text(json.dumps(req.to_json()))
    assert child.main([str(tmp_path / "req.json"), str(tmp_path / "res.json")]) == 1
    assert json.loads((tmp_path / "res.json").read_text())["error"].startswith("no CUDA GPU is visible")


# A stand-in for ncu: records its arguments, writes the profiled program's result file (the last
# argument) and prints `output` as ncu would; `python` runs first (a failure, a delay).
FAKE_NCU = """\
#!{python}
import json, sys, time
args = sys.argv[1:]
if args == ["--version"]:
    print("NVIDIA (R) Nsight Compute Command Line Profiler\\nVersion 2025.3.1.0 (stand-in)")
    sys.exit(0)
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
{python_code}
if {result!r} is not None:
    with open(args[-1], "w") as f:
        json.dump({result!r}, f)
sys.stdout.write(open({output!r}).read() if {output!r} else "")
sys.exit({returncode})
"""

CHILD_RESULT = {"device": "NVIDIA H200", "arch": "90", "sms": 132, "pick": PICK, "plan_source": "tuned",
                "candidates": [PICK, "fp16_64x64x32_w2x2_s3"], "skipped": [],
                "calls": [{"label": "ours", "config": PICK, "pick": True},
                          {"label": "torch", "config": None, "pick": False}]}


def fake_ncu(tmp_path, output=None, result=CHILD_RESULT, returncode=0, python_code="", text=None) -> Path:
    if text is not None:
        output_path = tmp_path / "ncu_output.txt"
        output_path.write_text(text)
        output = str(output_path)
    script = FAKE_NCU.format(python=sys.executable, log=str(tmp_path / "ncu_args.jsonl"), output=output,
                             result=result, returncode=returncode, python_code=textwrap.dedent(python_code))
    return _executable(tmp_path / "fake" / "ncu", script)


def last_error(capsys) -> str:
    """The command's message: the last line on stderr (progress lines come before it)."""
    return capsys.readouterr().err.strip().splitlines()[-1]


def fake_args(tmp_path):
    return [json.loads(line) for line in (tmp_path / "ncu_args.jsonl").read_text().splitlines()]


@pytest.fixture
def with_gpu(monkeypatch):
    """The GPU check passes (the stand-in ncu never runs the program)."""
    monkeypatch.setattr(request, "gpu_problem", lambda: None)


def test_profile_end_to_end_on_recorded_output(tmp_path, with_gpu, capsys):
    fake = fake_ncu(tmp_path, output=str(DATA / "raw_nvtx_stalls.csv"))
    out_json, out_png = tmp_path / "out.json", tmp_path / "roofline.png"
    code = cli.main(["profile", "bmm", "16,512,2048,1024", "--dtype", "fp16", "--against", "torch",
                     "--ncu", str(fake), "--json", str(out_json), "--plot", str(out_png)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    (args,) = fake_args(tmp_path)
    assert args[args.index("--clock-control") + 1] == "none" and args[args.index("--cache-control") + 1] == "all"
    assert args[-5:-2] == [sys.executable, "-m", "tilekernels.profiling.child"]
    assert not Path(args[-2]).exists()  # the request file lived in a temporary folder, gone after the run

    data = json.loads(out_json.read_text())
    assert [c["label"] for c in data["calls"]] == ["ours", "torch"]  # the attention kernel is not this call's
    ours, theirs = data["calls"]
    assert ours["pick"] and ours["config"] == PICK and not theirs["pick"]
    assert ours["duration_ms"] == pytest.approx(0.091968) and theirs["duration_ms"] == pytest.approx(0.05232)
    flops = suites.BmmShape(16, 512, 2048, 1024).flops()
    assert ours["roofline"]["achieved_tflops"] == pytest.approx(flops / 91.968e-6 / 1e12)
    assert ours["roofline"]["bound"] == "compute"
    assert ours["roofline"]["fraction_of_ceiling"] == pytest.approx(flops / 749e12 / 91.968e-6)
    assert ours["dram_bytes"] == 84426240 + 21630720
    kernel = ours["kernels"][0]
    assert kernel["metrics"]["achieved_occupancy"] == 12.48 and kernel["metrics"]["grid_size"] == 512
    assert kernel["metrics"]["tensor_pipe"] is None  # not in the recorded output
    assert kernel["top_stalls"][0] == ["wait", 2.04]
    assert kernel["derived"]["dram_gbs"] == pytest.approx((84426240 + 21630720) / 91.968e-6 / 1e9)
    assert data["roofline"]["ceilings_source"] == "bundled for NVIDIA H200"
    assert data["meta"]["pick"] == PICK and data["meta"]["ncu"] == "2025.3.1.0"

    for text in ("achieved occupancy", "SM throughput", "DRAM throughput", "L2 hit rate", "grid size",
                 "512 blocks x 256 threads", "top stalls", "wait 2.04", "planner's pick", "compute-bound",
                 "at 50% of the compute ceiling", "nvjet_sm90_hsh_256x128_64x4_1x2_h_bz_coopA_NNT"):
        assert text in stdout, text
    try:
        import matplotlib  # noqa: F401  (the plot needs it)
    except ImportError:
        assert "no plot written: matplotlib is not installed" in stderr
    else:
        assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_plot_again_from_the_json(tmp_path, with_gpu, capsys):
    pytest.importorskip("matplotlib")
    fake = fake_ncu(tmp_path, output=str(DATA / "raw_nvtx_stalls.csv"))
    out_json = tmp_path / "out.json"
    assert cli.main(["profile", "bmm", "kb3", "--against", "torch", "--ncu", str(fake), "--json", str(out_json)]) == 0
    script = Path(__file__).parent.parent / "benchmarks" / "plot_roofline.py"
    result = subprocess.run([sys.executable, str(script), str(out_json), str(tmp_path / "again.png")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again.png").read_bytes()[:4] == b"\x89PNG"


def test_profile_permission_message(tmp_path, with_gpu, capsys):
    fake = fake_ncu(tmp_path, result=None, returncode=1, text=(
        "==PROF== Connected to process 4242 (/usr/bin/python3.12)\n"
        "==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance Counters "
        "on the target device 0. For instructions on enabling permissions and to get more information see "
        "https://developer.nvidia.com/ERR_NVGPUCTRPERM\n==PROF== Disconnected from process 4242\n"))
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake)]) == 2
    assert last_error(capsys) == f"profile: {ncu.PERMISSION_MESSAGE}"


def test_profile_program_error_message(tmp_path, with_gpu, capsys):
    fake = fake_ncu(tmp_path, result={"error": "NVIDIA X is sm_120, which this build was not compiled for"},
                    returncode=1, text="==WARNING== No kernels were profiled.\n")
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake)]) == 2
    assert last_error(capsys) == "profile: NVIDIA X is sm_120, which this build was not compiled for"


def test_profile_no_kernels_message(tmp_path, with_gpu, capsys):
    fake = fake_ncu(tmp_path, output=str(DATA / "bad_metric.csv"))
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake)]) == 2
    assert "profile: ncu profiled no kernels" in capsys.readouterr().err


def test_profile_program_crash_message(tmp_path, with_gpu, capsys):
    fake = fake_ncu(tmp_path, result=None, returncode=1,
                    python_code="sys.stderr.write('Traceback (most recent call last):\\nRuntimeError: boom\\n')")
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake)]) == 2
    assert last_error(capsys) == "profile: the profiled program stopped before it finished: RuntimeError: boom"


def test_profile_timeout_message(tmp_path, with_gpu, capsys):
    fake = fake_ncu(tmp_path, python_code="time.sleep(60)")
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake), "--timeout", "1"]) == 2
    assert "ncu ran longer than 1 s and was stopped" in capsys.readouterr().err


def test_profile_reruns_without_an_unknown_optional_metric(tmp_path, with_gpu, capsys):
    tensor = ncu.OPTIONAL_METRICS["tensor_pipe"]
    fake = fake_ncu(tmp_path, output=str(DATA / "raw_nvtx_stalls.csv"), python_code=f"""
        if {tensor!r} in args[args.index("--metrics") + 1]:
            print("==ERROR== Failed to find metric regex:^{tensor}$")
            sys.exit(1)
        """)
    out_json = tmp_path / "out.json"
    assert cli.main(["profile", "bmm", "kb3", "--ncu", str(fake), "--json", str(out_json)]) == 0
    first, second = fake_args(tmp_path)
    assert tensor in first[first.index("--metrics") + 1] and tensor not in second[second.index("--metrics") + 1]
    notes = json.loads(out_json.read_text())["notes"]
    assert any("ran without tensor_pipe" in note for note in notes)


# ---------------------------------------------------------------------------------------------------
# Output without the optional packages


def _recorded_result() -> session.ProfileResult:
    req = request.ProfileRequest("bmm", suites.BmmShape(16, 512, 2048, 1024), "fp16", against_torch=True)
    records = ncu.parse_raw_csv(sample("raw_nvtx_stalls.csv"))
    return session.assemble(req, records, CHILD_RESULT)


def test_assemble_groups_by_call():
    result = _recorded_result()
    assert [(c.label, c.kind, c.pick, len(c.kernels)) for c in result.calls] == \
        [("ours", "ours", True, 1), ("torch", "torch", False, 1)]
    assert result.calls[0].placement.duration_ms == pytest.approx(0.091968)
    assert result.ceilings_source == "bundled for NVIDIA H200" and result.roofline.compute_tflops == 749.0


def test_assemble_notes_a_call_without_kernels():
    records = [r for r in ncu.parse_raw_csv(sample("raw_nvtx_stalls.csv")) if r.range != "tk:bmm:torch"]
    req = request.ProfileRequest("bmm", suites.BmmShape(16, 512, 2048, 1024), "fp16", against_torch=True)
    result = session.assemble(req, records, CHILD_RESULT)
    assert [c.label for c in result.calls] == ["ours"]
    assert result.notes == ["torch: ncu recorded no kernel for this call"]


def test_assemble_sums_the_kernels_of_one_call():
    """A call that launches two kernels (the recorded torch kernel relabelled as ours): one call, its
    duration and DRAM bytes the sums, no per-kernel TFLOP/s."""
    text = sample("raw_nvtx_stalls.csv").replace("tk:bmm:torch/", "tk:bmm:ours/")
    req = request.ProfileRequest("bmm", suites.BmmShape(16, 512, 2048, 1024), "fp16")
    result = session.assemble(req, ncu.parse_raw_csv(text), dict(CHILD_RESULT, calls=CHILD_RESULT["calls"][:1]))
    (call,) = result.calls
    assert len(call.kernels) == 2
    assert call.duration_ms == pytest.approx(0.091968 + 0.05232)
    assert call.dram_bytes == 84426240 + 21630720 + call.kernels[1].bytes(METRICS["dram_read"]) + \
        call.kernels[1].bytes(METRICS["dram_write"])
    text_report = report.format_text(result)
    assert "ours: fp16_128x256x32_w2x4_s4 (planner's pick) kernel 2/2: nvjet_sm90" in text_report
    assert "TFLOP/s of the call: see the roofline" in text_report


def test_profile_every_config_on_recorded_output(tmp_path, with_gpu, capsys):
    """--config all: one NVTX range per configuration (the recorded rows relabelled), the pick marked,
    a configuration that cannot serve the call skipped with a note."""
    other = "fp16_64x64x32_w2x2_s3"
    text = sample("raw_nvtx_stalls.csv").replace("tk:bmm:ours/", f"tk:bmm:{PICK}/").replace(
        "tk:bmm:torch/", f"tk:bmm:{other}/")
    result = dict(CHILD_RESULT, calls=[{"label": other, "config": other, "pick": False},
                                       {"label": PICK, "config": PICK, "pick": True}],
                  skipped=[{"label": "bf16_64x64x32_w2x2_s3", "reason": "cannot serve this call"}])
    fake = fake_ncu(tmp_path, result=result, text=text)
    out_json = tmp_path / "out.json"
    assert cli.main(["profile", "bmm", "16,512,2048,1024", "--config", "all", "--ncu", str(fake),
                     "--json", str(out_json)]) == 0
    stdout = capsys.readouterr().out
    assert f"\n* {PICK} " in stdout and f"\n  {other} " in stdout
    assert "skipped bf16_64x64x32_w2x2_s3: cannot serve this call" in stdout
    data = json.loads(out_json.read_text())
    assert [(c["label"], c["pick"]) for c in data["calls"]] == [(other, False), (PICK, True)]
    assert data["calls"][0]["duration_ms"] == pytest.approx(0.05232)


def test_plain_text_without_rich(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # a terminal, where rich would draw tables
    monkeypatch.setitem(sys.modules, "rich", None)
    report.show(_recorded_result())
    out = capsys.readouterr().out
    assert "ours: fp16_128x256x32_w2x4_s4 (planner's pick): void tilekernels::bmm::detail::bmm_kernel" in out
    assert "\n  achieved occupancy  12.5 % (theoretical 12.5 %)\n" in out
    assert "\n* fp16_128x256x32_w2x4_s4 " in out  # the comparison table marks the pick


def test_rich_tables_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("rich")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    report.show(_recorded_result())
    out = capsys.readouterr().out
    assert "achieved occupancy" in out and "12.5 % (theoretical 12.5 %)" in out
    assert "\n  achieved occupancy  12.5 %" not in out  # a table, not the plain text


def test_plot_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    reason = report.plot(_recorded_result(), str(tmp_path / "r.png"))
    assert "matplotlib is not installed" in reason and not (tmp_path / "r.png").exists()


def test_progress_without_rich(monkeypatch, capsys):
    for module in ("rich", "rich.console", "rich.progress"):
        monkeypatch.setitem(sys.modules, module, None)
    assert list(progress.track([3, 4], "working")) == [3, 4]
    with progress.status("waiting"):
        pass
    err = capsys.readouterr().err
    assert "working 1/2" in err and "working 2/2" in err and "waiting ..." in err


# ---------------------------------------------------------------------------------------------------
# On a GPU with ncu


def _run_profile_on_device(tmp_path, *args):
    if ncu.find_ncu() is None:
        pytest.skip("ncu (Nsight Compute) is not installed: nothing to profile with")
    out_json = tmp_path / "profile.json"
    result = subprocess.run([sys.executable, "-m", "tilekernels", "profile", *args, "--json", str(out_json)],
                            capture_output=True, text=True, timeout=900)
    if result.returncode == 2 and "ERR_NVGPUCTRPERM" in result.stderr:
        pytest.skip("ncu may not read the performance counters here (ERR_NVGPUCTRPERM)")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return json.loads(out_json.read_text()), result.stdout


@pytest.mark.cuda
def test_profile_bmm_against_torch_on_gpu(tmp_path):
    data, stdout = _run_profile_on_device(tmp_path, "bmm", "4,256,256,256", "--dtype", "fp16", "--against", "torch")
    calls = {call["label"]: call for call in data["calls"]}
    assert set(calls) == {"ours", "torch"}
    assert calls["ours"]["pick"] and calls["ours"]["config"] == data["meta"]["pick"]
    for call in calls.values():
        assert call["duration_ms"] > 0 and call["kernels"] and call["roofline"]["achieved_tflops"] > 0
        for kernel in call["kernels"]:
            assert kernel["metrics"]["achieved_occupancy"] > 0 and kernel["metrics"]["grid_size"] >= 1
            assert kernel["top_stalls"]
    assert "tilekernels" in calls["ours"]["kernels"][0]["kernel"]
    assert "roofline:" in stdout


@pytest.mark.cuda
def test_profile_every_attention_config_on_gpu(tmp_path):
    data, stdout = _run_profile_on_device(tmp_path, "attention", "1,2,256,64", "--config", "all")
    skipped = [s["label"] for s in data["skipped"]]
    assert sorted([call["label"] for call in data["calls"]] + skipped) == sorted(data["meta"]["candidates"])
    assert sum(call["pick"] for call in data["calls"]) == (0 if data["meta"]["pick"] in skipped else 1)
    assert all(call["duration_ms"] > 0 for call in data["calls"])


def test_attention_suite_grouped_query_shape():
    """gqa_c has 8 kv heads for 32 query heads: its operands, traffic and reference follow them."""
    from tilekernels.benchmarking import runner

    gqa = suites.ATTENTION_SUITE["gqa_c"]
    assert (gqa.heads, gqa.kv_heads, gqa.causal) == (32, 8, True)
    assert gqa.bytes(2) == 2 * 2.0 * 4 * (32 + 8) * 4096 * 128
    assert suites.AttentionShape(2, 4, 128, 64).kv_heads == 4
    small = suites.AttentionShape(1, 4, 8, 16, causal=True, heads_kv=2)
    q, k, v = runner.attention_operands(small, torch.float32, "cpu")
    assert q.shape == (1, 4, 8, 16) and k.shape == v.shape == (1, 2, 8, 16)
    reference = runner.attention_reference(q, k, v, True, heads=4)
    torch.testing.assert_close(reference, runner.sdpa(q.double(), k.double(), v.double(), True))
    assert suites.shape_name(small, suites.ATTENTION_SUITE) == "1,4,8,16,1"
