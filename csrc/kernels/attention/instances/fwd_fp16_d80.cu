// Attention forward, fp16, head_dim 80: every kTileConfigs row with that (math, head_dim).
#include "kernels/attention/instance.cuh"

TILEKERNELS_ATTENTION_INSTANCES(::tilekernels::MathMode::kFp16, 80)
