#pragma once
// Tensor-core bmm for sm_80+ (fp16, bf16, tf32, 3xTF32): mma.sync fed by ldmatrix (or by 128-bit
// shared loads for m/n-contiguous fp32 operands), a multi-stage cp.async pipeline over XOR-swizzled
// shared memory, a group_m raster, and an epilogue that stages each warp's tile through shared memory
// for 16-byte coalesced stores. README.md in this folder explains the layouts. Torch-free.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/bmm/bmm_raster.cuh"
#include "kernels/bmm/bmm_exact_tile.cuh"
#include "kernels/bmm/bmm_smem_layout.cuh"
#include "kernels/bmm/bmm_tf32_operand.cuh"
#include "kernels/bmm/bmm_tile_loader.cuh"
#include "kernels/common/pack2.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ld_shared.cuh"
#include "kernels/ptx/ldmatrix.cuh"
#include "kernels/ptx/mma.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/st_shared.cuh"

namespace tilekernels::bmm::mma_sm80 {

// Everything the kernel derives from its configuration row and operand layouts.
template <int kConfig, bool kAKMajor, bool kBKMajor>
struct Traits {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  static constexpr MathMode kMath = kCfg.math;
  static constexpr bool kTf32 = kMath == MathMode::kTf32 || kMath == MathMode::kTf32x3;
  static constexpr bool kSplit = kMath == MathMode::kTf32x3;
  static constexpr int kElemBytes = kCfg.element_bytes();  // inputs and output alike
  static constexpr int kChunkElems = 16 / kElemBytes;
  static constexpr int kBM = kCfg.block_m, kBN = kCfg.block_n, kBK = kCfg.block_k;
  static constexpr int kWarpsM = kCfg.warps_m, kWarpsN = kCfg.warps_n;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kStages = kCfg.stages;
  static constexpr int kGroupM = kCfg.group_m;
  static constexpr int kWM = kBM / kWarpsM, kWN = kBN / kWarpsN;  // warp tile
  static constexpr int kMT = kWM / 16, kNT = kWN / 8;             // m16 / n8 mma tiles per warp
  static constexpr int kMmaK = kTf32 ? 8 : 16;                    // k elements per mma
  static constexpr int kKSteps = kBK / kMmaK;
  // ldmatrix moves 16-bit elements, so it can transpose fp16/bf16 tiles but not fp32 ones. fp32
  // operands stored m- (A) or n- (B) contiguous are read with 128-bit loads instead, which hands each
  // thread consecutive m (n) values: the warp's m16 (n8) tiles take their rows (columns) in a permuted
  // order, undone when the accumulators are staged (see README.md).
  static constexpr bool kAPermuted = kTf32 && !kAKMajor;
  static constexpr bool kBPermuted = kTf32 && !kBKMajor;

  // Shared tiles: rows along the operand's strided dimension, kRowBytes contiguous bytes each.
  using ATile = SwizzledTile<kAKMajor ? kBM : kBK, (kAKMajor ? kBK : kBM) * kElemBytes>;
  using BTile = SwizzledTile<kBKMajor ? kBN : kBK, (kBKMajor ? kBK : kBN) * kElemBytes>;
  static constexpr int kStageBytes = ATile::kBytes + BTile::kBytes;
  static constexpr int kPipelineBytes = kStages * kStageBytes;

  // The epilogue stages each warp's output tile through shared memory (reusing the pipeline) for
  // 16-byte coalesced stores, kWM / passes rows at a time: the fewest passes (a power of two dividing
  // the warp's m16 tiles) whose staging fits in the pipeline's bytes.
  static constexpr int epilogue_passes() {
    int passes = 1;
    while (passes < kMT && kMT % (passes * 2) == 0 &&
           kWarpsM * kWarpsN * (kWM / passes) * kWN * kElemBytes > kPipelineBytes)
      passes *= 2;
    return passes;
  }
  static constexpr int kEpiPasses = epilogue_passes();
  static constexpr int kEpiMT = kMT / kEpiPasses;  // m16 tiles staged per pass
  static constexpr int kEpiRows = kWM / kEpiPasses;
  using Staging = SwizzledTile<kEpiRows, kWN * kElemBytes>;
  static constexpr int kEpilogueBytes = kWarpsM * kWarpsN * Staging::kBytes;
  static constexpr int kSmemBytes = kPipelineBytes > kEpilogueBytes ? kPipelineBytes : kEpilogueBytes;

