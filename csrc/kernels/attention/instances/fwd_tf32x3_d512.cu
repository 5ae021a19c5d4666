// Attention forward, tf32x3, head_dim 512: every kTileConfigs row with that (math, head_dim).
#include "kernels/attention/instance.cuh"

TILEKERNELS_ATTENTION_INSTANCES(::tilekernels::MathMode::kTf32x3, 512)
