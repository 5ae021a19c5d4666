"""python -m tilekernels {info, bench, tune, explain}."""

import argparse
import json
import sys
from typing import List, Optional

import torch

import tilekernels
from tilekernels.benchmarking import report, runner, suites
from tilekernels.tuning import autotune, tables


def _progress(items, description: str):
    """A progress bar when rich is installed, plain lines otherwise."""
    try:
        from rich.progress import track

        yield from track(items, description=description)
    except ImportError:
        items = list(items)
        for index, item in enumerate(items, 1):
            print(f"{description} {index}/{len(items)}", file=sys.stderr)
            yield item


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
    ceilings = runner.measure_ceilings(device) if args.measure_ceilings and device.type == "cuda" else suites.H100_CEILINGS
    reps = args.reps or (50 if device.type == "cuda" else 5)
    rows = []
    if args.suite in ("bmm", "all"):
        modes = args.modes or list(runner.BMM_MODES)
        rows += runner.bench_bmm(bmm_shapes, [m for m in modes if m in runner.BMM_MODES], device, reps,
                                 args.baselines, ceilings)
    if args.suite in ("attention", "all"):
        modes = args.modes or list(runner.ATTENTION_MODES)
        rows += runner.bench_attention(attention_shapes, [m for m in modes if m in runner.ATTENTION_MODES], device,
                                       reps, args.baselines, ceilings, backends=not args.no_backends)
    print(report.format_table(rows))
    meta = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
            "tilekernels": tilekernels.build_info(), "ceilings": ceilings}
    if args.json:
        report.write_json(rows, args.json, meta)
    if args.plot:
        for suite in ("bmm", "attention"):
            suite_rows = [r for r in rows if r["suite"] == suite]
            if suite_rows and not report.plot_speedups(suite_rows, args.plot.replace(".png", f"_{suite}.png")):
                print("no plot written: matplotlib is not installed", file=sys.stderr)
    return 0


def _parse_bmm_shape(text: str):
    if text in suites.BMM_SUITE:
        return suites.BMM_SUITE[text]
    values = [int(v) for v in text.split(",")]
    return suites.BmmShape(*values[:4], b_transposed=len(values) > 4 and bool(values[4]))


def _parse_attention_shape(text: str):
    if text in suites.ATTENTION_SUITE:
        return suites.ATTENTION_SUITE[text]
    values = [int(v) for v in text.split(",")]
    return suites.AttentionShape(*values[:4], causal=len(values) > 4 and bool(values[4]))


def cmd_tune(args) -> int:
    if not torch.cuda.is_available():
        print("tune needs a CUDA GPU", file=sys.stderr)
        return 2
    jobs = []
    if args.family in ("bmm", "all"):
        shapes = [_parse_bmm_shape(s) for s in args.bmm_shapes] if args.bmm_shapes else list(suites.BMM_SUITE.values())
        jobs += [("bmm", shape, mode) for shape in shapes for mode in (args.modes or list(runner.BMM_MODES))
                 if mode in runner.BMM_MODES]
    if args.family in ("attention", "all"):
        shapes = ([_parse_attention_shape(s) for s in args.attention_shapes] if args.attention_shapes
                  else list(suites.ATTENTION_SUITE.values()))
        jobs += [("attention", shape, mode) for shape in shapes for mode in (args.modes or ["fp16", "bf16", "fp32"])
                 if mode in runner.ATTENTION_MODES]
    results = []
    for family, shape, mode in _progress(jobs, "tuning"):
        if family == "bmm":
            dtype, precision = runner.BMM_MODES[mode]
            a, b = runner.bmm_operands(shape, dtype, "cuda")
            results.append(autotune.tune_bmm(a, b, precision, reps=args.reps))
        else:
            dtype, precision = runner.ATTENTION_MODES[mode]
            q, k, v = (torch.rand(shape.batch, shape.heads, shape.seq, shape.dim, device="cuda").to(dtype)
                       for _ in range(3))
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
    if args.op == "bmm":
        shape = _parse_bmm_shape(args.shape)
        dtype, precision = runner.BMM_MODES[args.mode]
        a = torch.empty(shape.batch, shape.m, shape.k, dtype=dtype, device=device)
        b = torch.empty(shape.batch, shape.k, shape.n, dtype=dtype, device=device)
        if shape.b_transposed:
            b = torch.empty(shape.batch, shape.n, shape.k, dtype=dtype, device=device).transpose(1, 2)
        plan = tilekernels.explain("bmm", a, b, precision=precision)
    else:
        shape = _parse_attention_shape(args.shape)
        dtype, precision = runner.ATTENTION_MODES[args.mode]
        q = torch.empty(shape.batch, shape.heads, shape.seq, shape.dim, dtype=dtype, device=device)
        with runner.matmul_precision(precision):
            plan = tilekernels.explain("attention", q, q, q, shape.causal)
    print(json.dumps(plan, indent=1))
    return 0


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
    bench.add_argument("--measure-ceilings", action="store_true", help="re-measure matmul/copy ceilings first")
    bench.add_argument("--no-backends", action="store_true", help="skip the individual SDPA backends")

    tune = sub.add_parser("tune", help="autotune a list of shapes and record the winners")
    tune.add_argument("--family", choices=["bmm", "attention", "all"], default="all")
    tune.add_argument("--bmm-shapes", nargs="*", help="suite names or batch,m,n,k[,b_transposed]")
    tune.add_argument("--attention-shapes", nargs="*", help="suite names or batch,heads,seq,dim[,causal]")
    tune.add_argument("--modes", nargs="*")
    tune.add_argument("--reps", type=int, default=20)
    tune.add_argument("--output", help="also write the results as a table file (e.g. bundled package data)")

    explain = sub.add_parser("explain", help="which configuration a call would use, and why")
    explain.add_argument("op", choices=["bmm", "attention"])
    explain.add_argument("shape", help="suite name, or batch,m,n,k / batch,heads,seq,dim[,causal]")
    explain.add_argument("--mode", default="fp16", choices=["fp16", "bf16", "tf32", "fp32"])
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return {"info": cmd_info, "bench": cmd_bench, "tune": cmd_tune, "explain": cmd_explain}[args.command](args)