  static_assert(kMath != MathMode::kFfma, "kFfma rows run bmm_ffma.cuh");
  static_assert(kBM % (16 * kWarpsM) == 0 && kBN % (16 * kWarpsN) == 0, "warp tiles are multiples of 16x16");
  static_assert(kBK % kMmaK == 0 && kKSteps % 2 == 0, "fragments are double-buffered over an even number of k-steps");
  static_assert(kStages >= 2, "the pipeline needs at least two stages");
  static_assert(!kAPermuted || kMT % 2 == 0, "m-contiguous fp32 A needs a warp tile of 32 or 64 rows");
  static_assert(!kBPermuted || kNT % 4 == 0, "n-contiguous fp32 B needs a warp tile of 32 or 64 columns");
  static_assert((kEpiRows * Staging::kChunksPerRow) % 32 == 0, "staged chunks are spread evenly over lanes");
  // The fragment addressing (Kernel::a_addr / b_addr) needs k-contiguous rows of at most one 128-byte
  // panel, and otherwise warp tiles within one panel (<= 64 columns) of >= 128-byte rows.
  static_assert(kAKMajor ? kBK * kElemBytes <= 128 : kWM <= 64 && kBM * kElemBytes >= 128, "A tile shape");
  static_assert(kBKMajor ? kBK * kElemBytes <= 128 : kWN <= 64 && kBN * kElemBytes >= 128, "B tile shape");
};

template <int kConfig, bool kAKMajor, bool kBKMajor>
struct Kernel {
  using T = Traits<kConfig, kAKMajor, kBKMajor>;
  static constexpr int kMT = T::kMT, kNT = T::kNT;

  using ALoader = TileLoader<typename T::ATile, kAKMajor ? T::kBM : T::kBK, kAKMajor ? T::kBK : T::kBM,
                             T::kElemBytes, T::kThreads, T::kBK, kAKMajor>;
  using BLoader = TileLoader<typename T::BTile, kBKMajor ? T::kBN : T::kBK, kBKMajor ? T::kBK : T::kBN,
                             T::kElemBytes, T::kThreads, T::kBK, kBKMajor>;

  // Shared-memory offsets of this thread's fragment loads for (mt | pair | s = 0, ks = 0); the other
  // loads are compile-time XORs and additions away (a_addr / b_addr; derivation in README.md), so the
  // main loop spends one LOP3 per k-step on addresses instead of a swizzle per load.
  struct FragOffsets {
    uint32_t a, b;
  };

