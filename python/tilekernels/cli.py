"""python -m tilekernels {info, bench, tune, explain, profile}."""

import argparse
import json
import sys
from typing import List, Optional

import torch

import tilekernels
from tilekernels import progress
from tilekernels.benchmarking import ceilings as ceiling_files
from tilekernels.benchmarking import report, runner, suites
from tilekernels.tuning import autotune, tables


def cmd_info(args) -> int:
    info = tilekernels.build_info()
    print(f"tilekernels {info.get('version')}  (torch {torch.__version__}; built against "
          f"{info.get('torch_built_against')}, stable ABI >= {info.get('torch_target')})")
    print(f"CUDA kernels: {'yes' if info.get('cuda') else 'no'}"
          + (f"  archs: {', '.join('sm_' + a for a in info['cuda_archs'])}  nvcc {info.get('nvcc')}"
             if info.get("cuda") else ""))
    if info.get("instance_filter"):
        print(f"instance filter: {info['instance_filter']} ({len(info['instances'])} instance files)")
    for family in tables.FAMILIES:
        configs = tilekernels.tile_configs(family)
        compiled = [c for c in configs if c.get("compiled") or c.get("compiled_layouts")]
        print(f"family {family}: {len(configs)} configurations in the table, {len(compiled)} compiled")
    if torch.cuda.is_available():
        from tilekernels._library import cuda_arch_string

        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            arch = cuda_arch_string((props.major, props.minor))
            supported = "compiled for" if arch in info.get("cuda_archs", []) else "NOT compiled for"
            print(f"GPU {index}: {props.name}, sm_{arch}, {props.multi_processor_count} SMs ({supported} this build)")
        for device, summary in tables.load_tables().items():
            borrowed = (f" (borrowed from {summary['bundled_from']}, the same architecture)"
                        if summary["bundled_from"] else "")
            print(f"tuned tables for {device}: bundled {summary['bundled']}{borrowed}, user {summary['user']}"
                  + (f", ignored: {summary['ignored']}" if summary["ignored"] else ""))
    else:
        print("GPU: none visible (CPU implementations only)")
    print(f"autotune mode: {autotune.autotune_mode()}  cache: {tables.cache_dir()}")
    return 0


def cmd_bench(args) -> int:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bmm_shapes, attention_shapes = runner.default_suites(device)
    if device.type == "cpu":
        print("No GPU visible: benchmarking the CPU implementations on small shapes.")
    if args.shapes:
        wanted = set(args.shapes)
        bmm_shapes = {k: v for k, v in bmm_shapes.items() if k in wanted}
        attention_shapes = {k: v for k, v in attention_shapes.items() if k in wanted}
    ceilings, ceilings_source = _bench_ceilings(device, args.measure_ceilings)
    reps = args.reps or (50 if device.type == "cuda" else 5)
    rows = []
    if args.suite in ("bmm", "all"):
        modes = args.modes or list(runner.BMM_MODES)
        rows += runner.bench_bmm(bmm_shapes, [m for m in modes if m in runner.BMM_MODES], device, reps,
                                 args.baselines, ceilings, track=progress.track)
    if args.suite in ("attention", "all"):
        modes = args.modes or list(runner.ATTENTION_MODES)
        rows += runner.bench_attention(attention_shapes, [m for m in modes if m in runner.ATTENTION_MODES], device,
                                       reps, args.baselines, ceilings, backends=not args.no_backends,
                                       track=progress.track)
    print(report.format_table(rows))
    meta = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
            "tilekernels": tilekernels.build_info(), "ceilings": ceilings, "ceilings_source": ceilings_source}
    if args.json:
        report.write_json(rows, args.json, meta)
    if args.plot:
        for suite in ("bmm", "attention"):
            suite_rows = [r for r in rows if r["suite"] == suite]
            if suite_rows and not report.plot_speedups(suite_rows, args.plot.replace(".png", f"_{suite}.png")):
                print("no plot written: matplotlib is not installed", file=sys.stderr)
    return 0


def _bench_ceilings(device: torch.device, measure: bool):
    """(ceilings, where they came from) for the floors: measured now (and stored for `profile`), else
    this GPU's measured or bundled ones, else the H100's."""
    if device.type != "cuda":
        return suites.H100_CEILINGS, "H100 values (no GPU)"
    name = torch.cuda.get_device_name(device)
    if measure:
        with progress.status("measuring the matmul and copy ceilings"):
            measured = runner.measure_ceilings(device)
        path = ceiling_files.save_measured(name, measured)
        source = f"measured in this run (saved to {path})"
    else:
        measured, source = ceiling_files.ceilings_for(name)
    print(f"ceilings: {', '.join(f'{k} {v:g}' for k, v in measured.items())} ({source})")
    return measured, source


