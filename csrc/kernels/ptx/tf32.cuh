#pragma once
// cvt.rna.tf32.f32 (sm_80+): fp32 -> tf32 with round-to-nearest (ties away), not truncation.
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}

// x ~= big + small with both parts tf32: the operand split of 3xTF32 (about 21 significant bits).
__device__ __forceinline__ void split_tf32(float x, uint32_t& big, uint32_t& small) {
  big = to_tf32(x);
  small = to_tf32(x - __uint_as_float(big));
}

}  // namespace tilekernels::ptx
