"""What to profile: one call (op, shape, mode), which tile configurations, whether torch too. The CLI
builds it, the profiled program reads it back from JSON."""

import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Union

from tilekernels.benchmarking import suites

OPS = ("bmm", "attention")
MODES = ("fp16", "bf16", "tf32", "fp32")  # as runner.BMM_MODES / ATTENTION_MODES: dtype + fp32 precision
DTYPES = ("fp16", "bf16", "fp32")  # --dtype: the mode of that dtype at torch's default precision
ALL_CONFIGS = "all"

Shape = Union[suites.BmmShape, suites.AttentionShape]


def resolve_mode(dtype: Optional[str], mode: Optional[str]) -> str:
    """The mode of `--dtype` and `--mode` (default fp16). --dtype fp32 is fp32-accurate ("highest");
    --mode tf32 is the float32 dtype at TF32 precision. ValueError when they disagree."""
    if mode is None:
        return dtype or "fp16"
    if dtype is not None and dtype != ("fp32" if mode == "tf32" else mode):
        raise ValueError(f"--dtype {dtype} and --mode {mode} disagree (mode {mode} runs "
                         f"{'fp32' if mode == 'tf32' else mode} tensors)")
    return mode


def parse_shape(op: str, text: str) -> Shape:
    """A suite name or explicit sizes for `op`; ValueError with the accepted forms otherwise."""
    return suites.parse_bmm_shape(text) if op == "bmm" else suites.parse_attention_shape(text)


@dataclass
class ProfileRequest:
    op: str
    shape: Shape
    mode: str
    configs: Optional[List[str]] = None  # None: what the planner picks; [ALL_CONFIGS]: every candidate; names
    against_torch: bool = False

    @property
    def shape_name(self) -> str:
        return suites.shape_name(self.shape, suites.BMM_SUITE if self.op == "bmm" else suites.ATTENTION_SUITE)

    @property
    def sizes(self) -> str:
        """"batch=128, m=512, n=2048, k=1024" (flags and kv heads only when set)."""
        return ", ".join(f"{key}={int(value)}" for key, value in dataclasses.asdict(self.shape).items()
                         if value or not (isinstance(value, bool) or key == "heads_kv"))

    @property
    def all_configs(self) -> bool:
        return self.configs == [ALL_CONFIGS]

    def flops(self) -> float:
        return self.shape.flops()

    def ideal_bytes(self) -> float:
        """The least DRAM traffic of the call: every operand read once, the result written once."""
        return self.shape.bytes(suites.ELEMENT_BYTES[self.mode])

    def to_json(self) -> dict:
        return {"op": self.op, "shape": dataclasses.asdict(self.shape), "mode": self.mode, "configs": self.configs,
                "against_torch": self.against_torch}

    @classmethod
    def from_json(cls, data: dict) -> "ProfileRequest":
        shape_type = suites.BmmShape if data["op"] == "bmm" else suites.AttentionShape
        return cls(op=data["op"], shape=shape_type(**data["shape"]), mode=data["mode"], configs=data["configs"],
                   against_torch=data["against_torch"])


def gpu_problem() -> Optional[str]:
    """Why this process cannot run tilekernels' CUDA kernels (no GPU, a build without them, a GPU
    architecture not compiled in), or None."""
    import torch

    from tilekernels._library import build_info, cuda_arch_string

    if not torch.cuda.is_available():
        return "no CUDA GPU is visible: profile runs the kernels on one (the CPU implementations have no ncu metrics)"
    info = build_info()
    if not info.get("cuda"):
        return ("this tilekernels build has no CUDA kernels (built without nvcc): reinstall with a CUDA toolkit "
                "present (README, Build)")
    try:
        arch = cuda_arch_string(torch.cuda.get_device_capability())
    except RuntimeError as error:  # a driver that cannot start, a GPU in a bad state
        return f"the CUDA GPU cannot be used: {str(error).splitlines()[0]}"
    if arch not in info.get("cuda_archs", []):
        compiled = ", ".join("sm_" + a for a in info.get("cuda_archs", [])) or "none"
        return (f"{torch.cuda.get_device_name()} is sm_{arch}, which this build was not compiled for (it has "
                f"{compiled}): rebuild with TILEKERNELS_CUDA_ARCHS={arch}")
    return None


def parse_configs(op: str, text: Optional[str]) -> Optional[List[str]]:
    """--config: None (the planner's pick), "all", or comma-separated configuration names of the op's
    family; ValueError naming an unknown one."""
    if text is None:
        return None
    if text == ALL_CONFIGS:
        return [ALL_CONFIGS]
    from tilekernels.tuning.tables import tile_configs

    known = {c["name"] for c in tile_configs(op)}
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(f"unknown {op} configuration {', '.join(unknown) or repr(text)}: give `all` or names "
                         f"from tilekernels.tile_configs({op!r}) (e.g. {sorted(known)[0]})")
    return names
