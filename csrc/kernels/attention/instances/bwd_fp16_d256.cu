// Attention backward rows of fp16, head dim 256 (backward/backward_configs.h).
#include "kernels/attention/backward/backward_instance.cuh"

TILEKERNELS_ATTENTION_BACKWARD_INSTANCES(::tilekernels::MathMode::kFp16, 256)
