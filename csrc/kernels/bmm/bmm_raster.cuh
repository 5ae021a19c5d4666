#pragma once
// Which output tile a CTA of the bmm kernels computes: blockIdx.x walks one batch item's tiles in
// groups of group_m tile rows (column by column inside a group, so the A rows and B columns the
// group's CTAs share stay in L2, as Triton's GROUP_M); blockIdx.y and z number batch items, so the
// batch may exceed grid.y's 65535. Torch-free.
#include <cstdint>

namespace tilekernels::bmm {

struct TileCoord {
  int64_t batch;  // batch item; >= params.batch for the surplus CTAs of the last grid.z slice
  int64_t m0, n0;  // first row and column of the tile
};

// Grid of a launch: x = tiles per batch item, y * z >= batch. The launcher checks the limits.
template <int kBlockM, int kBlockN, int kGroupM>
__device__ __forceinline__ TileCoord tile_coord(int64_t m, int64_t n) {
  const uint32_t tiles_m = static_cast<uint32_t>((m + kBlockM - 1) / kBlockM);
  const uint32_t tiles_n = static_cast<uint32_t>((n + kBlockN - 1) / kBlockN);
  const uint32_t group_width = kGroupM * tiles_n;
  const uint32_t group = blockIdx.x / group_width;
  const uint32_t first_m = group * kGroupM;
  const uint32_t group_rows = min(tiles_m - first_m, static_cast<uint32_t>(kGroupM));
  const uint32_t in_group = blockIdx.x - group * group_width;
  TileCoord c;
  c.batch = static_cast<int64_t>(blockIdx.z) * gridDim.y + blockIdx.y;
  c.m0 = static_cast<int64_t>(first_m + in_group % group_rows) * kBlockM;
  c.n0 = static_cast<int64_t>(in_group / group_rows) * kBlockN;
  return c;
}

}  // namespace tilekernels::bmm
