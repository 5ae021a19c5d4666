#pragma once
// fp32 operands as the tensor cores' TF32 inputs: rounded to nearest, or split into big + small for
// 3xTF32. Shared by the bmm tensor-core kernels (mma.sync and wgmma). Torch-free.
#include <cstdint>

#include "kernels/ptx/tf32.cuh"

namespace tilekernels::bmm {

// TF32 operands, rounded to nearest. sm_90 has a one-instruction conversion (ptx::to_tf32). Below
// it, mma.sync reading only the top 19 bits of a .tf32 register helps: adding half a TF32 ulp
// (0x1000) to a finite value's bits rounds it to nearest, ties away from zero, bit for bit what the
// emulated three-instruction cvt.rna would feed the tensor core, in two. Inf and NaN pass through
// unchanged (an add could carry a NaN's payload into the sign bit).
__device__ __forceinline__ uint32_t tf32_operand(uint32_t x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  return ptx::to_tf32(__uint_as_float(x));
#else
  return fabsf(__uint_as_float(x)) < INFINITY ? x + 0x1000u : x;
#endif
}

// 3xTF32 split: x = big + small exactly, big = x rounded to nearest TF32 (its low bits cleared,
// since the subtraction needs its exact value), small = the remainder, whose own low bits the
// tensor core truncates (an error below 2^-21 |x|, like the small * small term 3xTF32 drops). Two
// instructions on sm_90 (three below), none of them a guard: the split bounds the main loop's
// speed, so non-finite operands are left to make NaN (inf splits into inf + NaN, a NaN may lose its
// payload in big but makes small NaN) and the epilogue recomputes tiles holding a NaN exactly
// (store_exact_tile).
__device__ __forceinline__ void split_operand(uint32_t x, uint32_t& big, uint32_t& small) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  big = ptx::to_tf32(__uint_as_float(x));  // cvt clears the low 13 bits
#else
  big = (x + 0x1000u) & 0xffffe000u;
#endif
  small = __float_as_uint(__uint_as_float(x) - __uint_as_float(big));
}

}  // namespace tilekernels::bmm
