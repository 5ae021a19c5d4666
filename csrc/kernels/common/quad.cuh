#pragma once
// Reductions over the four lanes of a quad: the lanes that share rows g and g + 8 of an mma / wgmma
// accumulator fragment (lanes 4g .. 4g + 3). Shared by both families.

namespace tilekernels {

__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

}  // namespace tilekernels
