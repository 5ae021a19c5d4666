#pragma once
// The backward's pre-pass: delta = rowsum(dO * O) - grad_lse for every query row, in fp32 (one warp
// per row). The key-block and query-block kernels read it with the forward's lse; with p.vectors it
// also writes both per block of kVectorRows rows (backward_params.h), padding rows included.
#include <cstdint>

#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/common/pack2.cuh"

namespace tilekernels::attention::detail {

inline constexpr int kDeltaWarps = 8;  // rows per CTA

template <typename T>
__global__ void __launch_bounds__(32 * kDeltaWarps) backward_delta_kernel(const BackwardParams p) {
  const int64_t blocks = backward_vector_blocks(p.seq_q);
  const int64_t seq = p.vectors ? blocks * kVectorRows : p.seq_q;  // rows per query head, padding included
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kDeltaWarps + (threadIdx.x >> 5);
  if (row >= p.batch * p.heads_q * seq) return;
  const int64_t i = row % seq;
  const int64_t bh = row / seq;
  float* vectors =
      p.vectors ? p.vectors + (bh * blocks + i / kVectorRows) * 2 * kVectorRows + i % kVectorRows : nullptr;
  if (i >= p.seq_q) {
    if (lane == 0) vectors[0] = vectors[kVectorRows] = 0.0f;
    return;
  }
  const int64_t b = bh / p.heads_q, h = bh % p.heads_q;
  const T* o = static_cast<const T*>(p.out) + b * p.out_batch_stride + h * p.out_head_stride + i * p.out_row_stride;
  const T* d_o = static_cast<const T*>(p.grad_out) + b * p.grad_out_batch_stride + h * p.grad_out_head_stride +
                 i * p.grad_out_row_stride;
  // Rows start on 16-byte boundaries (the contract), so element pairs are 4-byte aligned.
  float sum = 0.0f;
  const int pairs = static_cast<int>(p.head_dim / 2);
  for (int c = lane; c < pairs; c += 32) {
    const float2 x = unpack2<T>(reinterpret_cast<const uint32_t*>(o)[c]);
    const float2 y = unpack2<T>(reinterpret_cast<const uint32_t*>(d_o)[c]);
    sum = fmaf(x.x, y.x, fmaf(x.y, y.y, sum));
  }
  if (lane == 0 && p.head_dim % 2) sum = fmaf(to_float(o[p.head_dim - 1]), to_float(d_o[p.head_dim - 1]), sum);
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (lane == 0) {
    const int64_t r = bh * p.seq_q + i;
    const float delta = sum - (p.grad_lse ? p.grad_lse[r] : 0.0f);
    p.delta[r] = delta;
    if (vectors) {
      vectors[0] = p.lse[r] * kLog2e;
      vectors[kVectorRows] = delta;
    }
  }
}

}  // namespace tilekernels::attention::detail
