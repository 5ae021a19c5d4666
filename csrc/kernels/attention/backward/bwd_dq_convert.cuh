#pragma once
// The last pass of the rows with dq_atomic: grad_q = scale * dq_accum, rounded to 16 bits. Both are
// [rows][grad_row_stride] (a multiple of 8 elements: the padding columns hold zeros and go along), so
// every thread converts four consecutive elements.
#include <cstdint>

#include "kernels/attention/backward/backward_params.h"
#include "kernels/common/pack2.cuh"

namespace tilekernels::attention::detail {

inline constexpr int kDqConvertThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kDqConvertThreads) backward_dq_convert_kernel(const BackwardParams p) {
  const int64_t quads = p.batch * p.heads_q * p.seq_q * p.grad_row_stride / 4;
  const float4* from = reinterpret_cast<const float4*>(p.dq_accum);
  uint2* to = reinterpret_cast<uint2*>(p.grad_q);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kDqConvertThreads + threadIdx.x; i < quads;
       i += static_cast<int64_t>(gridDim.x) * kDqConvertThreads) {
    const float4 x = from[i];
    to[i] = make_uint2(pack2<T>(x.x * p.scale, x.y * p.scale), pack2<T>(x.z * p.scale, x.w * p.scale));
  }
}

}  // namespace tilekernels::attention::detail
