#pragma once
// The bmm family's compiled tile configurations: one table, one named row each. A configuration's
// index in kTileConfigs is its id everywhere (tuned tables, explain(), the registry). The kernels
// derive every template parameter from their row, so this table is the single source of truth.
// Torch-free (plain C++: host code reads it to filter by shared memory and architecture).
#include "kernels/common/math_mode.h"

namespace tilekernels::bmm {

struct TileConfig {
  const char* name;
  MathMode math;
  int block_m, block_n, block_k;  // CTA tile; block_k counts elements (fp32 ones for tf32 modes)
  int warps_m, warps_n;           // warp grid; each warp owns (block_m / warps_m) x (block_n / warps_n)
  int stages;                     // shared-memory pipeline depth
  int group_m;                    // raster: CTAs walk group_m tile rows before moving along n (L2 reuse)
  int min_arch;                   // lowest SM architecture it may run on (e.g. 80)
  int min_ctas_per_sm = 1;        // __launch_bounds__ occupancy hint: caps registers per thread

  constexpr int threads() const { return 32 * warps_m * warps_n; }
  constexpr int element_bytes() const { return math_mode_element_bytes(math); }

  // The FFMA kernel pads each row of its k-by-m and k-by-n tiles by this many floats so that
  // operands transposed on their way into shared memory (k-contiguous A, k-contiguous B) are
  // stored without bank conflicts.
  static constexpr int kFfmaRowPad = 4;

  // Operand pipeline in shared memory.
  constexpr int pipeline_bytes() const {
    if (math == MathMode::kFfma) return stages * block_k * (block_m + block_n + 2 * kFfmaRowPad) * 4;
    return stages * (block_m + block_n) * block_k * element_bytes();
  }

  // Tensor-core kernels stage each warp's output tile through shared memory (reusing the pipeline)
  // for 16-byte coalesced stores. A warp stages warp_m_rows / passes rows at a time: the fewest
  // passes (a power of two dividing the warp's m16 tiles) that fit in the pipeline's bytes.
  constexpr int epilogue_passes() const {
    if (math == MathMode::kFfma) return 0;
    const int warp_m = block_m / warps_m, m16_tiles = warp_m / 16;
    int passes = 1;
    while (passes < m16_tiles && m16_tiles % (passes * 2) == 0 &&
           warps_m * warps_n * (warp_m / passes) * (block_n / warps_n) * element_bytes() > pipeline_bytes())
      passes *= 2;
    return passes;
  }
  constexpr int epilogue_bytes() const {
    if (math == MathMode::kFfma) return 0;
    return warps_m * warps_n * (block_m / warps_m / epilogue_passes()) * (block_n / warps_n) * element_bytes();
  }

  // Exactly the dynamic shared memory the kernel requests.
  constexpr int smem_bytes() const {
    return pipeline_bytes() > epilogue_bytes() ? pipeline_bytes() : epilogue_bytes();
  }
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
};
// clang-format on

inline constexpr int kNumTileConfigs = sizeof(kTileConfigs) / sizeof(kTileConfigs[0]);

// The largest per-block shared memory of the architectures we build for without Hopper-only rows
// (sm_89: 99 KB); rows above it must say min_arch >= 90.
inline constexpr int kSm89MaxSmemPerBlock = 101376;

namespace detail {
constexpr bool rows_fit_their_arch() {
  for (const TileConfig& c : kTileConfigs)
    if (c.min_arch < 90 && c.smem_bytes() > kSm89MaxSmemPerBlock) return false;
  return true;
}
}  // namespace detail
static_assert(detail::rows_fit_their_arch(), "a row with min_arch < 90 needs more than sm_89's 99 KB of smem");

}  // namespace tilekernels::bmm
