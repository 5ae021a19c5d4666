"""One call each of the kernels worth profiling, for ncu:

    ncu --section SpeedOfLight python scripts/profile_cases.py [case ...] [--config NAME] [--baselines DIR]

Cases: bmm_kb3_fp16, bmm_qkT_tf32, bmm_qkT_fp16, attn_kb97_fp16, attn_d128_fp16, attn_d256_fp16
(default: bmm_kb3_fp16 attn_kb97_fp16 attn_d128_fp16). `--config NAME` forces that tile configuration
(all cases must accept it); with --baselines DIR the bmm cases also run torch.bmm and the seed Triton kernel.
"""

import argparse
import importlib.util
import os

import torch

import tilekernels
from tilekernels.benchmarking.runner import BMM_MODES, bmm_operands, matmul_precision
from tilekernels.benchmarking.suites import ATTENTION_SUITE, BMM_SUITE

ATTENTION_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def config_id(family, name):
    ids = {c["name"]: c["id"] for c in tilekernels.tile_configs(family)}
    if name not in ids:
        raise SystemExit(f"no {family} configuration named {name!r}")
    return ids[name]


def seed_bmm(directory):
    spec = importlib.util.spec_from_file_location("seed_bmm", os.path.join(directory, "seed_bmm_triton.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.triton_bmm_optimized


def run_case(case, config, baselines):
    family, shape_name, mode = case.split("_")
    if family == "bmm":
        dtype, precision = BMM_MODES[mode]
        a, b = bmm_operands(BMM_SUITE[shape_name], dtype, "cuda")
        with matmul_precision(precision):
            if config:
                torch.ops.kernels._bmm_with_config(a, b, config_id("bmm", config), precision=precision)
            else:
                torch.ops.kernels.bmm(a, b, precision=precision)
            if baselines:
                torch.bmm(a, b)
                seed_bmm(baselines)(a, b)
    else:
        shape = ATTENTION_SUITE[shape_name]
        q, k, v = (torch.rand(shape.batch, shape.heads, shape.seq, shape.dim, device="cuda",
                              dtype=ATTENTION_DTYPES[mode]) for _ in range(3))
        if config:
            torch.ops.kernels._attention_with_config(q, k, v, config_id("attention", config), is_causal=shape.causal)
        else:
            torch.ops.kernels.attention(q, k, v, is_causal=shape.causal)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=["bmm_kb3_fp16", "attn_kb97_fp16", "attn_d128_fp16"])
    parser.add_argument("--config")
    parser.add_argument("--baselines")
    args = parser.parse_args()
    for case in args.cases:
        run_case(case, args.config, args.baselines)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