  static __device__ __forceinline__ FragOffsets frag_offsets(int lane, int wm0, int wn0) {
    const int g = lane >> 2, t = lane & 3;
    FragOffsets o;
    if constexpr (kAKMajor)
      o.a = T::ATile::offset(wm0 + (lane & 15), lane >> 4);
    else if constexpr (!T::kTf32)
      o.a = T::ATile::offset((lane & 7) + ((lane >> 4) << 3), wm0 / 8 + ((lane >> 3) & 1));
    else
      o.a = T::ATile::offset(t, (wm0 + g * 2 * kMT) / 4);
    if constexpr (kBKMajor)
      o.b = T::BTile::offset(wn0 + (lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
    else if constexpr (!T::kTf32)
      o.b = T::BTile::offset((lane & 7) + (((lane >> 3) & 1) << 3), wn0 / 8 + (lane >> 4));
    else
      o.b = T::BTile::offset(t, (wn0 + g * kNT) / 4);
    return o;
  }

  // Offset of A load `i` at k-step ks: i = mt (ldmatrix) or half * kMT / 2 + s (tf32 128-bit loads).
  // k-contiguous: rows wm0 + 16 mt + (lane & 15), k chunk 2 ks + lane / 16; the k-step flips slot
  // bits 1-2 and m16 tiles are whole swizzle periods apart. Otherwise (16-bit): rows k = 16 ks + ...,
  // chunk wm0 / 8 + 2 mt + ...: the m16 tile flips slot bits 1-2 (the warp's <= 64 columns sit in one
  // panel), k-steps are whole periods. tf32: rows k = 8 ks + t + 4 half, chunk (wm0 + 2 g kMT) / 4 + s:
  // s flips slot bit 0, and so does row + 4 (line_swizzle(r + 4) == line_swizzle(r) ^ 1 for r < 4).
  static __device__ __forceinline__ uint32_t a_addr(uint32_t off, int i, int ks) {
    using Tile = typename T::ATile;
    if constexpr (kAKMajor) {
      return (off ^ (ks << 5)) + i * 16 * Tile::kRowPitch;
    } else if constexpr (!T::kTf32) {
      return (off ^ (i << 5)) + ks * 16 * Tile::kRowPitch;
    } else {
      const int half = i / (kMT / 2), s = i % (kMT / 2);
      return (off ^ ((half ^ s) << 4)) + (ks * 8 + half * 4) * Tile::kRowPitch;
    }
  }

  // Offset of B load `i` at k-step ks: i = pair of n8 tiles (ldmatrix) or half * kNT / 4 + s.
  static __device__ __forceinline__ uint32_t b_addr(uint32_t off, int i, int ks) {
    using Tile = typename T::BTile;
    if constexpr (kBKMajor) {
      return (off ^ (ks << 5)) + i * 16 * Tile::kRowPitch;
    } else if constexpr (!T::kTf32) {
      return (off ^ (i << 5)) + ks * 16 * Tile::kRowPitch;
    } else {
      const int half = i / (kNT / 4), s = i % (kNT / 4);
      return (off ^ ((half ^ s) << 4)) + (ks * 8 + half * 4) * Tile::kRowPitch;
    }
  }

  // Plain TF32 rounds operands as soon as they arrive, so that raw and rounded values are never both
  // live; 3xTF32 splits them just before its mma instead, keeping one copy in the double buffer.
  template <int kN, int kR>
  static __device__ __forceinline__ void round_to_tf32(uint32_t (&x)[kN][kR]) {
    if constexpr (T::kMath == MathMode::kTf32) {
#pragma unroll
      for (int i = 0; i < kN; ++i)
#pragma unroll
        for (int j = 0; j < kR; ++j) x[i][j] = tf32_operand(x[i][j]);
    }
  }

  // A fragments of k-step `ks` (PTX ISA "Matrix Fragments for mma.m16n8k16 / m16n8k8"): a[mt] holds
  // rows {g, g + 8} x k {2t, 2t + 1, 2t + 8, 2t + 9} (16-bit) or {t, t + 4} (tf32) of m16 tile mt,
  // where g = lane / 4 and t = lane % 4.
  static __device__ __forceinline__ void load_a(uint32_t (&a)[kMT][4], uint32_t tile, uint32_t off, int ks) {
    if constexpr (kAKMajor) {
      // Matrices: rows 0-7 / 8-15 (lanes 0-7 / 8-15) at k chunk 0, then the same at k chunk 1.
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) ptx::ldmatrix_x4(a[mt], tile + a_addr(off, mt, ks));
    } else if constexpr (!T::kTf32) {
      // Stored as rows of k: transposing loads of k 0-7 x m 0-7, k 0-7 x m 8-15, k 8-15 x m 0-7,
      // k 8-15 x m 8-15.
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) ptx::ldmatrix_x4_trans(a[mt], tile + a_addr(off, mt, ks));
    } else {
      // Thread (g, t) reads rows k = t and t + 4 at m = g * 2 * kMT + q, q < 2 * kMT, and uses
      // m = g * 2 * kMT + 2 * mt + h as row g + 8 * h of m16 tile mt.
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int s = 0; s < kMT / 2; ++s) {
          uint32_t v[4];
          ptx::ld_shared_v4(v, tile + a_addr(off, half * (kMT / 2) + s, ks));
#pragma unroll
          for (int e = 0; e < 4; ++e) a[2 * s + e / 2][2 * half + (e & 1)] = v[e];
        }
    }
    round_to_tf32(a);
  }

