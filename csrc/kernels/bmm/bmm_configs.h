#pragma once
// The bmm family's compiled tile configurations: one table, one named row each. A configuration's
// index in kTileConfigs is its id everywhere (tuned tables, explain(), the registry). The kernels
// derive every template parameter from their row, so this table is the single source of truth.
// Torch-free (plain C++: host code reads it to filter by shared memory and architecture).
#include <cstdint>

#include "kernels/common/math_mode.h"

namespace tilekernels::bmm {

// Which tensor-core kernel runs a row: mma.sync (sm_80+) or Hopper wgmma (sm_90a only: its
// instructions exist in no other target, later architectures included), pipelined over k with cp.async
// (bmm_wgmma_sm90.cuh), holding a tile's whole k extent (short k, bmm_wgmma_whole_k.cuh), or fed by
// bulk tensor copies from a producer warpgroup (fp16 / bf16, bmm_wgmma_tma.cuh). kFfma rows ignore it.
enum class Engine : int { kMmaSync, kWgmma, kWgmmaWholeK, kWgmmaTma };

struct TileConfig {
  const char* name;
  MathMode math;
  int block_m, block_n, block_k;  // CTA tile; block_k counts elements (fp32 ones for tf32 modes), and
                                  // for whole-k rows is the largest k they serve
  int warps_m, warps_n;           // warp grid; each warp owns (block_m / warps_m) x (block_n / warps_n);
                                  // wgmma rows: warps_m counts all warps (4 per warpgroup), warps_n is 1
  int stages;                     // shared-memory pipeline depth
  int group_m;                    // raster: CTAs walk group_m tile rows before moving along n (L2 reuse)
  int min_arch;                   // lowest SM architecture it may run on (e.g. 80)
  int min_ctas_per_sm = 1;        // __launch_bounds__ occupancy hint: caps registers per thread
  Engine engine = Engine::kMmaSync;
  int max_arch = 1000;            // highest SM architecture it may run on
  // wgmma rows only: launch as many CTAs as fit on the GPU at once, each walking several output tiles
  // with one pipeline across them (the next tile's loads run under this tile's stores); otherwise
  // one CTA per tile.
  bool persistent = false;
  // TMA rows only: the epilogue writes the tile's outputs into shared memory and one thread per
  // warpgroup stores them with bulk tensor copies, which run while the consumers start the next tile;
  // otherwise each thread stores its accumulators to C itself.
  bool store_via_tma = false;
  // TMA rows only: CTAs per cluster along m. The cluster's CTAs compute vertically adjacent tiles,
  // which read the same B tile: each loads a 1 / cluster_m share of it and multicasts it to all.
  int cluster_m = 1;

