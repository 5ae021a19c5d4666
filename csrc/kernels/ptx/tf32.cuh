#pragma once
// fp32 -> tf32 rounded to nearest (not truncated), as a 32-bit register the tensor cores read as tf32.
// sm_90 converts natively in one instruction (cvt.rn: ties to even); sm_80-sm_89 have only cvt.rna
// (ties away from zero), which ptxas emulates in three.
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm("cvt.rn.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#else
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#endif
  return r;
}

}  // namespace tilekernels::ptx
