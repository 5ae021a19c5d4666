#pragma once
// TF32, 3xTF32 and 3xFP16 bmm for Hopper (sm_90a): wgmma with A's fragments in registers and B in
// swizzled shared memory, fed by a cp.async pipeline. Each k tile of B is converted in place by the
// whole CTA (rounded to TF32, split into big + small halves, or scaled and split into two fp16
// pieces) before its wgmma read it, while the previous tile's wgmma still run. TF32 wgmma reads a
// shared operand only k-contiguous, so the launcher runs a B that is n-contiguous as
// C^T = B^T A^T (kCTransposed): B^T becomes the register operand and the k-contiguous A^T the shared
// one. README.md in this folder has the pipeline.
// Torch-free.
#include <cstdint>
#include <type_traits>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_exact_tile.cuh"
#include "kernels/bmm/bmm_fp16_pieces.cuh"
#include "kernels/bmm/bmm_params.h"
#include "kernels/bmm/bmm_raster.cuh"
#include "kernels/bmm/bmm_smem_layout.cuh"
#include "kernels/bmm/bmm_tile_loader.cuh"
#include "kernels/bmm/bmm_wgmma_store.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ld_shared.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/st_shared.cuh"
#include "kernels/bmm/bmm_tf32_operand.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::bmm::wgmma_sm90 {

// kAKMajor: the register operand A (the user's A, or B^T when kCTransposed) is k-contiguous.
template <int kConfig, bool kAKMajor, bool kCTransposed>
struct Kernel {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  static constexpr bool kSplit = kCfg.math == MathMode::kTf32x3;
  static constexpr bool kPieces = kCfg.math == MathMode::kFp16x3;
  // fp32-accurate rows run a fresh tensor-core chain per k tile and promote it into a second
  // accumulator. 3xFP16 keeps each row's scale for the whole output tile, so its chains add unscaled.
  static constexpr bool kPromote = kSplit || kPieces;
  static constexpr int kBM = kCfg.block_m, kBN = kCfg.block_n, kBK = kCfg.block_k;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kStages = kCfg.stages;
  static constexpr int kAccRegs = kBN / 2;  // a warpgroup's 64 x kBN fp32 tile over 128 threads
  static constexpr int kKSteps = kBK / 8;
  static constexpr int kK16Steps = kBK / 16;  // 3xFP16
  // Floats padding each k row of an m-contiguous register operand: a quarter-warp's fragment loads
  // read k = t, t + 4 (TF32: k8 layout) or k = 2t (fp16 pieces: k16 layout) at eight rows, which
  // distinct banks need rows 8 or 4 banks apart.
  static constexpr int kAMMajorPad = kPieces ? 4 : 8;
  // Per stage, the register operand's tile padded for conflict-free fragment loads (rows of kBK + 4
  // floats if k-contiguous, else kBK rows of kBM + kAMMajorPad), in 1024-byte units so that the shared
  // operand's 128-byte-swizzled tile (kBN rows of kBK floats) beside it stays aligned to its period.
  static constexpr int kAKMajorBytes = kBM * (kBK + 4) * 4, kAMMajorBytes = kBK * (kBM + kAMMajorPad) * 4;
  static constexpr int kAStageBytes = ((kAKMajorBytes > kAMMajorBytes ? kAKMajorBytes : kAMMajorBytes) + 1023) / 1024 * 1024;
  static constexpr int kBStageBytes = kBN * kBK * 4;
  static constexpr int kStageBytes = kBStageBytes + kAStageBytes;  // B first: 1024-byte aligned
  // With five or more stages, convert B one k tile ahead (one barrier per tile, run()); 3xTF32 then
  // rotates three small-half tiles instead of two.
  static constexpr bool kConvertAhead = kStages >= 5;
  static constexpr int kSmallTiles = !kSplit ? 0 : kConvertAhead ? 3 : 2;
  // 3xFP16 converts each B stage in place into its fp16 pieces, scaling each of B's kBN rows by a
  // power of two per output tile; it keeps their inverses for two output tiles (the next one's are
  // written while the current one computes).
  static constexpr int kScaleBytes = kPieces ? 2 * kBN * 4 : 0;
  static constexpr int kSmemBytes = kStages * kStageBytes + kSmallTiles * kBStageBytes + kScaleBytes;

