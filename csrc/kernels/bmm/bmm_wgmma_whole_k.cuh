#pragma once
// TF32 bmm for short k on Hopper (sm_90a): a CTA holds its output tile's whole k extent (at most
// block_k) of both operands in shared memory, so it loads once, runs one batch of wgmma that read both
// operands from there (SS), and writes its accumulators to C. Two 64 KB CTAs share an SM, so one's
// stores of C run while the other loads: what write-bound shapes such as q k^T (k = 64: 512 MB of
// fp32 output from 128 MB of operands) need. The loads go through registers, rounded to TF32 on their
// way into shared memory; cp.async copies followed by a conversion pass over shared memory took 9%
// longer on q k^T (benchmarks/NOTES.md, session 9). TF32 wgmma reads shared operands only
// k-contiguous, so both operands must be. Torch-free.
#include <cstdint>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/bmm/bmm_raster.cuh"
#include "kernels/bmm/bmm_smem_layout.cuh"
#include "kernels/bmm/bmm_wgmma_store.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/st_shared.cuh"
#include "kernels/ptx/tf32.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::bmm::wgmma_whole_k {

template <int kConfig>
struct Kernel {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  static constexpr int kBM = kCfg.block_m, kBN = kCfg.block_n, kMaxK = kCfg.block_k;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kKTiles = kMaxK / 32;       // 128-byte swizzle rows of 32 floats
  static constexpr int kChunksPerRow = kMaxK / 4;  // 16-byte chunks of an operand row
  static_assert(kCfg.holds_whole_k() && kCfg.math == MathMode::kTf32, "whole-k rows are TF32");
  static_assert(kBN == 128 && kCfg.warps_n == 1 && kBM == 64 * (kThreads / 128), "one m64n128 warpgroup per 64 rows");
  static_assert(kMaxK % 32 == 0, "whole 128-byte k tiles");
  static constexpr int kSmemBytes = (kBM + kBN) * kMaxK * 4;  // both operands' tiles, k-contiguous

  // One operand's tile: kRows rows (of m or n) of kMaxK floats, stored as kKTiles tiles of kRows
  // 128-byte rows in the hardware's 128-byte swizzle. Each thread moves chunk tid % kChunksPerRow of
  // rows tid / kChunksPerRow + i * kRowStep, through registers.
  template <int kRows>
  struct OperandTile {
    static constexpr int kRowStep = kThreads / kChunksPerRow;
    static constexpr int kLoads = kRows / kRowStep;
    static_assert(kThreads % kChunksPerRow == 0 && kRows % kRowStep == 0, "chunks spread evenly over the threads");
    using KTile = Swizzle128Tile<kRows>;

    float4 v[kLoads];

    // This thread's chunks of rows first_row.. of `matrix` (k-contiguous, rows `ld` apart), zero past
    // `rows` and `k`. The binding passes 16-byte aligned operands with ld % 4 == 0, so a chunk inside
    // k is one aligned 16-byte load; only the chunk that k ends in is read element by element.
    __device__ __forceinline__ void load(const float* matrix, int64_t ld, int64_t first_row, int64_t rows, int64_t k) {
      const int chunk = threadIdx.x % kChunksPerRow, row = threadIdx.x / kChunksPerRow;
      const int64_t k0 = chunk * 4;
      const float* src = matrix + (first_row + row) * ld + k0;
      const int64_t rows_left = rows - first_row - row;  // rows of this thread's first one onwards
      if (k0 + 4 <= k) {
#pragma unroll
        for (int i = 0; i < kLoads; ++i)
          v[i] = i * kRowStep < rows_left ? *reinterpret_cast<const float4*>(src + i * kRowStep * ld)
                                          : make_float4(0.f, 0.f, 0.f, 0.f);
      } else {
#pragma unroll
        for (int i = 0; i < kLoads; ++i) {
          const bool in = i * kRowStep < rows_left;
          const float* at = src + i * kRowStep * ld;
          v[i].x = in && k0 < k ? at[0] : 0.f;
          v[i].y = in && k0 + 1 < k ? at[1] : 0.f;
          v[i].z = in && k0 + 2 < k ? at[2] : 0.f;
          v[i].w = 0.f;  // k0 + 3 < k would make the chunk whole
        }
      }
    }

    // Writes the chunks, rounded to TF32, into the tile at shared address `tile`.
    __device__ __forceinline__ void store(uint32_t tile) const {
      const int chunk = threadIdx.x % kChunksPerRow, row = threadIdx.x / kChunksPerRow;
      const uint32_t at = tile + (chunk / 8) * KTile::kBytes;
#pragma unroll
      for (int i = 0; i < kLoads; ++i)
        ptx::st_shared_v4(at + KTile::offset(row + i * kRowStep, chunk % 8), ptx::to_tf32(v[i].x), ptx::to_tf32(v[i].y),
                          ptx::to_tf32(v[i].z), ptx::to_tf32(v[i].w));
    }
  };

  static __device__ __forceinline__ void run(const Params& p) {
    extern __shared__ __align__(1024) uint8_t smem[];
    const TileWalk<kBM, kBN, kCfg.group_m> walk{p.m, p.n, p.batch};
    if (walk.first() >= walk.total()) return;
    const TileCoord c = walk.coord(walk.first());
    const uint32_t a_tile = ptx::shared_address(smem);
    const uint32_t b_tile = a_tile + kBM * kMaxK * 4;
    {
      OperandTile<kBM> a;
      OperandTile<kBN> b;
      a.load(static_cast<const float*>(p.a) + c.batch * p.a_batch_stride, p.lda, c.m0, p.m, p.k);
      b.load(static_cast<const float*>(p.b) + c.batch * p.b_batch_stride, p.ldb, c.n0, p.n, p.k);
      a.store(a_tile);
      b.store(b_tile);
    }
    ptx::fence_proxy_async_shared();  // the stores are read by wgmma (the async proxy)
    __syncthreads();

    // The first wgmma overwrites the accumulators (scale_d = 0), so they need no zeroing; k past
    // p.k is zero in both operands.
    float acc[kBN / 2];
    const uint32_t a_rows = a_tile + (threadIdx.x / 128) * 64 * 128;  // this warpgroup's 64 rows
    ptx::wgmma_fence();
#pragma unroll
    for (int kt = 0; kt < kKTiles; ++kt)
#pragma unroll
      for (int ks = 0; ks < 4; ++ks)
        ptx::wgmma_m64n128k8_tf32_ss(acc, ptx::wgmma_sw128_desc(a_rows + kt * kBM * 128 + ks * 32),
                                     ptx::wgmma_sw128_desc(b_tile + kt * kBN * 128 + ks * 32), kt + ks > 0);
    ptx::wgmma_commit();
    ptx::wgmma_wait<0>();
    ptx::wgmma_keep(acc);
    store_wgmma_tile<kBM, kBN, false>(acc, p, c.batch, c.m0, c.n0);
  }
};

}  // namespace tilekernels::bmm::wgmma_whole_k
