#pragma once
// The bmm family's compiled tile configurations: one table, one named row each. A configuration's
// index in kTileConfigs is its id everywhere (tuned tables, explain(), the registry). Torch-free.
#include "kernels/common/math_mode.h"

namespace tilekernels::bmm {

struct TileConfig {
  const char* name;
  MathMode math;
  int block_m, block_n, block_k;  // CTA tile
  int warps_m, warps_n;           // warp grid; each warp owns (block_m / warps_m) x (block_n / warps_n)
  int stages;                     // shared-memory pipeline depth
  int group_m;                    // raster: CTAs walk group_m tile rows before moving along n (L2 reuse)
  int min_arch;                   // lowest SM architecture it may run on (e.g. 80)

  constexpr int threads() const { return 32 * warps_m * warps_n; }
  // Dynamic shared memory: the operand pipeline (the epilogue reuses it).
  constexpr int smem_bytes() const {
    return stages * (block_m + block_n) * block_k * math_mode_element_bytes(math);
  }
};

// clang-format off
inline constexpr TileConfig kTileConfigs[] = {
    // name                          math               bm   bn  bk wm wn st grp arch
    {"fp16_128x128x32_w2x2_s4",      MathMode::kFp16,   128, 128, 32, 2, 2, 4, 8, 80},
};
// clang-format on

inline constexpr int kNumTileConfigs = sizeof(kTileConfigs) / sizeof(kTileConfigs[0]);

}  // namespace tilekernels::bmm