  // A is staged k-contiguous (rows of m) or m-contiguous (rows of k), padded; B as rows of n.
  using ATile = PaddedTile<kAKMajor ? kBM : kBK, (kAKMajor ? kBK : kBM) * 4,
                           kAKMajor ? 16 : kAMMajorPad * 4>;
  using BTile = Swizzle128Tile<kBN>;
  using ALoader = TileLoader<ATile, kAKMajor ? kBM : kBK, kAKMajor ? kBK : kBM, 4, kThreads, kBK, kAKMajor>;
  using BLoader = TileLoader<BTile, kBN, kBK, 4, kThreads, kBK, true>;

  static_assert(kCfg.is_wgmma() && (kCfg.math == MathMode::kTf32 || kPromote), "wgmma rows are TF32, 3xTF32 or 3xFP16");
  static_assert(!kPieces || (kBN == 128 && kConvertAhead), "3xFP16 rows: m64n128k16, B converted one k tile ahead");
  static_assert(kCfg.warps_n == 1 && kBM == 64 * (kThreads / 128), "one warpgroup per 64 rows of the tile");
  static_assert(kBK * 4 == 128, "a k tile is one 128-byte swizzle row of B");
  static_assert((kBN == 128 || kBN == 256) && kBStageBytes == BTile::kBytes, "one m64n128 or m64n256 wgmma per k8");
  static_assert(ATile::kBytes <= kAStageBytes && kAStageBytes % 1024 == 0, "A's stage holds its tile, aligned");
  static_assert(kStages >= 3, "a stage is refilled two k tiles after its wgmma were issued");

  // One k tile of this thread's A fragments (the mma.m16n8k8 layout: rows g, g + 8 of its warp's 16,
  // k t, t + 4 of each k8 step), rounded (TF32) or split (3xTF32).
  struct Tf32Fragments {
    uint32_t big[kKSteps][4];
    uint32_t small[kSplit ? kKSteps : 1][4];
  };
  // 3xFP16: per k16 step the mma.m16n8k16 A fragment (rows g, g + 8; k 2t, 2t + 1 and 2t + 8, 2t + 9)
  // of both pieces.
  struct PieceFragments {
    uint32_t hi[kK16Steps][4];
    uint32_t lo[kK16Steps][4];
  };
  using Fragments = std::conditional_t<kPieces, PieceFragments, Tf32Fragments>;

  // Byte offset in an A stage of element (row r, k) relative to the thread's (wgmma_fragment_row(), t).
  static __device__ __forceinline__ constexpr uint32_t a_delta(int r, int k) {
    return kAKMajor ? r * ATile::kRowPitch + k * 4 : k * ATile::kRowPitch + r * 4;
  }

  static __device__ __forceinline__ void load_fragments(Tf32Fragments& f, uint32_t a_tile) {
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint32_t x = ptx::ld_shared_b32(a_tile + a_delta((i & 1) * 8, ks * 8 + (i >> 1) * 4));
        if constexpr (kSplit)
          split_operand(x, f.big[ks][i], f.small[ks][i]);
        else
          f.big[ks][i] = tf32_operand(x);
      }
  }

  // 3xFP16: the thread's fragment elements of one k tile (k-contiguous pairs in one load), rows g and
  // g + 8 scaled by scale[0] and scale[1]; an output tile's first k tile sets them (piece_scale of the
  // largest magnitude over the quad's 32 elements of the row).
  static __device__ __forceinline__ void load_fragments(PieceFragments& f, uint32_t a_tile, PieceScale (&scale)[2],
                                                        bool first) {
    float x[kK16Steps][4][2];
#pragma unroll
    for (int ks = 0; ks < kK16Steps; ++ks)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint32_t at = a_tile + a_delta((i & 1) * 8, ks * 16 + (i >> 1) * 8);
        uint32_t v[2];
        if constexpr (kAKMajor) {
          ptx::ld_shared_v2(v, at);
        } else {
          v[0] = ptx::ld_shared_b32(at);
          v[1] = ptx::ld_shared_b32(at + a_delta(0, 1));
        }
#pragma unroll
        for (int e = 0; e < 2; ++e) x[ks][i][e] = __uint_as_float(v[e]);
      }
    if (first) {
      float row_max[2] = {0.f, 0.f};
#pragma unroll
      for (int ks = 0; ks < kK16Steps; ++ks)
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int e = 0; e < 2; ++e) row_max[i & 1] = fmaxf(row_max[i & 1], fabsf(x[ks][i][e]));
#pragma unroll
      for (int h = 0; h < 2; ++h) scale[h] = piece_scale(quad_max(row_max[h]));
    }