  // B fragments of k-step `ks`: b[nt] holds column g of n8 tile nt at k {2t, 2t + 1, 2t + 8, 2t + 9}
  // (16-bit) or {t, t + 4} (tf32).
  static __device__ __forceinline__ void load_b(uint32_t (&b)[kNT][2], uint32_t tile, uint32_t off, int ks) {
    if constexpr (kBKMajor || !T::kTf32) {
#pragma unroll
      for (int p = 0; p < kNT / 2; ++p) {
        uint32_t r[4];
        if constexpr (kBKMajor)
          // Matrices: n 0-7 at k chunks 0, 1, then n 8-15 at k chunks 0, 1.
          ptx::ldmatrix_x4(r, tile + b_addr(off, p, ks));
        else
          // Stored as rows of k: k 0-7 / 8-15 x n 0-7, then k 0-7 / 8-15 x n 8-15.
          ptx::ldmatrix_x4_trans(r, tile + b_addr(off, p, ks));
        b[2 * p][0] = r[0];
        b[2 * p][1] = r[1];
        b[2 * p + 1][0] = r[2];
        b[2 * p + 1][1] = r[3];
      }
    } else {
      // Thread (g, t) reads rows k = t and t + 4 at n = g * kNT + nt: column g of n8 tile nt.
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int s = 0; s < kNT / 4; ++s) {
          uint32_t v[4];
          ptx::ld_shared_v4(v, tile + b_addr(off, half * (kNT / 4) + s, ks));
#pragma unroll
          for (int e = 0; e < 4; ++e) b[4 * s + e][half] = v[e];
        }
    }
    round_to_tf32(b);
  }

  // `chain_start`: 3xTF32 only, the first k-step of a k tile, whose products start a fresh tensor-core
  // accumulator (see the main loop's promotion).
  static __device__ __forceinline__ void mma_step(float (&acc)[kMT][kNT][4], uint32_t (&a)[kMT][4],
                                                  uint32_t (&b)[kNT][2], bool chain_start) {
    if constexpr (T::kMath == MathMode::kFp16 || T::kMath == MathMode::kBf16) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
          if constexpr (T::kMath == MathMode::kFp16)
            ptx::mma_m16n8k16_f16(acc[mt][nt], a[mt], b[nt]);
          else
            ptx::mma_m16n8k16_bf16(acc[mt][nt], a[mt], b[nt]);
        }
    } else if constexpr (!T::kSplit) {
      // Operands were rounded to TF32 when loaded.
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) ptx::mma_m16n8k8_tf32(acc[mt][nt], a[mt], b[nt]);
    } else {
      // 3xTF32: a * b ~= small_a * big_b + big_a * small_b + big_a * big_b, the small products first
      // so they are not lost below the big one's rounding.
      uint32_t a_small[kMT][4], b_small[kNT][2];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int i = 0; i < 4; ++i) split_operand(a[mt][i], a[mt][i], a_small[mt][i]);
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int i = 0; i < 2; ++i) split_operand(b[nt][i], b[nt][i], b_small[nt][i]);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
          if (chain_start)
            ptx::mma_m16n8k8_tf32_zero_c(acc[mt][nt], a_small[mt], b[nt]);
          else
            ptx::mma_m16n8k8_tf32(acc[mt][nt], a_small[mt], b[nt]);
        }
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) ptx::mma_m16n8k8_tf32(acc[mt][nt], a[mt], b_small[nt]);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) ptx::mma_m16n8k8_tf32(acc[mt][nt], a[mt], b[nt]);
    }
  }

  // C's element type where it is 16-bit (the epilogue packs pairs of them).
  using Element16 = std::conditional_t<T::kMath == MathMode::kFp16, __half, __nv_bfloat16>;

  // Warp-tile row of staged row s in epilogue pass `pass` (staged rows are m16 tile, half, g).
  static __device__ __forceinline__ int staged_row_to_m(int pass, int s) {
    const int mt = pass * T::kEpiMT + (s >> 4), h = (s >> 3) & 1, g = s & 7;
    return T::kAPermuted ? g * 2 * kMT + 2 * mt + h : mt * 16 + h * 8 + g;
  }

  // Converts the accumulators and writes the warp's tile of C through its staging area in shared
  // memory (the pipeline's, which the caller has drained and fenced).
  static __device__ __forceinline__ void epilogue(float (&acc)[kMT][kNT][4], uint32_t staging, char* c_tile,
                                                  int64_t ldc, bool vector_ok, int m_rem, int n_rem, int wm0,
                                                  int wn0, int lane) {
    using Staging = typename T::Staging;
    constexpr int kEB = T::kElemBytes, kCE = T::kChunkElems;
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int pass = 0; pass < T::kEpiPasses; ++pass) {
#pragma unroll
      for (int pm = 0; pm < T::kEpiMT; ++pm) {
        const int mt = pass * T::kEpiMT + pm;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int s = pm * 16 + h * 8 + g;
          if constexpr (kEB == 2) {
#pragma unroll
            for (int nt = 0; nt < kNT; ++nt)
              ptx::st_shared_b32(staging + Staging::offset(s, nt) + t * 4,
                                 pack2<Element16>(acc[mt][nt][2 * h], acc[mt][nt][2 * h + 1]));
          } else if constexpr (!T::kBPermuted) {
#pragma unroll
            for (int nt = 0; nt < kNT; ++nt)
              ptx::st_shared_v2(staging + Staging::offset(s, 2 * nt + (t >> 1)) + (t & 1) * 8,
                                __float_as_uint(acc[mt][nt][2 * h]), __float_as_uint(acc[mt][nt][2 * h + 1]));
          } else {
            // Column j of every n8 tile nt is n = j * kNT + nt: kNT consecutive floats per (j, row).
#pragma unroll
            for (int e = 0; e < 2; ++e)
#pragma unroll
              for (int q = 0; q < kNT / 4; ++q)
                ptx::st_shared_v4(staging + Staging::offset(s, ((2 * t + e) * kNT) / 4 + q),
                                  __float_as_uint(acc[mt][4 * q][2 * h + e]),
                                  __float_as_uint(acc[mt][4 * q + 1][2 * h + e]),
                                  __float_as_uint(acc[mt][4 * q + 2][2 * h + e]),
                                  __float_as_uint(acc[mt][4 * q + 3][2 * h + e]));
          }
        }
      }
      __syncwarp();
      if (vector_ok) {
        constexpr int kChunks = Staging::kChunksPerRow;
#pragma unroll
        for (int idx = lane; idx < T::kEpiRows * kChunks; idx += 32) {
          const int s = idx / kChunks, c = idx % kChunks;
          const int rm = wm0 + staged_row_to_m(pass, s), rn = wn0 + c * kCE;
          uint32_t v[4];
          ptx::ld_shared_v4(v, staging + Staging::offset(s, c));
          if (rm < m_rem) {
            char* dst = c_tile + (rm * ldc + rn) * kEB;
            if (rn + kCE <= n_rem) {
              *reinterpret_cast<uint4*>(dst) = make_uint4(v[0], v[1], v[2], v[3]);
            } else {
#pragma unroll
              for (int e = 0; e < kCE; ++e) {
                if (rn + e < n_rem) {
                  if constexpr (kEB == 2)
                    reinterpret_cast<uint16_t*>(dst)[e] = static_cast<uint16_t>(v[e / 2] >> (16 * (e & 1)));
                  else
                    reinterpret_cast<uint32_t*>(dst)[e] = v[e];
                }
              }
            }
          }
        }
      } else {
        // C's pointer or strides are not 16-byte multiples: element stores, consecutive lanes
        // writing consecutive columns.
#pragma unroll 4
        for (int idx = lane; idx < T::kEpiRows * T::kWN; idx += 32) {
          const int s = idx / T::kWN, col = idx % T::kWN;
          const int rm = wm0 + staged_row_to_m(pass, s), rn = wn0 + col;
          const uint32_t addr = staging + Staging::offset(s, col / kCE) + (col % kCE) * kEB;
          if constexpr (kEB == 2) {
            const uint16_t v = ptx::ld_shared_b16(addr);
            if (rm < m_rem && rn < n_rem) reinterpret_cast<uint16_t*>(c_tile + (rm * ldc + rn) * kEB)[0] = v;
          } else {
            const uint32_t v = ptx::ld_shared_b32(addr);
            if (rm < m_rem && rn < n_rem) reinterpret_cast<uint32_t*>(c_tile + (rm * ldc + rn) * kEB)[0] = v;
          }
        }
      }
      __syncwarp();
    }
  }

  static __device__ __forceinline__ void run(const Params& p) {
    extern __shared__ __align__(128) uint8_t smem[];
    constexpr int kBM = T::kBM, kBN = T::kBN, kBK = T::kBK, kStages = T::kStages, kEB = T::kElemBytes;

    const TileCoord tc = tile_coord<kBM, kBN, T::kGroupM>(p.m, p.n);
    if (tc.batch >= p.batch) return;
    const int64_t batch = tc.batch, m0 = tc.m0, n0 = tc.n0;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm0 = (warp / T::kWarpsN) * T::kWM, wn0 = (warp % T::kWarpsN) * T::kWN;

    const char* a = static_cast<const char*>(p.a) + batch * p.a_batch_stride * kEB;
    const char* b = static_cast<const char*>(p.b) + batch * p.b_batch_stride * kEB;
    ALoader a_loader(a, p.lda, m0, p.m, p.k, tid);
    BLoader b_loader(b, p.ldb, n0, p.n, p.k, tid);

    const uint32_t smem_base = ptx::shared_address(smem);
    auto a_stage = [&](int s) { return smem_base + s * T::kStageBytes; };
    auto b_stage = [&](int s) { return smem_base + s * T::kStageBytes + T::ATile::kBytes; };

    // k >= 1 by contract; k == 0 would simply store zeros.
    const int ktiles = static_cast<int>((p.k + kBK - 1) / kBK);

    // Prologue: stages 0 .. kStages - 2 in flight, one commit group each (empty past the last tile, so
    // that "group i holds tile i" holds throughout).
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < ktiles) {
        a_loader.load(a_stage(s), p.lda);
        b_loader.load(b_stage(s), p.ldb);
      }
      ptx::cp_async_commit();
    }

    // The tensor cores add each product into their fp32 accumulator with truncation, a bias that
    // grows with the chain length: over k = 1024 it leaves 3xTF32 no more accurate than TF32. So
    // 3xTF32 runs a fresh tensor-core chain per k tile (acc) and promotes it into `total` with an
    // ordinary rounded add; the other modes accumulate in acc alone, as cuBLAS does.
    float acc[kMT][kNT][4];
    float total[T::kSplit ? kMT : 1][T::kSplit ? kNT : 1][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.f;
    if constexpr (T::kSplit) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int i = 0; i < 4; ++i) total[mt][nt][i] = 0.f;
    }

    const FragOffsets fo = frag_offsets(lane, wm0, wn0);
    uint32_t af[2][kMT][4], bf[2][kNT][2];
    ptx::cp_async_wait<kStages - 2>();
    __syncthreads();
    if (ktiles > 0) {
      load_a(af[0], a_stage(0), fo.a, 0);
      load_b(bf[0], b_stage(0), fo.b, 0);
    }

    int read_stage = 0, write_stage = kStages - 1;
    for (int kt = 0; kt < ktiles; ++kt) {
#pragma unroll
      for (int ks = 0; ks < T::kKSteps; ++ks) {
        if (ks == 0) {
          // Refill the stage every warp finished reading before the last barrier (tile kt - 1's).
          if (kt + kStages - 1 < ktiles) {
            a_loader.load(a_stage(write_stage), p.lda);
            b_loader.load(b_stage(write_stage), p.ldb);
          }
          ptx::cp_async_commit();
          write_stage = write_stage + 1 == kStages ? 0 : write_stage + 1;
        }
        if (ks == T::kKSteps - 1) {
          // Groups committed so far: tiles 0 .. kt + kStages - 1; at most kStages - 2 pending means
          // tile kt + 1 has landed for this thread. The barrier publishes every thread's copies, and
          // retires every read of tile kt's stage (its last fragments were loaded one k-step ago)
          // before the next tile's refill overwrites it.
          ptx::cp_async_wait<kStages - 2>();
          __syncthreads();
          read_stage = read_stage + 1 == kStages ? 0 : read_stage + 1;
        }
        // Fragments of the next k-step (the next tile's first after the last) while this one computes.
        // After the last tile this reads a stale stage into registers nobody uses: cheaper than a
        // branch, which would also put the TF32 rounding under a predicate.
        const int next = (ks + 1) % T::kKSteps;
        load_a(af[(ks + 1) & 1], a_stage(read_stage), fo.a, next);
        load_b(bf[(ks + 1) & 1], b_stage(read_stage), fo.b, next);
        mma_step(acc, af[ks & 1], bf[ks & 1], ks == 0);
      }
      if constexpr (T::kSplit) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) total[mt][nt][i] += acc[mt][nt][i];
      }
    }

    if constexpr (T::kSplit) {
      bool has_nan = false;
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int i = 0; i < 4; ++i) has_nan |= total[mt][nt][i] != total[mt][nt][i];
      if (__syncthreads_or(has_nan)) {
        ptx::cp_async_wait<0>();
        store_exact_tile<kBM, kBN, T::kThreads, kAKMajor, kBKMajor, false>(p, batch, m0, n0);
        return;
      }
    }

    // The staging areas overlay the pipeline: no copies in flight, no warp still reading it.
    ptx::cp_async_wait<0>();
    __syncthreads();

    const int m_rem = static_cast<int>(p.m - m0 < kBM ? p.m - m0 : kBM);
    const int n_rem = static_cast<int>(p.n - n0 < kBN ? p.n - n0 : kBN);
    char* c_tile = static_cast<char*>(p.c) + (batch * p.c_batch_stride + m0 * p.ldc + n0) * kEB;
    const bool vector_ok = (reinterpret_cast<uintptr_t>(p.c) % 16 == 0) && (p.ldc % T::kChunkElems == 0) &&
                           (p.c_batch_stride % T::kChunkElems == 0);
    if constexpr (T::kSplit)
      epilogue(total, smem_base + warp * T::Staging::kBytes, c_tile, p.ldc, vector_ok, m_rem, n_rem, wm0, wn0, lane);
    else
      epilogue(acc, smem_base + warp * T::Staging::kBytes, c_tile, p.ldc, vector_ok, m_rem, n_rem, wm0, wn0, lane);
  }
};

}  // namespace tilekernels::bmm::mma_sm80
