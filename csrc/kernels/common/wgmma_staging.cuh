#pragma once
// Accumulators of a warpgroup's m64nN wgmma, rounded to 16 bits and written to shared memory in the
// 128-byte swizzle of a tensor map's boxes, for bulk tensor stores (TMA): the epilogue of the bmm TMA
// rows and of the warp-specialized attention rows. Torch-free.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/common/pack2.cuh"
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

}  // namespace tilekernels
