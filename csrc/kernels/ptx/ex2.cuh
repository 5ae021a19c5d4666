#pragma once
// ex2.approx.ftz.f32 (sm_75+ for .ftz on f32; every arch we target): 2^x on the SFU.
// ex2(-inf) = +0 and subnormal results flush to 0, which is what a softmax wants.
namespace tilekernels::ptx {

__device__ __forceinline__ float ex2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

}  // namespace tilekernels::ptx
