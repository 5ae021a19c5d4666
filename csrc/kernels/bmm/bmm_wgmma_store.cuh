#pragma once
// The epilogue of the wgmma bmm kernels: a tile of fp32 accumulators (one warpgroup per 64 rows, each
// holding the D fragments of an m64nN wgmma) written straight to C, or (16-bit C) staged in shared
// memory for bulk tensor stores. Torch-free.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/bmm/bmm_params.h"
#include "kernels/common/pack2.cuh"
#include "kernels/common/wgmma_staging.cuh"

namespace tilekernels::bmm {

// This thread's first row in a tile of 64-row warpgroups, in both the wgmma A fragment and the
// accumulator layout: its warpgroup's 64 rows, its warp's 16, row g = lane / 4.
__device__ __forceinline__ int wgmma_fragment_row() {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  return (warp >> 2) * 64 + (warp & 3) * 16 + (lane >> 2);
}

// Writes the CTA's kBM x kBN accumulators (D fragment: rows g, g + 8 of the warp's 16, columns
// 8 j + 2 t, + 1 of n8 block j) to C at (m0, n0) of batch item `batch`, or with kCTransposed, the tile
// of C^T there. Each store instruction fills whole 32-byte sectors: eight rows of 32 bytes, or
// transposed, four columns of C^T (rows of C) of 32 bytes. Where C allows 16-byte stores, lanes t and
// t ^ 1 swap a pair so that each writes four consecutive columns: eight rows of 64 bytes per
// instruction, half the instructions and L2 requests (C is most of the traffic of short-k shapes
// such as q k^T).
template <int kBM, int kBN, bool kCTransposed>
__device__ __forceinline__ void store_wgmma_tile(float (&acc)[kBN / 2], const Params& p, int64_t batch, int64_t m0,
                                                 int64_t n0) {
  const int t = threadIdx.x & 3;
  const int row0 = wgmma_fragment_row();
  const int m_rem = static_cast<int>(p.m - m0 < kBM ? p.m - m0 : kBM);
  const int n_rem = static_cast<int>(p.n - n0 < kBN ? p.n - n0 : kBN);
  float* c = static_cast<float*>(p.c) + batch * p.c_batch_stride + (kCTransposed ? n0 * p.ldc + m0 : m0 * p.ldc + n0);
  const bool pairs_ok = !kCTransposed && reinterpret_cast<uintptr_t>(p.c) % 8 == 0 && p.ldc % 2 == 0 &&
                        p.c_batch_stride % 2 == 0;
  const bool quads_ok = !kCTransposed && reinterpret_cast<uintptr_t>(p.c) % 16 == 0 && p.ldc % 4 == 0 &&
                        p.c_batch_stride % 4 == 0 && n_rem == kBN;
  if (quads_ok) {
    const bool odd = (t & 1) != 0;
#pragma unroll
    for (int jj = 0; jj < kBN / 16; ++jj)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float* lo = &acc[4 * (2 * jj) + 2 * h];
        const float* hi = &acc[4 * (2 * jj + 1) + 2 * h];
        // Even lanes keep their n8 block 2 jj pair and take the neighbour's; odd lanes those of 2 jj + 1.
        const float send0 = odd ? lo[0] : hi[0], send1 = odd ? lo[1] : hi[1];
        const float got0 = __shfl_xor_sync(0xffffffffu, send0, 1);
        const float got1 = __shfl_xor_sync(0xffffffffu, send1, 1);
        const int r = row0 + 8 * h;
        const int col = odd ? 16 * jj + 8 + 2 * (t - 1) : 16 * jj + 2 * t;
        const float4 v = odd ? make_float4(got0, got1, hi[0], hi[1]) : make_float4(lo[0], lo[1], got0, got1);
        if (r < m_rem) *reinterpret_cast<float4*>(c + r * p.ldc + col) = v;
      }
    return;
  }
#pragma unroll
  for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + 8 * h, col = 8 * j + 2 * t;
      const float v0 = acc[4 * j + 2 * h], v1 = acc[4 * j + 2 * h + 1];
      if (r >= m_rem) continue;
      if constexpr (kCTransposed) {
        if (col < n_rem) c[col * p.ldc + r] = v0;
        if (col + 1 < n_rem) c[(col + 1) * p.ldc + r] = v1;
      } else if (pairs_ok && col + 1 < n_rem) {
        *reinterpret_cast<float2*>(c + r * p.ldc + col) = make_float2(v0, v1);
      } else {
        if (col < n_rem) c[r * p.ldc + col] = v0;
        if (col + 1 < n_rem) c[r * p.ldc + col + 1] = v1;
      }
    }
}

// Writes one warpgroup's 64 x kBN accumulators, rounded to fp16 (kBf16: bf16), to the rows of C from
// `m0` and its columns from `n0` in batch item `batch`: each row's pair of columns (2t, 2t + 1 of n8
// block j) as one 4-byte store where C's alignment allows, element by element otherwise.
template <int kBN, bool kBf16>
__device__ __forceinline__ void store_wgmma_rows_16bit(const float (&acc)[kBN / 2], const Params& p, int64_t batch,
                                                       int64_t m0, int64_t n0) {
  using T = std::conditional_t<kBf16, __nv_bfloat16, __half>;
  const int lane = threadIdx.x & 31, warp_in_group = (threadIdx.x >> 5) & 3;
  const int t = lane & 3, row0 = warp_in_group * 16 + (lane >> 2);
  const int64_t m_rem = p.m - m0, n_rem = p.n - n0;
  uint16_t* c = static_cast<uint16_t*>(p.c) + batch * p.c_batch_stride + m0 * p.ldc + n0;
  const bool pairs_ok = reinterpret_cast<uintptr_t>(p.c) % 4 == 0 && p.ldc % 2 == 0 && p.c_batch_stride % 2 == 0 &&
                        n0 % 2 == 0;
#pragma unroll
  for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + 8 * h, col = 8 * j + 2 * t;
      if (r >= m_rem || col >= n_rem) continue;
      const uint32_t pair = pack2<T>(acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1]);
      uint16_t* at = c + r * p.ldc + col;
      if (pairs_ok && col + 1 < n_rem) {
        *reinterpret_cast<uint32_t*>(at) = pair;
      } else {
        at[0] = static_cast<uint16_t>(pair);
        if (col + 1 < n_rem) at[1] = static_cast<uint16_t>(pair >> 16);
      }
    }
}

}  // namespace tilekernels::bmm
