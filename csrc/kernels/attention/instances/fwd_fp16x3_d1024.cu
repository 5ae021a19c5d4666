// Attention forward, fp16x3, head_dim 1024: every kTileConfigs row with that (math, head_dim).
#include "kernels/attention/instance.cuh"

TILEKERNELS_ATTENTION_INSTANCES(::tilekernels::MathMode::kFp16x3, 1024)
