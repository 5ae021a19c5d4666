#pragma once
// The only thing the attention backward kernels see: pointers, sizes and strides (in elements).
// Torch-free.
#include <cstdint>

#include "kernels/common/math_mode.h"

namespace tilekernels::attention {

// Gradients of out = attention(q, k, v) (attention_params.h's problem) with respect to q, k and v,
// given grad_out and the forward's log-sum-exp per row (and, for attention_with_lse, its gradient):
//   P = exp(scale * q k^T - lse), dV = P^T dO, dP = dO V^T, dS = P * (dP - delta),
//   dQ = scale * dS K, dK = scale * dS^T Q, delta = rowsum(dO * O) - grad_lse.
// dK and dV of a kv head sum over the query heads that share it (grouped-query attention).
//
// Contract the caller guarantees (the binding copies operands that break it):
//   * q, k, v, out, grad_out: the forward's contract (unit last stride, 16-byte aligned, other strides
//     multiples of 16 bytes); out and grad_out have q's sizes;
//   * lse and grad_lse (optional) are contiguous fp32 [batch, heads_q, seq_q]; delta is scratch of that
//     size;
//   * grad_q, grad_k, grad_v are [batch, heads, seq, grad_row_stride] buffers of q's dtype (rows
//     padded to 16 bytes; the kernels write the first head_dim columns);
//   * rows with dq_atomic: dq_accum is fp32 scratch of batch * heads_q * seq_q * grad_row_stride;
//   * warp-specialized rows: vectors is fp32 scratch of batch * heads_q * backward_vector_blocks(seq_q) *
//     2 * kVectorRows (backward_vectors_elements), and every operand is one a tensor map describes;
//   * 1 <= head_dim <= the configuration's; seq_q, seq_k >= 1.
// The warp-specialized key-block kernel reads lse and delta per job of query rows with one bulk copy:
// the delta pre-pass writes, per kVectorRows rows of a query head, lse * log2(e) then delta, zero past
// seq_q (so that the copy never leaves the buffer and padding rows stay finite). Each head's blocks are
// padded to a multiple of kVectorBlockMultiple, so a job of up to that many blocks reads whole ones.
inline constexpr int kVectorRows = 64;
inline constexpr int kVectorBlockMultiple = 2;

constexpr int64_t backward_vector_blocks(int64_t seq_q) {
  return (seq_q + kVectorRows * kVectorBlockMultiple - 1) / (kVectorRows * kVectorBlockMultiple) *
         kVectorBlockMultiple;
}

inline int64_t backward_vectors_elements(int64_t batch, int64_t heads_q, int64_t seq_q) {
  return batch * heads_q * backward_vector_blocks(seq_q) * 2 * kVectorRows;
}

struct BackwardParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* out = nullptr;
  const void* grad_out = nullptr;
  const float* lse = nullptr;
  const float* grad_lse = nullptr;  // may be null
  float* delta = nullptr;
  void* grad_q = nullptr;
  void* grad_k = nullptr;
  void* grad_v = nullptr;
  float* dq_accum = nullptr;  // rows with dq_atomic: fp32 scratch laid out as grad_q (the launcher zeroes it)
  float* vectors = nullptr;   // warp-specialized rows: lse * log2(e) and delta per block of query rows
  int64_t batch = 0, heads_q = 0, heads_kv = 0;
  int64_t seq_q = 0, seq_k = 0, head_dim = 0;
  int64_t q_batch_stride = 0, q_head_stride = 0, q_row_stride = 0;
  int64_t k_batch_stride = 0, k_head_stride = 0, k_row_stride = 0;
  int64_t v_batch_stride = 0, v_head_stride = 0, v_row_stride = 0;
  int64_t out_batch_stride = 0, out_head_stride = 0, out_row_stride = 0;
  int64_t grad_out_batch_stride = 0, grad_out_head_stride = 0, grad_out_row_stride = 0;
  int64_t grad_row_stride = 0;
  float scale = 1.0f;
  bool causal = false;
  MathMode math = MathMode::kFp16;
};

}  // namespace tilekernels::attention
