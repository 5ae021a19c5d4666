#pragma once
// Exact-fp32 bmm on the FMA units (MathMode::kFfma), any SM: each thread accumulates an 8x8 block of
// C, double-buffered shared tiles stored k-major (k rows of m, k rows of n) so that every thread
// reads its operands with 128-bit loads. Operands that are k-contiguous in global memory are
// transposed on the way in (through registers). Same Params contract as the tensor-core kernel.
// Torch-free.
#include <cstdint>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/bmm/bmm_raster.cuh"

namespace tilekernels::bmm::ffma {

template <int kConfig, bool kAKMajor, bool kBKMajor>
struct Traits {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  static constexpr int kBM = kCfg.block_m, kBN = kCfg.block_n, kBK = kCfg.block_k;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kGroupM = kCfg.group_m;
  // Thread (tx, ty) owns rows {ty * 4 + i, kBM / 2 + ty * 4 + i} and columns {tx * 4 + j,
  // kBN / 2 + tx * 4 + j}, i, j < 4: two 4-wide halves so that a quarter-warp's 128-bit loads of B
  // cover 128 consecutive bytes and its loads of A hit one address.
  static constexpr int kThreadsN = kBN / 8, kThreadsM = kBM / 8;
  // Each row of the k-by-m and k-by-n tiles is padded by kRowPad floats so that operands transposed on
  // their way into shared memory (k-contiguous A, k-contiguous B) are stored without bank conflicts.
  static constexpr int kRowPad = 4;
  static constexpr int kAStride = kBM + kRowPad;  // floats per shared row (one k)
  static constexpr int kBStride = kBN + kRowPad;
  static constexpr int kATileFloats = kBK * kAStride, kBTileFloats = kBK * kBStride;
  static constexpr int kStageFloats = kATileFloats + kBTileFloats;
  static constexpr int kSmemBytes = 2 * kStageFloats * 4;  // double-buffered
  // 16-byte chunks (4 floats along the contiguous dimension) per tile, per thread.
  static constexpr int kALoads = kBM * kBK / 4 / kThreads;
  static constexpr int kBLoads = kBN * kBK / 4 / kThreads;

  static_assert(kCfg.math == MathMode::kFfma, "bmm_ffma.cuh runs kFfma rows only");
  static_assert(kThreadsM * kThreadsN == kThreads, "one 8x8 block per thread");
  static_assert(kCfg.stages == 2, "the FFMA kernel is double-buffered");
  static_assert(kBK % 4 == 0 && kThreadsN >= 8, "quarter-warps read whole 128-byte rows of B");
  static_assert(kALoads * kThreads * 4 == kBM * kBK && kBLoads * kThreads * 4 == kBN * kBK,
                "tile chunks spread evenly over threads");
};

template <int kConfig, bool kAKMajor, bool kBKMajor>
struct Kernel {
  using T = Traits<kConfig, kAKMajor, kBKMajor>;

  // One operand's chunks of the next k tile, held in registers between the global load and the
  // shared store. kRowsMN: the tile's extent along m (A) or n (B).
  template <int kRowsMN, int kLoads, int kStride, bool kKMajor>
  struct Staged {
    float4 v[kLoads];

    // Chunk i of thread tid: k-contiguous operands: row mn = idx / (kBK / 4), k chunk idx % (kBK / 4);
    // otherwise row k = idx / (kRowsMN / 4), m/n chunk idx % (kRowsMN / 4).
    __device__ __forceinline__ void load(const float* matrix, int64_t ld, int64_t mn0, int64_t mn_extent, int64_t k0,
                                         int64_t k, int tid) {
#pragma unroll
      for (int i = 0; i < kLoads; ++i) {
        const int idx = tid + i * T::kThreads;
        int64_t row, col, rows, cols;  // global coordinates along (strided, contiguous) dimensions
        if constexpr (kKMajor) {
          row = mn0 + idx / (T::kBK / 4);
          col = k0 + (idx % (T::kBK / 4)) * 4;
          rows = mn_extent;
          cols = k;
        } else {
          row = k0 + idx / (kRowsMN / 4);
          col = mn0 + (idx % (kRowsMN / 4)) * 4;
          rows = k;
          cols = mn_extent;
        }
        const float* src = matrix + row * ld + col;
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (row < rows) {
          if (col + 4 <= cols) {
            x = *reinterpret_cast<const float4*>(src);
          } else {
            if (col < cols) x.x = src[0];
            if (col + 1 < cols) x.y = src[1];
            if (col + 2 < cols) x.z = src[2];
          }
        }
        v[i] = x;
      }
    }