#pragma unroll
    for (int ks = 0; ks < kK16Steps; ++ks)
#pragma unroll
      for (int i = 0; i < 4; ++i) split_pieces(x[ks][i][0], x[ks][i][1], scale[i & 1].scale, f.hi[ks][i], f.lo[ks][i]);
  }

  // 3xFP16: splits a B stage (rows of 32 fp32 k in the 128-byte swizzle) in place into its fp16
  // pieces. Each eight-row group (1 KB) becomes hi's eight 64-byte rows followed by lo's, both in the
  // 64-byte swizzle: wgmma's K-major layout with groups 1 KB apart. One warp converts a whole group
  // (four lanes per row, eight k each) and reads all of it before any lane writes. The rows' scales
  // are set at an output tile's first k tile (`first`), kept in `scale` (this thread's rows), and their
  // inverses written to `inverses` for the epilogue.
  static constexpr int kBGroupsPerWarp = kBN / (8 * (kThreads / 32));
  static constexpr uint32_t kPieceGroupBytes = 1024;  // an eight-row group: 8 x 128 fp32 bytes in place
  static constexpr uint32_t kLoRowsOffset = 512;      // lo's eight 64-byte rows follow hi's
  static __device__ __forceinline__ void convert_b_pieces(uint32_t b_tile, float (&scale)[kBGroupsPerWarp],
                                                          uint32_t inverses, bool first) {
    constexpr int kWarps = kThreads / 32;
    static_assert(kBN % (8 * kWarps) == 0, "eight-row groups spread evenly over the warps");
    const int lane = threadIdx.x & 31, r8 = lane >> 2, q = lane & 3;
#pragma unroll
    for (int i = 0; i < kBGroupsPerWarp; ++i) {
      const int group = i * kWarps + (threadIdx.x >> 5);
      const uint32_t base = b_tile + group * kPieceGroupBytes;
      uint32_t v[2][4];
      ptx::ld_shared_v4(v[0], base + BTile::offset(r8, 2 * q));
      ptx::ld_shared_v4(v[1], base + BTile::offset(r8, 2 * q + 1));
      if (first) {
        float m = 0.f;
#pragma unroll
        for (int e = 0; e < 8; ++e) m = fmaxf(m, fabsf(__uint_as_float(v[e / 4][e % 4])));
        const PieceScale s = piece_scale(quad_max(m));
        scale[i] = s.scale;
        if (q == 0) ptx::st_shared_b32(inverses + (group * 8 + r8) * 4, __float_as_uint(s.inverse));
      }
      uint32_t hi[4], lo[4];
#pragma unroll
      for (int j = 0; j < 4; ++j)
        split_pieces(__uint_as_float(v[j / 2][(j % 2) * 2]), __uint_as_float(v[j / 2][(j % 2) * 2 + 1]), scale[i],
                     hi[j], lo[j]);
      __syncwarp();
      const uint32_t row = base + r8 * 64 + ((q ^ ((r8 >> 1) & 3)) << 4);
      ptx::st_shared_v4(row, hi[0], hi[1], hi[2], hi[3]);
      ptx::st_shared_v4(row + kLoRowsOffset, lo[0], lo[1], lo[2], lo[3]);
    }
  }

  // Rounds a B stage to TF32 in place, or splits it: big in place, small into `small_tile` (as
  // load_fragments splits A; measured: leaving big = x for the tensor cores to truncate, and storing
  // only small, saves no time and doubles the error). The conversion is elementwise, so it walks the
  // stage's 16-byte chunks linearly, swizzle or not.
  static __device__ __forceinline__ void convert_b(uint32_t b_tile, uint32_t small_tile) {
    constexpr int kChunks = kBStageBytes / 16;
    static_assert(kChunks % kThreads == 0, "B chunks spread evenly over the threads");
    // 3xTF32 converts under the running wgmma, with its accumulators and a fragment buffer live:
    // fully unrolled there, the conversion's temporaries push the persistent rows past 255 registers.
#pragma unroll(kSplit ? 2 : kChunks / kThreads)
    for (int i = 0; i < kChunks / kThreads; ++i) {
      const uint32_t off = (i * kThreads + threadIdx.x) * 16;
      uint32_t v[4], big[4], small[4];
      ptx::ld_shared_v4(v, b_tile + off);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if constexpr (kSplit)
          split_operand(v[e], big[e], small[e]);
        else
          big[e] = tf32_operand(v[e]);
      }
      ptx::st_shared_v4(b_tile + off, big[0], big[1], big[2], big[3]);
      if constexpr (kSplit) ptx::st_shared_v4(small_tile + off, small[0], small[1], small[2], small[3]);
    }
  }

  static __device__ __forceinline__ void keep(Tf32Fragments& f) {
    ptx::wgmma_keep(f.big);
    if constexpr (kSplit) ptx::wgmma_keep(f.small);
  }

  static __device__ __forceinline__ void keep(PieceFragments& f) {
    ptx::wgmma_keep(f.hi);
    ptx::wgmma_keep(f.lo);
  }

  static __device__ __forceinline__ void mma(float (&acc)[kAccRegs], const uint32_t (&a)[4], uint64_t b_desc,
                                             int scale_d) {
    if constexpr (kBN == 256)
      ptx::wgmma_m64n256k8_tf32_rs(acc, a, b_desc, scale_d);
    else
      ptx::wgmma_m64n128k8_tf32_rs(acc, a, b_desc, scale_d);
  }

  // The k tile's wgmma: 3xTF32 as small_a * big_b + big_a * small_b + big_a * big_b, small products
  // first; `restart` begins a fresh tensor-core chain (scale_d = 0 at its first product).
  static __device__ __forceinline__ void issue(float (&acc)[kAccRegs], const Tf32Fragments& f, uint32_t b_tile,
                                               uint32_t small_tile, bool restart) {
    const uint64_t big_desc = ptx::wgmma_sw128_desc(b_tile);
    const uint64_t small_desc = ptx::wgmma_sw128_desc(small_tile);
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks) {
      const uint64_t step = (ks * 32) >> 4;  // k8 steps are 32 bytes on (descriptors count 16 bytes)
      if constexpr (kSplit) {
        mma(acc, f.small[ks], big_desc + step, restart && ks == 0 ? 0 : 1);
        mma(acc, f.big[ks], small_desc + step, 1);
        mma(acc, f.big[ks], big_desc + step, 1);
      } else {
        mma(acc, f.big[ks], big_desc + step, 1);
      }
    }
  }

  // 3xFP16: lo_a * hi_b + hi_a * lo_b + hi_a * hi_b per k16 step, in a fresh chain.
  static __device__ __forceinline__ void issue(float (&acc)[kAccRegs], const PieceFragments& f, uint32_t b_tile,
                                               uint32_t, bool) {
#pragma unroll
    for (int ks = 0; ks < kK16Steps; ++ks) {
      const uint64_t hi_desc = ptx::wgmma_sw64_desc(b_tile + ks * 32, kPieceGroupBytes);
      const uint64_t lo_desc = ptx::wgmma_sw64_desc(b_tile + kLoRowsOffset + ks * 32, kPieceGroupBytes);
      ptx::wgmma_m64k16_f16_rs<kBN, false, 0>(acc, f.lo[ks], hi_desc, ks == 0 ? 0 : 1);
      ptx::wgmma_m64k16_f16_rs<kBN, false, 0>(acc, f.hi[ks], lo_desc, 1);
      ptx::wgmma_m64k16_f16_rs<kBN, false, 0>(acc, f.hi[ks], hi_desc, 1);
    }
  }

  // 3xFP16: the output tile's sums back from scaled units: times the inverse scales of A's rows g,
  // g + 8 and of B's rows (`b_inverses`), powers of two (their product first: each alone may overflow).
  static __device__ __forceinline__ void unscale(float (&total)[kAccRegs], const PieceScale (&a_scale)[2],
                                                 uint32_t b_inverses) {
    const uint32_t col_inverses = b_inverses + (threadIdx.x & 3) * 8;
#pragma unroll
    for (int j = 0; j < kBN / 8; ++j) {
      uint32_t b_inverse[2];
      ptx::ld_shared_v2(b_inverse, col_inverses + j * 32);
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int e = 0; e < 2; ++e) total[4 * j + 2 * h + e] *= a_scale[h].inverse * __uint_as_float(b_inverse[e]);
    }
  }

  using Walk = TileWalk<kBM, kBN, kCfg.group_m>;

  // The producer side of the pipeline: the next k tile this CTA copies, which runs ahead of the
  // computation across tile boundaries, so the first k tiles of a CTA's next output tile are in flight
  // while it stores the current one (what short-k, write-bound shapes such as q k^T need).
  struct Feed {
    ALoader a_loader;
    BLoader b_loader;
    uint32_t tile;  // >= walk.total() once the CTA's last k tile has been issued

    static __device__ __forceinline__ ALoader a_for(const Params& p, const TileCoord& c) {
      return ALoader(static_cast<const char*>(p.a) + c.batch * p.a_batch_stride * 4, p.lda, c.m0, p.m, p.k,
                     threadIdx.x);
    }
    static __device__ __forceinline__ BLoader b_for(const Params& p, const TileCoord& c) {
      return BLoader(static_cast<const char*>(p.b) + c.batch * p.b_batch_stride * 4, p.ldb, c.n0, p.n, p.k,
                     threadIdx.x);
    }
    // `first`: the coordinates of the walk's first tile for this CTA.
    __device__ __forceinline__ Feed(const Params& p, const Walk& walk, const TileCoord& first)
        : a_loader(a_for(p, first)), b_loader(b_for(p, first)), tile(p.k > 0 ? walk.first() : walk.total()) {}

    // Issues this thread's copies of the next k tile into the given stage (nothing past the last).
    __device__ __forceinline__ void load(uint32_t a_addr, uint32_t b_addr, const Params& p, const Walk& walk) {
      if (tile >= walk.total()) return;
      a_loader.load(a_addr, p.lda);
      b_loader.load(b_addr, p.ldb);
      if (b_loader.k_left > 0) return;  // more k tiles of this output tile
      tile = walk.next(tile);
      if (tile < walk.total()) {
        const TileCoord c = walk.coord(tile);
        a_loader = a_for(p, c);
        b_loader = b_for(p, c);
      }
    }
  };

  // Position in the shared-memory rings of this CTA's running k-tile count: its pipeline stage and,
  // for 3xTF32, its small-half tile of B.
  struct Ring {
    int stage = 0, small = 0;
    static __device__ __forceinline__ int wrap(int i, int n) { return i >= n ? i - n : i; }
    __device__ __forceinline__ Ring next() const {
      Ring r;
      r.stage = wrap(stage + 1, kStages);
      r.small = kSmallTiles > 0 ? wrap(small + 1, kSmallTiles) : 0;
      return r;
    }
  };

  // Walks the CTA's output tiles (one, or with a persistent grid several); the k tiles of all of them
  // form one pipeline.
  static __device__ __forceinline__ void run(const Params& p) {
    extern __shared__ __align__(1024) uint8_t smem[];
    const Walk walk{p.m, p.n, p.batch};
    if (walk.first() >= walk.total()) return;

    const int ktiles = static_cast<int>((p.k + kBK - 1) / kBK);
    Feed feed(p, walk, walk.coord(walk.first()));
    const uint32_t smem_base = ptx::shared_address(smem);
    auto b_stage = [&](int s) { return smem_base + s * kStageBytes; };
    auto a_stage = [&](int s) { return smem_base + s * kStageBytes + kBStageBytes; };
    // 3xTF32's small halves of B, rotating over kSmallTiles k tiles: a tile's conversion writes its
    // small half while the wgmma of the tile before (two: with kConvertAhead) still read theirs.
    auto small_tile = [&](int i) { return smem_base + kStages * kStageBytes + i * kBStageBytes; };
    // 3xFP16: the scales of this thread's rows of A (fragments) and B (conversion) for the output tile
    // being loaded, and the inverses of B's, one array per output-tile parity.
    PieceScale a_scale[2];
    float b_scale[kPieces ? kBGroupsPerWarp : 1];
    auto b_inverses = [&](int parity) {
      return smem_base + kStages * kStageBytes + kSmallTiles * kBStageBytes + parity * kBN * 4;
    };
    // `first`: the stage holds an output tile's first k tile (3xFP16 then sets that tile's scales).
    auto convert = [&](int s, int small, bool first, int inverses_parity) {
      if constexpr (kPieces)
        convert_b_pieces(b_stage(s), b_scale, b_inverses(inverses_parity), first);
      else
        convert_b(b_stage(s), small_tile(small));
    };
    int tile_parity = 0;  // of the output tile being computed (a CTA's first is 0)
    // This thread's first fragment element (wgmma_fragment_row(), k = t; 3xFP16: k = 2t) in an A stage.
    const uint32_t frag_off = a_delta(wgmma_fragment_row(), (threadIdx.x & 3) * (kPieces ? 2 : 1));

    // Prologue: k tiles 0 .. kStages - 3 in flight, one commit group each; k tile i then refills the
    // stage of k tile i - 2, so commit group i always holds k tile i (counted over the CTA's tiles).
#pragma unroll
    for (int s = 0; s < kStages - 2; ++s) {
      feed.load(a_stage(s), b_stage(s), p, walk);
      ptx::cp_async_commit();
    }

    // With kConvertAhead, each k tile converts the next one's B right after issuing its own wgmma, so
    // one barrier per k tile publishes both the next tile's copies and its conversion; that needs the
    // next tile landed one k tile earlier, hence a stage more. Otherwise k tile i converts its own B
    // between two barriers.
    if constexpr (kConvertAhead) {
      ptx::cp_async_wait<kStages - 3>();
      __syncthreads();
      if (ktiles > 0) convert(0, 0, true, 0);
      ptx::fence_proxy_async_shared();
    }

    // As in the mma_sm80 kernel, 3xTF32 runs a fresh tensor-core chain per k tile (acc) and promotes
    // it into `total` with rounded adds: the tensor cores' truncating accumulation would otherwise
    // cost it its accuracy over long k (measured: a chain of two tiles already doubles the error).
    float acc[kAccRegs];
    float total[kPromote ? kAccRegs : 1];
    auto promote = [&]() {
      if constexpr (kPromote) {
#pragma unroll
        for (int i = 0; i < kAccRegs; ++i) total[i] += acc[i];
      }
    };

    Ring ring;
    Fragments frag[2];
    // k tile kt of the current output tile; `parity` = kt % 2, a constant so fragments stay in
    // registers (each output tile starts at parity 0: its predecessor's wgmma have all retired).
    auto k_tile = [&](int kt, auto parity) {
      constexpr int kP = decltype(parity)::value;
      const Ring next = ring.next();
      // This k tile (kConvertAhead: the next one) has landed for this thread; the barrier publishes
      // every thread's copies (and conversions), and retires every warpgroup's use of the k tile two
      // before, whose wgmma each warpgroup waited for during the one before.
      ptx::cp_async_wait<kConvertAhead ? kStages - 4 : kStages - 3>();
      __syncthreads();
      const int refill = Ring::wrap(ring.stage + kStages - 2, kStages);
      feed.load(a_stage(refill), b_stage(refill), p, walk);
      ptx::cp_async_commit();
      if constexpr (!kConvertAhead) {
        convert(ring.stage, ring.small, kt == 0, tile_parity);
        ptx::fence_proxy_async_shared();  // the converted B is read by wgmma (the async proxy)
        __syncthreads();
      }
      if constexpr (kPieces)
        load_fragments(frag[kP], a_stage(ring.stage) + frag_off, a_scale, kt == 0);
      else
        load_fragments(frag[kP], a_stage(ring.stage) + frag_off);
      if constexpr (kPromote) {
        // The previous k tile's chain must finish before the promotion reads it and this one restarts it.
        ptx::wgmma_wait<0>();
        ptx::wgmma_keep(acc);
        keep(frag[kP ^ 1]);
        if (kt > 0) promote();
      }
      ptx::wgmma_keep(acc);
      ptx::wgmma_fence();
      issue(acc, frag[kP], b_stage(ring.stage), small_tile(ring.small), kPromote);
      ptx::wgmma_commit();
      if constexpr (!kPromote) {
        ptx::wgmma_wait<1>();  // the previous k tile's wgmma are done with their fragments and B stage
        keep(frag[kP ^ 1]);
      }
      if constexpr (kConvertAhead) {
        // The next k tile's small half reuses that of the k tile two before, retired by every
        // warpgroup before the barrier. After the CTA's last k tile this converts a stage no copy
        // fills and no wgmma reads: harmless, and cheaper in registers than knowing it is the last.
        const bool next_first = kt + 1 == ktiles;  // the next k tile starts the next output tile
        convert(next.stage, next.small, next_first, tile_parity ^ (next_first ? 1 : 0));
        ptx::fence_proxy_async_shared();
      }
      ring = next;
    };

    for (uint32_t tile = walk.first(); tile < walk.total(); tile = walk.next(tile)) {
#pragma unroll
      for (int i = 0; i < kAccRegs; ++i) {
        acc[i] = 0.f;
        if constexpr (kPromote) total[i] = 0.f;
      }
      for (int kt = 0; kt < ktiles; kt += 2) {
        k_tile(kt, std::integral_constant<int, 0>{});
        if (kt + 1 < ktiles) k_tile(kt + 1, std::integral_constant<int, 1>{});
      }
      ptx::wgmma_wait<0>();
      ptx::wgmma_keep(acc);
      keep(frag[0]);
      keep(frag[1]);

      const TileCoord c = walk.coord(tile);  // computed here: registers are scarce during the k loop
      if constexpr (kPromote) {
        promote();
        if constexpr (kPieces) unscale(total, a_scale, b_inverses(tile_parity));
        bool has_nan = false;
#pragma unroll
        for (int i = 0; i < kAccRegs; ++i) has_nan |= total[i] != total[i];
        if (__syncthreads_or(has_nan))
          store_exact_tile<kBM, kBN, kThreads, kAKMajor, true, kCTransposed>(p, c.batch, c.m0, c.n0);
        else
          store_wgmma_tile<kBM, kBN, kCTransposed>(total, p, c.batch, c.m0, c.n0);
        tile_parity ^= 1;
      } else {
        store_wgmma_tile<kBM, kBN, kCTransposed>(acc, p, c.batch, c.m0, c.n0);
      }
    }
    ptx::cp_async_wait<0>();
  }
};

}  // namespace tilekernels::bmm::wgmma_sm90
