#pragma once
// setmaxnreg (sm_90a): a warpgroup gives registers back to the SM (dec) or claims freed ones (inc), so
// that warp-specialized kernels run few-register producer warps beside many-register consumers. Every
// warp of the warpgroup executes the same one; it takes effect only in a kernel launched with a
// register cap (__launch_bounds__ with a minimum of one CTA per SM, or -maxrregcount).
#include <cstdint>

namespace tilekernels::ptx {

template <int kRegisters>
__device__ __forceinline__ void setmaxnreg_dec() {
  static_assert(kRegisters % 8 == 0 && kRegisters >= 24 && kRegisters <= 256, "24..256, a multiple of 8");
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
}

template <int kRegisters>
__device__ __forceinline__ void setmaxnreg_inc() {
  static_assert(kRegisters % 8 == 0 && kRegisters >= 24 && kRegisters <= 256, "24..256, a multiple of 8");
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
}

}  // namespace tilekernels::ptx