  constexpr int threads() const { return 32 * warps_m * warps_n; }
  constexpr int element_bytes() const { return math_mode_element_bytes(math); }
  constexpr bool is_wgmma() const { return engine != Engine::kMmaSync; }
  constexpr bool holds_whole_k() const { return engine == Engine::kWgmmaWholeK; }
  constexpr bool uses_tma() const { return engine == Engine::kWgmmaTma; }
  // Whole-k rows load a tile's operands once, so they serve k <= block_k only.
  constexpr bool serves_k(int64_t k) const { return !holds_whole_k() || k <= block_k; }
  // TF32 wgmma reads its shared operand only k-contiguous, so with B n-contiguous a wgmma row computes
  // C^T = B^T A^T (bmm_instance.cuh, kernel_frame): its tile then covers block_n x block_m of C.
  // (16-bit wgmma reads either major-ness, so TMA rows run every layout as it is.)
  constexpr bool runs_transposed(bool b_k_major) const { return is_wgmma() && !uses_tma() && !b_k_major; }
};

// Shapes each row is meant for are noted beside it. Rows with min_arch 80 fit sm_89's 99 KB
// (101376-byte) per-block limit; rows that need more say min_arch 90 and are compiled (as a trap) but
// never run below it.
// clang-format off
inline constexpr TileConfig kTileConfigs[] = {
    // name                         math               bm   bn   bk wm wn st grp arch ctas/SM
    // Large GEMMs (kb3, sq4k): one CTA of eight 64x64 warps per SM.
    {"fp16_128x256x32_w2x4_s4",     MathMode::kFp16,   128, 256, 32, 2, 4, 4, 8, 80},
    {"fp16_256x128x32_w4x2_s4",     MathMode::kFp16,   256, 128, 32, 4, 2, 4, 8, 80},
    // Medium and n = 128 skinny GEMMs, odd sizes: two CTAs per SM on Hopper.
    {"fp16_128x128x32_w2x2_s4",     MathMode::kFp16,   128, 128, 32, 2, 2, 4, 8, 80},
    // Short k (qk^T with k = 64): the whole k extent in one or two stages.
    {"fp16_128x128x64_w2x2_s2",     MathMode::kFp16,   128, 128, 64, 2, 2, 2, 8, 80},
    // Narrow outputs (p @ v with n = 64) and small m.
    {"fp16_128x64x32_w2x2_s4",      MathMode::kFp16,   128,  64, 32, 2, 2, 4, 8, 80},
    {"fp16_64x128x32_w2x2_s4",      MathMode::kFp16,    64, 128, 32, 2, 2, 4, 8, 80},
    // Tiny batched matrices (64x64x64): small footprint, five CTAs per SM (<= 96 registers).
    {"fp16_64x64x32_w2x2_s3",       MathMode::kFp16,    64,  64, 32, 2, 2, 3, 8, 80, 5},

    {"bf16_128x256x32_w2x4_s4",     MathMode::kBf16,   128, 256, 32, 2, 4, 4, 8, 80},
    {"bf16_256x128x32_w4x2_s4",     MathMode::kBf16,   256, 128, 32, 4, 2, 4, 8, 80},
    {"bf16_128x128x32_w2x2_s4",     MathMode::kBf16,   128, 128, 32, 2, 2, 4, 8, 80},
    {"bf16_128x128x64_w2x2_s2",     MathMode::kBf16,   128, 128, 64, 2, 2, 2, 8, 80},
    {"bf16_128x64x32_w2x2_s4",      MathMode::kBf16,   128,  64, 32, 2, 2, 4, 8, 80},
    {"bf16_64x128x32_w2x2_s4",      MathMode::kBf16,    64, 128, 32, 2, 2, 4, 8, 80},
    {"bf16_64x64x32_w2x2_s3",       MathMode::kBf16,    64,  64, 32, 2, 2, 3, 8, 80, 5},

    // TF32: block_k counts fp32 elements (16 = two m16n8k8 steps).
    {"tf32_128x256x16_w2x4_s4",     MathMode::kTf32,   128, 256, 16, 2, 4, 4, 8, 80},
    {"tf32_128x128x16_w2x2_s4",     MathMode::kTf32,   128, 128, 16, 2, 2, 4, 8, 80},
    {"tf32_128x64x32_w2x2_s3",      MathMode::kTf32,   128,  64, 32, 2, 2, 3, 8, 80},
    {"tf32_64x64x32_w2x2_s3",       MathMode::kTf32,    64,  64, 32, 2, 2, 3, 8, 80},

    // 3xTF32: three mma per product, plus a second (promoted) accumulator: 64x32 warp tiles leave
    // registers for both and for the split operands.
    {"tf32x3_128x128x32_w2x4_s3",   MathMode::kTf32x3, 128, 128, 32, 2, 4, 3, 8, 80},
    {"tf32x3_128x128x16_w2x4_s4",   MathMode::kTf32x3, 128, 128, 16, 2, 4, 4, 8, 80},
    {"tf32x3_64x64x32_w2x2_s3",     MathMode::kTf32x3,  64,  64, 32, 2, 2, 3, 8, 80},

    // Exact fp32 on the FMA units: 8x8 outputs per thread, double-buffered (stages must be 2); two
    // 256-thread CTAs per SM (<= 128 registers).
    {"ffma_128x128x8_w2x4",         MathMode::kFfma,   128, 128,  8, 2, 4, 2, 8, 80, 2},
    {"ffma_64x64x8_w1x2",           MathMode::kFfma,    64,  64,  8, 1, 2, 2, 8, 80},

    // Hopper only (128-147 KB of shared memory): large GEMMs with half the barriers per k, and a
    // deeper 3xTF32 pipeline.
    {"fp16_128x256x64_w2x4_s3",     MathMode::kFp16,   128, 256, 64, 2, 4, 3, 8, 90},
    {"bf16_128x256x64_w2x4_s3",     MathMode::kBf16,   128, 256, 64, 2, 4, 3, 8, 90},
    {"tf32x3_128x128x32_w2x4_s4",   MathMode::kTf32x3, 128, 128, 32, 2, 4, 4, 8, 90},

    // Hopper wgmma, sm_90a only: two warpgroups of 64 rows each (warps_m = 8), A's fragments from
    // registers, B from shared memory; block_k = 32 floats = one 128-byte swizzle row. A user layout
    // with B n-contiguous runs transposed (C^T = B^T A^T), so the tile then covers block_n x block_m of
    // C. The 3xTF32 rows keep a second accumulator (promotion per k tile): 128 columns at most.
    {"wgmma_tf32_128x256x32_s4",    MathMode::kTf32,   128, 256, 32, 8, 1, 4, 8, 90, 1, Engine::kWgmma, 90},
    {"wgmma_tf32x3_128x128x32_s5",  MathMode::kTf32x3, 128, 128, 32, 8, 1, 5, 8, 90, 1, Engine::kWgmma, 90},
    // The same, persistent: one CTA per SM walking output tiles (short-k, write-bound shapes: q k^T).
    {"wgmma_tf32_128x256x32_s4_persistent",   MathMode::kTf32,   128, 256, 32, 8, 1, 4, 8, 90, 1, Engine::kWgmma, 90, true},
    {"wgmma_tf32x3_128x128x32_s5_persistent", MathMode::kTf32x3, 128, 128, 32, 8, 1, 5, 8, 90, 1, Engine::kWgmma, 90, true},
    // fp32-accurate at the fp16 tensor rate (3xFP16): each row of A and column of B scaled by a power
    // of two per output tile and split into two fp16 pieces, three m64n128k16 products per k16.
    {"wgmma_fp16x3_128x128x32_s5",  MathMode::kFp16x3, 128, 128, 32, 8, 1, 5, 8, 90, 1, Engine::kWgmma, 90},
    {"wgmma_fp16x3_128x128x32_s5_persistent", MathMode::kFp16x3, 128, 128, 32, 8, 1, 5, 8, 90, 1, Engine::kWgmma, 90, true},
    // Short k (q k^T, k <= 64), both operands k-contiguous: a tile's whole k in 64 KB of shared memory,
    // two CTAs per SM, so that one's stores of C run while the other loads.
    {"wgmma_tf32_128x128x64_whole_k", MathMode::kTf32, 128, 128, 64, 8, 1, 1, 8, 90, 2, Engine::kWgmmaWholeK, 90},

    // fp16 / bf16 on Hopper wgmma, warp-specialized: a producer warpgroup streams A and B through a
    // stages-deep ring of 128-byte-swizzled k tiles with bulk tensor copies (any layout: 16-bit wgmma
    // reads either major-ness), two consumer warpgroups of 64 rows each multiply them (SS). Persistent
    // rows walk output tiles with one ring across them.
    {"wgmma_tma_fp16_128x256x64_s4", MathMode::kFp16, 128, 256, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90},
    {"wgmma_tma_fp16_128x128x64_s6", MathMode::kFp16, 128, 128, 64, 12, 1, 6, 8, 90, 1, Engine::kWgmmaTma, 90},
    {"wgmma_tma_fp16_128x256x64_s4_persistent", MathMode::kFp16, 128, 256, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true},
    {"wgmma_tma_bf16_128x256x64_s4", MathMode::kBf16, 128, 256, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90},
    {"wgmma_tma_bf16_128x128x64_s6", MathMode::kBf16, 128, 128, 64, 12, 1, 6, 8, 90, 1, Engine::kWgmmaTma, 90},
    {"wgmma_tma_bf16_128x256x64_s4_persistent", MathMode::kBf16, 128, 256, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true},
    // The same, persistent, with the epilogue through shared memory and TMA stores (C's row stride a
    // multiple of 16 bytes), overlapped with the next tile: write-bound short k (q k^T), n = 64 (p v)
    // and n = 128 (skinny), long k. The output tile takes a stage's worth of shared memory or more.
    {"wgmma_tma_fp16_128x256x64_s3_persistent_tma_store", MathMode::kFp16, 128, 256, 64, 12, 1, 3, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_fp16_128x128x64_s6_persistent_tma_store", MathMode::kFp16, 128, 128, 64, 12, 1, 6, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_fp16_128x192x64_s4_persistent_tma_store", MathMode::kFp16, 128, 192, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_fp16_128x64x64_s8_persistent_tma_store",  MathMode::kFp16, 128,  64, 64, 12, 1, 8, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_bf16_128x256x64_s3_persistent_tma_store", MathMode::kBf16, 128, 256, 64, 12, 1, 3, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_bf16_128x128x64_s6_persistent_tma_store", MathMode::kBf16, 128, 128, 64, 12, 1, 6, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_bf16_128x192x64_s4_persistent_tma_store", MathMode::kBf16, 128, 192, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    {"wgmma_tma_bf16_128x64x64_s8_persistent_tma_store",  MathMode::kBf16, 128,  64, 64, 12, 1, 8, 8, 90, 1, Engine::kWgmmaTma, 90, true, true},
    // Clusters of two CTAs along m sharing B's tile (multicast): a third less of the L2 traffic of the
    // large GEMMs (kb3, sq4k), where the 128x256 rows are near the L2's bandwidth.
    {"wgmma_tma_fp16_128x256x64_s4_persistent_cluster2",           MathMode::kFp16, 128, 256, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true, false, 2},
    {"wgmma_tma_fp16_128x256x64_s3_persistent_tma_store_cluster2", MathMode::kFp16, 128, 256, 64, 12, 1, 3, 8, 90, 1, Engine::kWgmmaTma, 90, true, true, 2},
    {"wgmma_tma_fp16_128x192x64_s4_persistent_tma_store_cluster2", MathMode::kFp16, 128, 192, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true, true, 2},
    {"wgmma_tma_bf16_128x256x64_s4_persistent_cluster2",           MathMode::kBf16, 128, 256, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true, false, 2},
    {"wgmma_tma_bf16_128x256x64_s3_persistent_tma_store_cluster2", MathMode::kBf16, 128, 256, 64, 12, 1, 3, 8, 90, 1, Engine::kWgmmaTma, 90, true, true, 2},
    {"wgmma_tma_bf16_128x192x64_s4_persistent_tma_store_cluster2", MathMode::kBf16, 128, 192, 64, 12, 1, 4, 8, 90, 1, Engine::kWgmmaTma, 90, true, true, 2},
};
// clang-format on

inline constexpr int kNumTileConfigs = sizeof(kTileConfigs) / sizeof(kTileConfigs[0]);

// The largest per-block shared memory of the architectures we build for without Hopper-only rows
// (sm_89: 99 KB); rows above it must say min_arch >= 90.
inline constexpr int kSm89MaxSmemPerBlock = 101376;

// Each kernel computes its shared memory from its own layout (kSmemBytes); bmm_instance.cuh checks it
// against its row's min_arch and registers it, and the planner reads it from the registry.

}  // namespace tilekernels::bmm
