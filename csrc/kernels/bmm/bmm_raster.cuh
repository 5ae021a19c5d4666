#pragma once
// Which output tile a CTA of the bmm kernels computes. Inside one batch item, tiles are numbered in
// groups of group_m tile rows, column by column inside a group, so the A rows and B columns that a
// group's CTAs share stay in L2 (as Triton's GROUP_M). Two ways to walk them:
//   * tile_coord: one tile per CTA; blockIdx.x numbers the tiles of a batch item, blockIdx.y and z the
//     batch items, so the batch may exceed grid.y's 65535;
//   * TileWalk: the tiles of all batch items in one linear order, CTA i taking tiles i, i + gridDim.x,
//     ... (persistent CTAs when the grid is smaller than the tile count); with kCtasPerTile > 1, the
//     kCtasPerTile consecutive CTAs of a cluster take each tile together (it spans their tiles).
// Torch-free.
#include <cstdint>

namespace tilekernels::bmm {

struct TileCoord {
  int64_t batch;  // batch item; >= params.batch for the surplus CTAs of the last grid.z slice
  int64_t m0, n0;  // first row and column of the tile
};

// Tile `in_batch` of batch item `batch` (of tiles_m x tiles_n tiles), in group_m raster order.
template <int kBlockM, int kBlockN, int kGroupM>
__device__ __forceinline__ TileCoord raster_tile(int64_t batch, uint32_t in_batch, uint32_t tiles_m, uint32_t tiles_n) {
  const uint32_t group_width = kGroupM * tiles_n;
  const uint32_t group = in_batch / group_width;
  const uint32_t first_m = group * kGroupM;
  const uint32_t group_rows = min(tiles_m - first_m, static_cast<uint32_t>(kGroupM));
  const uint32_t in_group = in_batch - group * group_width;
  TileCoord c;
  c.batch = batch;
  c.m0 = static_cast<int64_t>(first_m + in_group % group_rows) * kBlockM;
  c.n0 = static_cast<int64_t>(in_group / group_rows) * kBlockN;
  return c;
}

// Grid of a launch: x = tiles per batch item, y * z >= batch. The launcher checks the limits.
template <int kBlockM, int kBlockN, int kGroupM>
__device__ __forceinline__ TileCoord tile_coord(int64_t m, int64_t n) {
  const uint32_t tiles_m = static_cast<uint32_t>((m + kBlockM - 1) / kBlockM);
  const uint32_t tiles_n = static_cast<uint32_t>((n + kBlockN - 1) / kBlockN);
  const int64_t batch = static_cast<int64_t>(blockIdx.z) * gridDim.y + blockIdx.y;
  return raster_tile<kBlockM, kBlockN, kGroupM>(batch, blockIdx.x, tiles_m, tiles_n);
}

// The linear walk over batch x tiles for a one-dimensional grid. The launcher checks that the tiles
// of all batch items number at most INT_MAX, so tile indices (plus one grid) fit 32 bits. Everything is recomputed from the sizes (kernel parameters) on each call:
// the kernels that walk are short of registers, and the arithmetic is a few shifts.
template <int kBlockM, int kBlockN, int kGroupM, int kCtasPerTile = 1>
struct TileWalk {
  int64_t m, n, batch;

  __device__ __forceinline__ uint32_t tiles_m() const { return static_cast<uint32_t>((m + kBlockM - 1) / kBlockM); }
  __device__ __forceinline__ uint32_t tiles_n() const { return static_cast<uint32_t>((n + kBlockN - 1) / kBlockN); }
  __device__ __forceinline__ uint32_t total() const { return tiles_m() * tiles_n() * static_cast<uint32_t>(batch); }
  __device__ __forceinline__ uint32_t first() const { return blockIdx.x / kCtasPerTile; }
  __device__ __forceinline__ uint32_t next(uint32_t tile) const { return tile + gridDim.x / kCtasPerTile; }
  __device__ __forceinline__ TileCoord coord(uint32_t tile) const {
    const uint32_t per_batch = tiles_m() * tiles_n();
    const uint32_t item = tile / per_batch;
    return raster_tile<kBlockM, kBlockN, kGroupM>(item, tile - item * per_batch, tiles_m(), tiles_n());
  }
};

}  // namespace tilekernels::bmm