def _shape_argument(parse):
    """An argparse type from a shape parser: its ValueError becomes argparse's clear error."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return convert


_parse_bmm_shape = _shape_argument(suites.parse_bmm_shape)
_parse_attention_shape = _shape_argument(suites.parse_attention_shape)


def cmd_tune(args) -> int:
    if not torch.cuda.is_available():
        print("tune needs a CUDA GPU", file=sys.stderr)
        return 2
    jobs = []
    if args.family in ("bmm", "all"):
        shapes = args.bmm_shapes or list(suites.BMM_SUITE.values())
        jobs += [("bmm", shape, mode) for shape in shapes for mode in (args.modes or list(runner.BMM_MODES))
                 if mode in runner.BMM_MODES]
    if args.family in ("attention", "all"):
        shapes = args.attention_shapes or list(suites.ATTENTION_SUITE.values())
        jobs += [("attention", shape, mode) for shape in shapes for mode in (args.modes or ["fp16", "bf16", "fp32"])
                 if mode in runner.ATTENTION_MODES]
    results = []
    for family, shape, mode in progress.track(jobs, "tuning"):
        if family == "bmm":
            dtype, precision = runner.BMM_MODES[mode]
            a, b = runner.bmm_operands(shape, dtype, "cuda")
            results.append(autotune.tune_bmm(a, b, precision, reps=args.reps))
        else:
            dtype, precision = runner.ATTENTION_MODES[mode]
            q, k, v = runner.attention_operands(shape, dtype, "cuda")
            with runner.matmul_precision(precision):
                results.append(autotune.tune_attention(q, k, v, shape.causal, reps=args.reps))
        torch.cuda.empty_cache()
    for result in results:
        print(f"{result['key']}: {result['best']} {result['best_ms']:.3f} ms (heuristic: {result['heuristic']})")
    if args.output:
        meta = tables.current_meta(torch.cuda.current_device())
        entries = {}
        for result in results:
            entries.setdefault(result["key"].split("|")[0], {})[result["key"]] = result["best"]
        with open(args.output, "w") as f:
            json.dump(dict(meta, entries=entries), f, indent=1, sort_keys=True)
        print(f"wrote {args.output}")
    return 0


def cmd_explain(args) -> int:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        shape = (suites.parse_bmm_shape if args.op == "bmm" else suites.parse_attention_shape)(args.shape)
    except ValueError as error:
        args.subparser.error(str(error))
    if args.op == "bmm":
        dtype, precision = runner.BMM_MODES[args.mode]
        a = torch.empty(shape.batch, shape.m, shape.k, dtype=dtype, device=device)
        b = torch.empty(shape.batch, shape.k, shape.n, dtype=dtype, device=device)
        if shape.b_transposed:
            b = torch.empty(shape.batch, shape.n, shape.k, dtype=dtype, device=device).transpose(1, 2)
        plan = tilekernels.explain("bmm", a, b, precision=precision)
    else:
        dtype, precision = runner.ATTENTION_MODES[args.mode]
        q = torch.empty(shape.batch, shape.heads, shape.seq, shape.dim, dtype=dtype, device=device)
        kv = torch.empty(shape.batch, shape.kv_heads, shape.seq, shape.dim, dtype=dtype, device=device)
        with runner.matmul_precision(precision):
            plan = tilekernels.explain("attention", q, kv, kv, shape.causal)
    print(json.dumps(plan, indent=1))
    return 0


def cmd_profile(args) -> int:
    from tilekernels.profiling import ncu, report as profile_report, request, session

    try:
        profile_request = request.ProfileRequest(
            op=args.op, shape=request.parse_shape(args.op, args.shape),
            mode=request.resolve_mode(args.dtype, args.mode), configs=request.parse_configs(args.op, args.config),
            against_torch=args.against == "torch")
    except ValueError as error:
        args.subparser.error(str(error))
    ncu_path = ncu.find_ncu(args.ncu)
    problem = ncu.missing_ncu_message(args.ncu) if ncu_path is None else request.gpu_problem()
    if problem:
        print(f"profile: {problem}", file=sys.stderr)
        return 2
    what = f"ncu: profiling {args.op} {profile_request.shape_name} {profile_request.mode}"
    if profile_request.all_configs:
        what += " (every configuration)"
    try:
        with progress.status(what):
            result = session.profile(profile_request, ncu_path, timeout=args.timeout)
    except ncu.NcuError as error:
        print(f"profile: {error}", file=sys.stderr)
        return 2
    profile_report.show(result)
    if args.json:
        profile_report.write_json(result, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        reason = profile_report.plot(result, args.plot)
        if reason:
            print(f"no plot written: {reason}", file=sys.stderr)
        else:
            print(f"wrote {args.plot}")
    return 0


def add_profile_parser(sub) -> None:
    profile = sub.add_parser(
        "profile", help="run one call's kernels under Nsight Compute (ncu): metrics, stalls, roofline",
        description="Profiles one bmm / attention call under ncu: per kernel the seeds' five metrics (achieved "
                    "occupancy, SM throughput, DRAM throughput, L2 hit rate, grid size), duration, TFLOP/s, GB/s, "
                    "registers, shared memory and the top warp stalls; each call placed on the GPU's roofline.")
    profile.add_argument("op", choices=["bmm", "attention"])
    profile.add_argument("shape", help="suite name (kb3, kb97, ...) or batch,m,n,k[,b_transposed] / "
                                       "batch,heads,seq,dim[,causal]")
    profile.add_argument("--dtype", choices=["fp16", "bf16", "fp32"],
                         help="tensor dtype (fp32: fp32-accurate, like --mode fp32); default fp16")
    profile.add_argument("--mode", choices=["fp16", "bf16", "tf32", "fp32"],
                         help="dtype + precision as in bench / tune / explain (tf32: fp32 tensors at TF32)")
    profile.add_argument("--config", metavar="NAME|all",
                         help="profile these tile configurations (comma separated) or every candidate for the call "
                              "(default: the one the planner picks)")
    profile.add_argument("--against", choices=["torch"], help="also profile torch's kernels for the same call")
    profile.add_argument("--json", help="write every metric (raw and derived) and the roofline here")
    profile.add_argument("--plot", help="draw the roofline with every call here (PNG; needs matplotlib)")
    profile.add_argument("--ncu", help="the ncu executable (default: from PATH, $CUDA_HOME/bin, /usr/local/cuda/bin)")
    profile.add_argument("--timeout", type=float, default=1800, help="seconds before ncu is stopped (default 1800)")
    profile.set_defaults(subparser=profile)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tilekernels", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="build, architectures, GPUs, compiled kernel families, tuned tables")

    bench = sub.add_parser("bench", help="run the benchmark suites (CPU path on small shapes without a GPU)")
    bench.add_argument("--suite", choices=["bmm", "attention", "all"], default="all")
    bench.add_argument("--shapes", nargs="*", help="suite shape names to run (default: all)")
    bench.add_argument("--modes", nargs="*", help="fp16 bf16 tf32 fp32 (default: all)")
    bench.add_argument("--reps", type=int, default=None)
    bench.add_argument("--json", help="write the rows as JSON here")
    bench.add_argument("--plot", help="write speedup plots here (PNG; one per suite)")
    bench.add_argument("--baselines", help="directory with the seed Triton kernels to include")
    bench.add_argument("--measure-ceilings", action="store_true",
                       help="re-measure the matmul / copy ceilings first (and keep them for `profile`)")
    bench.add_argument("--no-backends", action="store_true", help="skip the individual SDPA backends")

    tune = sub.add_parser("tune", help="autotune a list of shapes and record the winners")
    tune.add_argument("--family", choices=["bmm", "attention", "all"], default="all")
    tune.add_argument("--bmm-shapes", nargs="*", type=_parse_bmm_shape,
                      help="suite names or batch,m,n,k[,b_transposed]")
    tune.add_argument("--attention-shapes", nargs="*", type=_parse_attention_shape,
                      help="suite names or batch,heads,seq,dim[,causal]")
    tune.add_argument("--modes", nargs="*")
    tune.add_argument("--reps", type=int, default=20)
    tune.add_argument("--output", help="also write the results as a table file (e.g. bundled package data)")

    explain = sub.add_parser("explain", help="which configuration a call would use, and why")
    explain.add_argument("op", choices=["bmm", "attention"])
    explain.add_argument("shape", help="suite name, or batch,m,n,k / batch,heads,seq,dim[,causal]")
    explain.add_argument("--mode", default="fp16", choices=["fp16", "bf16", "tf32", "fp32"])
    explain.set_defaults(subparser=explain)

    add_profile_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"info": cmd_info, "bench": cmd_bench, "tune": cmd_tune, "explain": cmd_explain, "profile": cmd_profile}
    return commands[args.command](args)
