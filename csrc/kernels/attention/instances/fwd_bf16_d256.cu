// Attention forward, bf16, head_dim 256: every kTileConfigs row with that (math, head_dim).
#include "kernels/attention/instance.cuh"

TILEKERNELS_ATTENTION_INSTANCES(::tilekernels::MathMode::kBf16, 256)
