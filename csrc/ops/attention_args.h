#pragma once
// Argument checks of kernels::attention, shared by the CPU and CUDA bindings.
#include <cstdint>
#include <optional>

#include "ops/tensor_utils.h"

namespace tilekernels {

// The largest head dimension any backend accepts (the CUDA family compiles head dims up to it).
inline constexpr int64_t kMaxHeadDim = 1024;

struct AttentionShape {
  int64_t batch, heads_q, heads_kv, seq_q, seq_k, head_dim, head_dim_v;
  float scale;
};

// SDPA's rules for [batch, heads, seq, head_dim] inputs; k/v may have fewer heads dividing q's (GQA).
AttentionShape check_attention_args(const Tensor& q, const Tensor& k, const Tensor& v, std::optional<double> scale);

}  // namespace tilekernels
