#pragma once
// The attention family's compiled tile configurations: one table, one named row each. A
// configuration's index in kTileConfigs is its id everywhere. Torch-free.
#include "kernels/common/math_mode.h"

namespace tilekernels::attention {

struct TileConfig {
  const char* name;
  MathMode math;
  int head_dim;      // compiled head dimension; serves every head_dim up to it
  int block_q;       // query rows per CTA
  int block_kv;      // keys per pipeline step
  int warps;         // warps per CTA
  int stages;        // K/V pipeline depth
  int min_arch;      // lowest SM architecture it may run on (e.g. 80)
  int smem_bytes;    // dynamic shared memory the kernel asks for

  constexpr int threads() const { return 32 * warps; }
};

// clang-format off
inline constexpr TileConfig kTileConfigs[] = {
    // name                        math             d    bq  bkv warps st arch smem
    {"fp16_d64_q64_kv64_w4_s2",    MathMode::kFp16, 64,  64, 64, 4,    2, 80,  (64 * 64 + 2 * 2 * 64 * 64) * 2},
};
// clang-format on

inline constexpr int kNumTileConfigs = sizeof(kTileConfigs) / sizeof(kTileConfigs[0]);

}  // namespace tilekernels::attention
