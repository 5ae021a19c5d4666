"""The benchmark suites (the shapes of shared/ANCHORS.md) and the roofline floors for each shape."""

from dataclasses import dataclass
from typing import Dict, Tuple


@dataclass(frozen=True)
class BmmShape:
    batch: int
    m: int
    n: int
    k: int
    b_transposed: bool = False  # B given as a transposed view (k contiguous), e.g. Q @ K^T

    def flops(self) -> float:
        return 2.0 * self.batch * self.m * self.n * self.k

    def bytes(self, element_bytes: int) -> float:
        return element_bytes * self.batch * (self.m * self.k + self.k * self.n + self.m * self.n)


@dataclass(frozen=True)
class AttentionShape:
    batch: int
    heads: int
    seq: int
    dim: int
    causal: bool = False

    def flops(self) -> float:
        full = 4.0 * self.batch * self.heads * self.seq * self.seq * self.dim
        return full / 2 if self.causal else full

    def bytes(self, element_bytes: int) -> float:
        return element_bytes * 4.0 * self.batch * self.heads * self.seq * self.dim  # q, k, v read; out written


BMM_SUITE: Dict[str, BmmShape] = {
    "kb3": BmmShape(128, 512, 2048, 1024),
    "sq4k": BmmShape(8, 4096, 4096, 4096),
    "qkT": BmmShape(512, 512, 512, 64, b_transposed=True),
    "pv": BmmShape(512, 512, 64, 512),
    "tiny64": BmmShape(4096, 64, 64, 64),
    "odd1000": BmmShape(17, 1000, 1000, 1000),
    "skinny": BmmShape(64, 8192, 128, 128),
}

ATTENTION_SUITE: Dict[str, AttentionShape] = {
    "kb97": AttentionShape(32, 32, 512, 1024),
    "d128": AttentionShape(8, 16, 2048, 128),
    "d128c": AttentionShape(8, 16, 2048, 128, causal=True),
    "d64": AttentionShape(16, 16, 1024, 64),
    "long8k_c": AttentionShape(1, 32, 8192, 128, causal=True),
    "d256": AttentionShape(4, 16, 2048, 256),
}

# Small shapes for the CPU path (the CLI's bench on a machine without a GPU).
BMM_CPU_SUITE: Dict[str, BmmShape] = {
    "cpu_square": BmmShape(8, 256, 256, 256),
    "cpu_qkT": BmmShape(32, 128, 128, 64, b_transposed=True),
    "cpu_odd": BmmShape(4, 200, 300, 100),
}
ATTENTION_CPU_SUITE: Dict[str, AttentionShape] = {
    "cpu_d64": AttentionShape(2, 4, 256, 64),
    "cpu_d64c": AttentionShape(2, 4, 256, 64, causal=True),
    "cpu_d128": AttentionShape(1, 4, 256, 128),
}

# Ceilings measured on the H100 of shared/ANCHORS.md (2026-11-21): cuBLAS 8192^3 matmul rates in
# TFLOP/s and the device-to-device copy rate in TB/s (bytes read + written). --measure-ceilings
# re-measures them in the benchmark's own run.
H100_CEILINGS = {"bf16": 796.0, "fp16": 679.0, "tf32": 357.0, "fp32": 52.0, "copy_tbs": 3.0}

ELEMENT_BYTES = {"fp16": 2, "bf16": 2, "tf32": 4, "fp32": 4}


def floors_ms(flops: float, nbytes: float, mode: str, ceilings: Dict[str, float]) -> Tuple[float, float]:
    """(compute floor, memory floor) in ms. fp32-accurate work is bounded by the fastest of plain FP32,
    three TF32 products and three fp16 products (3xFP16)."""
    if mode == "fp32":
        rate = max(ceilings["fp32"], ceilings["tf32"] / 3, ceilings["fp16"] / 3)
    else:
        rate = ceilings[mode]
    return flops / (rate * 1e12) * 1e3, nbytes / (ceilings["copy_tbs"] * 1e12) * 1e3
