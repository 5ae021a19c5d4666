#pragma once
// Accumulators of a warpgroup's m64nN wgmma, rounded to 16 bits (or kept in fp32) and written to shared
// memory in the 128-byte swizzle of a tensor map's boxes, for bulk tensor stores and reductions (TMA):
// the epilogue of the bmm TMA rows and of the warp-specialized attention rows, the backward's dQ sums.
// Torch-free.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/common/pack2.cuh"
#include "kernels/ptx/st_shared.cuh"
#include "kernels/ptx/stmatrix.cuh"

namespace tilekernels {

// Writes one warpgroup's 64 x kBN accumulators, rounded to fp16 (kBf16: bf16), to shared memory from
// `staging` (1024-byte aligned) as kBN / 64 boxes of 64 rows x 64 columns, each in the 128-byte swizzle
// of a tensor map's box (16-byte chunk c of row r at chunk c ^ (r % 8)), ready for bulk tensor stores.
// One stmatrix per 16 columns covers the warp's 16 rows (four 8 x 8 matrices: rows 0-7 and 8-15 of
// n8 blocks 2 jj and 2 jj + 1); the swizzle spreads each matrix's eight rows over distinct banks.
template <int kBN, bool kBf16>
__device__ __forceinline__ void stage_wgmma_rows_16bit(const float (&acc)[kBN / 2], uint32_t staging) {
  using T = std::conditional_t<kBf16, __nv_bfloat16, __half>;
  const int lane = threadIdx.x & 31, warp_in_group = (threadIdx.x >> 5) & 3;
  const int matrix = lane >> 3;  // the matrix whose row this lane addresses
  const int row = warp_in_group * 16 + (matrix & 1) * 8 + (lane & 7);
  const uint32_t row_address = staging + row * 128;
#pragma unroll
  for (int jj = 0; jj < kBN / 16; ++jj) {
    const int col = 16 * jj + (matrix >> 1) * 8;
    const uint32_t chunk = static_cast<uint32_t>((col % 64) / 8) ^ static_cast<uint32_t>(row & 7);
    const float* a = &acc[8 * jj];
    ptx::stmatrix_x4(row_address + (col / 64) * 64 * 128 + chunk * 16, pack2<T>(a[0], a[1]), pack2<T>(a[2], a[3]),
                     pack2<T>(a[4], a[5]), pack2<T>(a[6], a[7]));
  }
}

// A warpgroup's m64 x kBN fp32 accumulators as kBN / 32 boxes of 64 rows x 32 columns (8 KB each,
// rows of 128 bytes in the 128-byte swizzle: what a bulk tensor copy of a 32 x 64 fp32 box reads). A
// thread's column pair of one row is 8 bytes of a 16-byte chunk. An 8-byte store is served per
// half-warp (rows g = 0-3 or 4-7 of the eight the warp's lanes hold): in step nt, lanes of odd g store
// n8 tile nt ^ 2 instead of nt, which puts the half-warp's four rows on four distinct 32-byte chunk
// pairs of the swizzle (one wavefront per half-warp; with nt everywhere rows g and g ^ 1 collide).
template <int kBN>
__device__ __forceinline__ void stage_wgmma_rows_fp32(const float (&acc)[kBN / 2], uint32_t staging) {
  static_assert(kBN % 32 == 0, "whole 32-column boxes");
  const int lane = threadIdx.x & 31, warp_in_group = (threadIdx.x >> 5) & 3;
  const int g = lane >> 2, t = lane & 3;
  const bool swap = g & 1;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = warp_in_group * 16 + g + 8 * half;
#pragma unroll
    for (int nt = 0; nt < kBN / 8; ++nt) {
      const int other = nt ^ 2;  // same box
      const int mine = swap ? other : nt;
      const uint32_t chunk = static_cast<uint32_t>(2 * (mine % 4) + (t >> 1)) ^ static_cast<uint32_t>(row & 7);
      const uint32_t address = staging + (nt / 4) * (64 * 128) + row * 128 + chunk * 16 + (t & 1) * 8;
      const float x = swap ? acc[4 * other + 2 * half] : acc[4 * nt + 2 * half];
      const float y = swap ? acc[4 * other + 2 * half + 1] : acc[4 * nt + 2 * half + 1];
      ptx::st_shared_v2(address, __float_as_uint(x), __float_as_uint(y));
    }
  }
}

}  // namespace tilekernels
