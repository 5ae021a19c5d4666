"""The benchmark suites (the shapes of shared/ANCHORS.md) and the roofline floors for each shape."""

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple


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
    heads_kv: int = 0  # k and v heads (grouped-query attention); 0: as many as q

    @property
    def kv_heads(self) -> int:
        return self.heads_kv or self.heads

    def flops(self) -> float:
        full = 4.0 * self.batch * self.heads * self.seq * self.seq * self.dim
        return full / 2 if self.causal else full

    def bytes(self, element_bytes: int) -> float:
        # q and out of every query head, k and v of every kv head.
        return element_bytes * 2.0 * self.batch * (self.heads + self.kv_heads) * self.seq * self.dim


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
    "gqa_c": AttentionShape(4, 32, 4096, 128, causal=True, heads_kv=8),
    "short": AttentionShape(32, 16, 512, 128),
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


def compute_ceiling_tflops(mode: str, ceilings: Dict[str, float]) -> float:
    """The compute ceiling of a mode in TFLOP/s. fp32-accurate work is bounded by the fastest of plain
    FP32, three TF32 products and three fp16 products (3xFP16)."""
    if mode == "fp32":
        return max(ceilings["fp32"], ceilings["tf32"] / 3, ceilings["fp16"] / 3)
    return ceilings[mode]


def floors_ms(flops: float, nbytes: float, mode: str, ceilings: Dict[str, float]) -> Tuple[float, float]:
    """(compute floor, memory floor) in ms: the time at the compute ceiling of the mode, and the time to
    move `nbytes` at the copy bandwidth."""
    rate = compute_ceiling_tflops(mode, ceilings)
    return flops / (rate * 1e12) * 1e3, nbytes / (ceilings["copy_tbs"] * 1e12) * 1e3


def _parse_sizes(text: str, count: int) -> Optional[List[int]]:
    """`count` sizes (>= 0) and an optional 0/1 flag, comma separated; None when `text` is not that."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        return None
    if len(values) not in (count, count + 1) or any(v < 0 for v in values[:count]) \
            or any(v not in (0, 1) for v in values[count:]):
        return None
    return values


def parse_bmm_shape(text: str) -> BmmShape:
    """A suite name (kb3, sq4k, ...) or explicit sizes batch,m,n,k[,b_transposed]; ValueError otherwise."""
    if text in BMM_SUITE:
        return BMM_SUITE[text]
    values = _parse_sizes(text, 4)
    if values is None:
        raise ValueError(f"unknown bmm shape {text!r}: give a suite name ({', '.join(BMM_SUITE)}) or "
                         "sizes batch,m,n,k[,b_transposed] (integers >= 0, flag 0 or 1)")
    return BmmShape(*values[:4], b_transposed=len(values) > 4 and bool(values[4]))


def parse_attention_shape(text: str) -> AttentionShape:
    """A suite name (kb97, d128, ...) or explicit sizes batch,heads,seq,dim[,causal]; ValueError otherwise."""
    if text in ATTENTION_SUITE:
        return ATTENTION_SUITE[text]
    values = _parse_sizes(text, 4)
    if values is None:
        raise ValueError(f"unknown attention shape {text!r}: give a suite name ({', '.join(ATTENTION_SUITE)}) or "
                         "sizes batch,heads,seq,dim[,causal] (integers >= 0, flag 0 or 1)")
    return AttentionShape(*values[:4], causal=len(values) > 4 and bool(values[4]))


def shape_name(shape, suite: Dict[str, object]) -> str:
    """The suite name of a shape, else its sizes as given on the command line."""
    for name, candidate in suite.items():
        if candidate == shape:
            return name
    values = dataclasses.astuple(shape)[:5]  # command-line shapes have no kv heads of their own
    return ",".join(str(int(v)) for v in (values if values[4] else values[:4]))
