#pragma once
// fp32 values as pairs of fp16 pieces (MathMode::kFp16x3): x * scale splits into hi = fp16(x * scale),
// rounded to nearest, and lo = fp16(x * scale - hi), 22 significant bits while both are normal. Three
// fp16 products (lo a * hi b, hi a * lo b, hi a * hi b) then give a * b * scale_a * scale_b to fp32
// accuracy at the fp16 tensor rate. A value beyond fp16's range, an infinity or a NaN gives pieces
// hi = +-inf, lo = -+inf or NaN, so every product sum it enters is NaN. Torch-free.
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

namespace tilekernels {

__device__ __forceinline__ uint32_t half2_bits(__half2 h) {
  uint32_t bits;
  memcpy(&bits, &h, sizeof(bits));
  return bits;
}

// Two values of one row, consecutive in k (x0 at the lower k), scaled and split into fp16x2 pieces
// with the lower k in the low half (the tensor cores' fragment order).
__device__ __forceinline__ void split_pieces(float x0, float x1, float scale, uint32_t& hi, uint32_t& lo) {
  const float s0 = x0 * scale, s1 = x1 * scale;
  const __half2 h = __floats2half2_rn(s0, s1);
  const float2 back = __half22float2(h);
  hi = half2_bits(h);
  lo = half2_bits(__floats2half2_rn(s0 - back.x, s1 - back.y));
}

}  // namespace tilekernels
