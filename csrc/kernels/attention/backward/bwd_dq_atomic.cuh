#pragma once
// dQ by fp32 reductions (the dq_atomic rows of the wgmma key-block kernels): once a job's dS^T is
// staged in shared memory (16-bit, keys as rows of 64 query columns, the 128-byte swizzle), a
// warpgroup computes its 64 query rows x kColumns head-dim columns of dQ = dS K as an SS wgmma (dS^T
// read MN-major as A, K MN-major as B) and adds them to p.dq_accum with red.global.add. Torch-free.
#include <cstdint>

#include "kernels/attention/backward/backward_params.h"
#include "kernels/ptx/red_add.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

// Issues dq = dS K over kKeys keys for kRowTiles m64 tiles of query rows (no commit): ds_rows addresses
// the first key's row of dS^T (rows 128 bytes apart; tile r's query rows are the r-th 64-column
// segment, kKeys rows after the one before), k_rows the same key's row of K's 64-column segment holding
// the first of the kColumns columns (K's segments are kKeyRows rows of 128 bytes).
template <int kColumns, int kKeys, int kKeyRows, bool kBf16, int kRowTiles>
__device__ __forceinline__ void issue_dq_product(float (&dq)[kRowTiles][kColumns / 2], uint32_t ds_rows,
                                                 uint32_t k_rows) {
  static_assert(kKeys % 16 == 0 && kColumns % 64 == 0, "k16 steps over whole 64-column segments");
  ptx::wgmma_fence();
#pragma unroll
  for (int r = 0; r < kRowTiles; ++r) {
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      const uint32_t row = 16 * kk * 128;
      ptx::wgmma_m64k16_f16_ss<kColumns, kBf16, 1, 1>(
          dq[r], ptx::wgmma_sw128_mn_desc(ds_rows + r * kKeys * 128 + row, 64 * 128, 1024),
          ptx::wgmma_sw128_mn_desc(k_rows + row, kKeyRows * 128, 1024), kk > 0);
    }
  }
}

// One tile of query rows, committed and waited for, with every other wgmma of the warpgroup.
template <int kColumns, int kKeys, int kKeyRows, bool kBf16>
__device__ __forceinline__ void dq_product(float (&dq)[kColumns / 2], uint32_t ds_rows, uint32_t k_rows) {
  issue_dq_product<kColumns, kKeys, kKeyRows, kBf16>(reinterpret_cast<float(&)[1][kColumns / 2]>(dq), ds_rows, k_rows);
  ptx::wgmma_commit();
  ptx::wgmma_wait<0>();
  ptx::wgmma_keep(dq);
}

// Adds a warpgroup's m64 accumulators `dq` (warp w of it: rows 16 w..) to p.dq_accum's rows of query
// head bh (batch * heads_q + head) from q0, columns col0..; rows past seq_q and columns past head_dim
// are skipped.
template <int kColumns>
__device__ __forceinline__ void reduce_dq(const float (&dq)[kColumns / 2], const BackwardParams& p, int bh, int q0,
                                          int col0, int warp_in_group, int g, int t) {
  const int seq_q = static_cast<int>(p.seq_q), head_dim = static_cast<int>(p.head_dim);
  float* rows = p.dq_accum + static_cast<int64_t>(bh) * seq_q * p.grad_row_stride;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = q0 + 16 * warp_in_group + g + 8 * half;
    if (row >= seq_q) continue;
    float* dst = rows + static_cast<int64_t>(row) * p.grad_row_stride;
#pragma unroll
    for (int nt = 0; nt < kColumns / 8; ++nt) {
      const int col = col0 + nt * 8 + 2 * t;
      const float x = dq[4 * nt + 2 * half], y = dq[4 * nt + 2 * half + 1];
      if (col + 1 < head_dim) {
        ptx::red_add_f32x2(dst + col, x, y);
      } else if (col < head_dim) {
        ptx::red_add_f32(dst + col, x);
      }
    }
  }
}

}  // namespace tilekernels::attention::detail