    // Into a shared tile of kBK rows (k) of kStride floats (m or n).
    __device__ __forceinline__ void store(float* tile, int tid) const {
#pragma unroll
      for (int i = 0; i < kLoads; ++i) {
        const int idx = tid + i * T::kThreads;
        if constexpr (kKMajor) {
          const int mn = idx / (T::kBK / 4), kc = (idx % (T::kBK / 4)) * 4;
          tile[(kc + 0) * kStride + mn] = v[i].x;
          tile[(kc + 1) * kStride + mn] = v[i].y;
          tile[(kc + 2) * kStride + mn] = v[i].z;
          tile[(kc + 3) * kStride + mn] = v[i].w;
        } else {
          const int kr = idx / (kRowsMN / 4), c = (idx % (kRowsMN / 4)) * 4;
          *reinterpret_cast<float4*>(tile + kr * kStride + c) = v[i];
        }
      }
    }
  };

  static __device__ __forceinline__ void run(const Params& p) {
    extern __shared__ __align__(16) float smem_f[];
    constexpr int kBM = T::kBM, kBN = T::kBN, kBK = T::kBK;

    const TileCoord tc = tile_coord<kBM, kBN, T::kGroupM>(p.m, p.n);
    if (tc.batch >= p.batch) return;

    const int tid = threadIdx.x;
    const int tx = tid % T::kThreadsN, ty = tid / T::kThreadsN;
    const float* a = static_cast<const float*>(p.a) + tc.batch * p.a_batch_stride;
    const float* b = static_cast<const float*>(p.b) + tc.batch * p.b_batch_stride;

    Staged<kBM, T::kALoads, T::kAStride, kAKMajor> a_next;
    Staged<kBN, T::kBLoads, T::kBStride, kBKMajor> b_next;
    auto a_tile = [&](int s) { return smem_f + s * T::kStageFloats; };
    auto b_tile = [&](int s) { return smem_f + s * T::kStageFloats + T::kATileFloats; };

    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

    const int ktiles = static_cast<int>((p.k + kBK - 1) / kBK);
    if (ktiles > 0) {
      a_next.load(a, p.lda, tc.m0, p.m, 0, p.k, tid);
      b_next.load(b, p.ldb, tc.n0, p.n, 0, p.k, tid);
      a_next.store(a_tile(0), tid);
      b_next.store(b_tile(0), tid);
    }
    __syncthreads();

    for (int kt = 0; kt < ktiles; ++kt) {
      const int cur = kt & 1;
      const bool more = kt + 1 < ktiles;
      if (more) {
        // The next tile's global loads fly while this one computes.
        const int64_t k0 = static_cast<int64_t>(kt + 1) * kBK;
        a_next.load(a, p.lda, tc.m0, p.m, k0, p.k, tid);
        b_next.load(b, p.ldb, tc.n0, p.n, k0, p.k, tid);
      }
      const float* as = a_tile(cur);
      const float* bs = b_tile(cur);
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float av[8], bv[8];
        const float4 a_lo = *reinterpret_cast<const float4*>(as + kk * T::kAStride + ty * 4);
        const float4 a_hi = *reinterpret_cast<const float4*>(as + kk * T::kAStride + kBM / 2 + ty * 4);
        const float4 b_lo = *reinterpret_cast<const float4*>(bs + kk * T::kBStride + tx * 4);
        const float4 b_hi = *reinterpret_cast<const float4*>(bs + kk * T::kBStride + kBN / 2 + tx * 4);
        av[0] = a_lo.x, av[1] = a_lo.y, av[2] = a_lo.z, av[3] = a_lo.w;
        av[4] = a_hi.x, av[5] = a_hi.y, av[6] = a_hi.z, av[7] = a_hi.w;
        bv[0] = b_lo.x, bv[1] = b_lo.y, bv[2] = b_lo.z, bv[3] = b_lo.w;
        bv[4] = b_hi.x, bv[5] = b_hi.y, bv[6] = b_hi.z, bv[7] = b_hi.w;
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
      if (more) {
        // The other buffer was last read in iteration kt - 1, before the barrier that ended it.
        a_next.store(a_tile(cur ^ 1), tid);
        b_next.store(b_tile(cur ^ 1), tid);
      }
      __syncthreads();
    }

    const int m_rem = static_cast<int>(p.m - tc.m0 < kBM ? p.m - tc.m0 : kBM);
    const int n_rem = static_cast<int>(p.n - tc.n0 < kBN ? p.n - tc.n0 : kBN);
    float* c = static_cast<float*>(p.c) + tc.batch * p.c_batch_stride + tc.m0 * p.ldc + tc.n0;
    const bool vector_ok =
        (reinterpret_cast<uintptr_t>(p.c) % 16 == 0) && (p.ldc % 4 == 0) && (p.c_batch_stride % 4 == 0);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int r = (i < 4 ? 0 : kBM / 2) + ty * 4 + (i & 3);
      if (r >= m_rem) continue;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int col = half * (kBN / 2) + tx * 4;
        float* dst = c + r * p.ldc + col;
        const float* v = &acc[i][half * 4];
        if (vector_ok && col + 4 <= n_rem) {
          *reinterpret_cast<float4*>(dst) = make_float4(v[0], v[1], v[2], v[3]);
        } else {
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (col + j < n_rem) dst[j] = v[j];
        }
      }
    }
  }
};

}  // namespace tilekernels::bmm::ffma
