"""The autotuned tile tables: compiled configurations, tuned choices on disk, the autotuner, explain()."""

from tilekernels.tuning.autotune import autotune_mode, set_autotune_mode, tune_attention, tune_bmm
from tilekernels.tuning.explain import explain
from tilekernels.tuning.tables import cache_dir, load_tables, save_user_table, tile_configs, tuned_entries

__all__ = [
    "autotune_mode",
    "cache_dir",
    "explain",
    "load_tables",
    "save_user_table",
    "set_autotune_mode",
    "tile_configs",
    "tune_attention",
    "tune_bmm",
    "tuned_entries",
]
