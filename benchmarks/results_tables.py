"""Markdown tables for RESULTS.md from the JSON that bench_bmm.py / bench_attention.py write.

    python benchmarks/results_tables.py bench_bmm.json bench_attention.json
"""

import argparse
import json
import math
from collections import defaultdict

BMM_COLUMNS = ["torch.bmm", "tilekernels", "seed_triton"]
ATTENTION_COLUMNS = ["sdpa_default", "sdpa_flash", "sdpa_efficient", "sdpa_cudnn", "seed_triton", "tilekernels"]
ATTENTION_HEADERS = ["SDPA default ms", "SDPA flash (FA2) ms", "SDPA efficient ms", "SDPA cuDNN ms", "seed Triton ms",
                     "tilekernels ms"]


def ms(row):
    return f"{row['ms']:.3f}" if row and row["ms"] else "n/a"


def ratio(numerator, denominator):
    if not (numerator and denominator and numerator["ms"] and denominator["ms"]):
        return "n/a"
    return f"{numerator['ms'] / denominator['ms']:.2f}"


def relerr(row):
    return f"{row['relerr']:.1e}" if row and row["relerr"] is not None else "n/a"


def grouped(rows):
    """{(shape, mode): {impl: row}} in the order of the run."""
    groups = defaultdict(dict)
    for row in rows:
        groups[(row["shape"], row["mode"])][row["impl"]] = row
    return groups


def floors(row):
    floor = max(row["compute_floor_ms"], row["memory_floor_ms"])
    over = f"{row['ms'] / floor:.2f}" if row["ms"] else "n/a"
    return [f"{row['compute_floor_ms']:.3f}", f"{row['memory_floor_ms']:.3f}", over]


def table(header, lines):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines])


def bmm_table(rows):
    lines, speedups = [], defaultdict(list)
    for (shape, mode), impls in grouped(rows).items():
        torch_row, ours = impls.get("torch.bmm"), impls.get("tilekernels")
        if ours is None:
            continue
        lines.append([shape, mode, ms(torch_row), ms(ours), ratio(torch_row, ours), ms(impls.get("seed_triton")),
                      relerr(ours), relerr(torch_row)] + floors(ours))
        if ours["speedup_vs_torch"]:
            speedups[mode].append(ours["speedup_vs_torch"])
    header = ["shape", "mode", "torch ms", "tilekernels ms", "x torch", "seed Triton ms", "tilekernels relerr",
              "torch relerr", "compute floor ms", "memory floor ms", "ours / floor"]
    geomeans = [f"- {mode}: geomean {math.exp(sum(map(math.log, values)) / len(values)):.2f}x torch.bmm"
                for mode, values in speedups.items()]
    return table(header, lines) + "\n\n" + "\n".join(geomeans)


def attention_table(rows):
    lines = []
    for (shape, mode), impls in grouped(rows).items():
        ours, default, flash = impls.get("tilekernels"), impls.get("sdpa_default"), impls.get("sdpa_flash")
        if ours is None:
            continue
        lines.append([shape, mode] + [ms(impls.get(impl)) for impl in ATTENTION_COLUMNS]
                     + [ratio(default, ours), ratio(flash, ours), relerr(ours)] + floors(ours))
    header = ["shape", "mode"] + ATTENTION_HEADERS + ["x default", "x FA2", "relerr", "compute floor ms",
                                                      "memory floor ms", "ours / floor"]
    return table(header, lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    for path in args.files:
        data = json.load(open(path))
        rows, meta = data["rows"], data["meta"]
        print(f"<!-- {path}: {meta.get('device')}, torch {meta.get('torch')}, ceilings {meta.get('ceilings')} -->")
        suites = {row["suite"] for row in rows}
        if "bmm" in suites:
            print(bmm_table([row for row in rows if row["suite"] == "bmm"]))
        if "attention" in suites:
            print(attention_table([row for row in rows if row["suite"] == "attention"]))
        print()


if __name__ == "__main__":
    main()
