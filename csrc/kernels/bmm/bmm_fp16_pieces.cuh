#pragma once
// The bmm side of 3xFP16 (MathMode::kFp16x3; the split itself is common/fp16_pieces.cuh): a group of
// values (one row of an operand over an output tile's k extent) is scaled by a power of two before it
// splits into its two fp16 pieces. The scale is what fp16's narrow exponent range needs; it is exact,
// and the epilogue multiplies it back out. Torch-free.
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/common/fp16_pieces.cuh"
#include "kernels/common/quad.cuh"

namespace tilekernels::bmm {

struct PieceScale {
  float scale, inverse;
};

// The scale for a group whose first k tile has largest magnitude max_abs (>= 0): it maps that
// magnitude into [2^7, 2^8), which leaves later k tiles 2^8 times more room before fp16 overflows
// (65504) and keeps all 22 bits down to 2^-10 of it. A later value beyond that room, an infinity or
// a NaN becomes inf or NaN in the pieces, and so NaN in the tile's accumulators, which sends the tile
// to the exact recompute as in 3xTF32 (store_exact_tile). An all-zero first tile gets scale 1 (rows of
// triangular or padded operands); tiny groups get 2^126 at most.
__device__ __forceinline__ PieceScale piece_scale(float max_abs) {
  const int e = static_cast<int>((__float_as_uint(max_abs) >> 23) & 0xffu);
  const int s = max_abs == 0.f ? 127 : min(261 - e, 253);  // the biased exponent of 2^(7 - (e - 127))
  return {__uint_as_float(static_cast<uint32_t>(s) << 23), __uint_as_float(static_cast<uint32_t>(254 - s) << 23)};
}

}  // namespace tilekernels::bmm
