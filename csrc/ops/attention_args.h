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

// kernels._attention_backward's arguments: check_attention_args on q, k, v, and out, grad_out [batch,
// heads_q, seq_q, head_dim_v] of q's dtype, lse and grad_lse (optional) [batch, heads_q, seq_q] fp32,
// all on q's device.
AttentionShape check_attention_backward_args(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& out, const Tensor& lse, const std::optional<Tensor>& grad_lse,
                                             std::optional<double> scale);

// Copies the sizes and the scale into a CPU problem struct (forward or backward: same field names).
template <class Problem>
void set_sizes(Problem& problem, const AttentionShape& s) {
  problem.batch = s.batch;
  problem.heads_q = s.heads_q;
  problem.heads_kv = s.heads_kv;
  problem.seq_q = s.seq_q;
  problem.seq_k = s.seq_k;
  problem.head_dim = s.head_dim;
  problem.head_dim_v = s.head_dim_v;
  problem.scale = s.scale;
}

// The same for a CUDA params struct (forward or backward), whose v has q's head dim.
template <class Params>
void set_cuda_sizes(Params& params, const AttentionShape& s) {
  params.batch = s.batch;
  params.heads_q = s.heads_q;
  params.heads_kv = s.heads_kv;
  params.seq_q = s.seq_q;
  params.seq_k = s.seq_k;
  params.head_dim = s.head_dim;
  params.scale = s.scale;
}

// The batch, head and row strides of a [batch, heads, seq, dim] tensor, into a params struct's fields.
inline void set_strides(const Tensor& t, int64_t& batch_stride, int64_t& head_stride, int64_t& row_stride) {
  batch_stride = t.stride(0);
  head_stride = t.stride(1);
  row_stride = t.stride(2);
}

}  // namespace tilekernels
