"""The op registry: every schema of the ``kernels`` namespace, in one place.

Schemas are defined here (not in C++) because torch's stable C++ ABI can attach tags such as
``pt2_compliant_tag`` only from torch 2.12 on, while our one build targets torch >= 2.10. The C++
extension registers the CPU and CUDA implementations of these schemas when it is loaded.
"""

import torch

_PT2 = (torch.Tag.pt2_compliant_tag,)

# Kept alive for the life of the process: dropping a Library object removes its definitions.
_library = torch.library.Library("kernels", "DEF")

SCHEMAS = {
    # Public ops.
    "bmm": "bmm(Tensor a, Tensor b, *, str? precision=None) -> Tensor",
    # Returns nothing: torch.compile can functionalize a custom op's mutation of `out`, but not an
    # output aliasing it.
    "bmm.out": "bmm.out(Tensor a, Tensor b, *, str? precision=None, Tensor(a!) out) -> ()",
    "attention": "attention(Tensor q, Tensor k, Tensor v, *, bool is_causal=False, float? scale=None) -> Tensor",
    "attention_with_lse": (
        "attention_with_lse(Tensor q, Tensor k, Tensor v, *, bool is_causal=False, float? scale=None)"
        " -> (Tensor, Tensor)"
    ),
    # Private ops behind explain(), the autotuner and the tile-table tests.
    "_bmm_with_config": "_bmm_with_config(Tensor a, Tensor b, int config, str? precision=None) -> Tensor",
    "_bmm_plan": "_bmm_plan(Tensor a, Tensor b, str? precision=None) -> str",
    "_attention_with_config": (
        "_attention_with_config(Tensor q, Tensor k, Tensor v, int config, bool is_causal=False, float? scale=None)"
        " -> (Tensor, Tensor)"
    ),
    "_attention_plan": "_attention_plan(Tensor q, Tensor k, Tensor v, bool is_causal=False) -> str",
    # The gradients of attention / attention_with_lse (autograd in ops/attention.py).
    "_attention_backward": (
        "_attention_backward(Tensor grad_out, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor? grad_lse,"
        " bool is_causal=False, float? scale=None, int? config=None, bool deterministic=False)"
        " -> (Tensor, Tensor, Tensor)"
    ),
    "_tile_configs": "_tile_configs(str family) -> str",
    "_tile_table_set": "_tile_table_set(str family, str key, int config) -> ()",
    "_tile_table_clear": "_tile_table_clear(str family) -> ()",
    "_tile_table_entries": "_tile_table_entries(str family) -> str",
    "_float32_matmul_precision": "_float32_matmul_precision() -> int",
    "_load_tuned_tables": "_load_tuned_tables() -> ()",
}

for _schema in SCHEMAS.values():
    _library.define(_schema, tags=_PT2)

_PRECISION_CODES = {"highest": 0, "high": 1, "medium": 2}


def _float32_matmul_precision() -> int:
    # The C++ ops call this through the dispatcher: the stable ABI has no accessor for the setting.
    return _PRECISION_CODES[torch.get_float32_matmul_precision()]


def _load_tuned_tables() -> None:
    # Called by the C++ ops once, on the first CUDA call (so importing never initializes CUDA).
    from tilekernels.tuning.tables import load_tables

    load_tables()


_library.impl("_float32_matmul_precision", _float32_matmul_precision, "CompositeExplicitAutograd")
_library.impl("_load_tuned_tables", _load_tuned_tables, "CompositeExplicitAutograd")
