#pragma once
// Global -> shared tile copies shared by the bmm tensor-core kernels (cp.async, zero-filled edges).
// Torch-free.
#include <cstdint>

#include "kernels/ptx/cp_async.cuh"

namespace tilekernels::bmm {

// Global -> shared copies of one operand's tile of kRows rows, kRowElems contiguous elements each
// (k-contiguous operands: rows along m or n, k along the row; otherwise rows along k). Thread t copies
// chunk t % kChunks of rows t / kChunks + i * kRowStep. cp.async zero-fills whatever lies past m, n or
// k, so edge tiles need no other masking; a copy of 0 bytes reads nothing, so its (possibly
// out-of-range) source address is never dereferenced.
template <class Tile, int kRows, int kRowElems, int kElemBytes, int kThreads, int kBK, bool kKMajor>
struct TileLoader {
  static constexpr int kChunkElems = 16 / kElemBytes;
  static constexpr int kChunks = kRowElems / kChunkElems;
  static_assert(kThreads % kChunks == 0, "a thread keeps one chunk column");
  static constexpr int kRowStep = kThreads / kChunks;
  static_assert(kRows % kRowStep == 0 && kRows / kRowStep <= 32, "every thread copies the same number of rows");
  static constexpr int kIters = kRows / kRowStep;
  // Whether row0 + i * kRowStep keeps row0's swizzle, so destinations are a fixed stride apart.
  static constexpr bool kStrided = kRowStep % Tile::kRowPeriod == 0;

  // The operand's row stride `ld` is not kept: callers pass it to load() from the kernel parameters,
  // which costs no registers across the k loop.
  const char* src;          // element (row0, chunk) of the next tile to copy
  int64_t k_left;           // k elements from the next tile's start to the end of k
  uint32_t smem_off;        // Tile::offset(row0, chunk)
  int row0, chunk;
  uint32_t row_mask;  // k-contiguous: bit i set when row row0 + i * kRowStep is inside m (n)
  int mn_bytes;       // otherwise: bytes of this thread's chunk inside m (n)
  bool mn_whole;      // otherwise: every thread's mn_bytes is 0 or 16

  // `matrix` is this batch item's operand; mn0 the tile's first row (k-contiguous) or column.
  __device__ __forceinline__ TileLoader(const char* matrix, int64_t ld, int64_t mn0, int64_t mn_extent, int64_t k,
                                        int tid) {
    row0 = tid / kChunks;
    chunk = tid % kChunks;
    smem_off = Tile::offset(row0, chunk);
    k_left = k;
    row_mask = 0;
    mn_bytes = 0;
    mn_whole = true;
    if constexpr (kKMajor) {
      src = matrix + ((mn0 + row0) * ld + chunk * kChunkElems) * kElemBytes;
#pragma unroll
      for (int i = 0; i < kIters; ++i)
        if (mn0 + row0 + i * kRowStep < mn_extent) row_mask |= 1u << i;
    } else {
      src = matrix + (row0 * ld + mn0 + chunk * kChunkElems) * kElemBytes;
      const int64_t left = mn_extent - mn0 - chunk * kChunkElems;
      mn_bytes = static_cast<int>(left <= 0 ? 0 : left >= kChunkElems ? kChunkElems : left) * kElemBytes;
      mn_whole = mn_extent - mn0 >= kRowElems || (mn_extent - mn0) % kChunkElems == 0;
    }
  }

  // Issues this thread's copies of the next k tile into the tile at shared address `tile_addr`; `ld`
  // as given to the constructor.
  __device__ __forceinline__ void load(uint32_t tile_addr, int64_t ld) {
    const int k_tile = static_cast<int>(k_left < kBK ? k_left : kBK);  // valid k in this tile
    // Chunks are whole or empty unless k (k-contiguous) or this tile's m (n) extent (otherwise) stops
    // mid-chunk; ptxas then needs no per-copy size arithmetic. The test is uniform over the CTA.
    const bool whole = kKMajor ? k_tile % kChunkElems == 0 : mn_whole;
    const int64_t row_step_bytes = static_cast<int64_t>(kRowStep) * ld * kElemBytes;
    if (whole)
      copy_rows<true>(tile_addr, k_tile, row_step_bytes);
    else
      copy_rows<false>(tile_addr, k_tile, row_step_bytes);
    src += kKMajor ? static_cast<int64_t>(kBK) * kElemBytes : static_cast<int64_t>(kBK) * ld * kElemBytes;
    k_left -= kBK;
  }

  template <bool kWhole>
  __device__ __forceinline__ void copy_rows(uint32_t tile_addr, int k_tile, int64_t row_step_bytes) const {
    int col_bytes;  // bytes of this thread's chunk inside the matrix, for rows inside it
    if constexpr (kKMajor) {
      const int left = k_tile - chunk * kChunkElems;
      col_bytes = (left <= 0 ? 0 : left >= kChunkElems ? kChunkElems : left) * kElemBytes;
    } else {
      col_bytes = mn_bytes;
    }
    const char* from = src;
#pragma unroll
    for (int i = 0; i < kIters; ++i) {
      const int row = row0 + i * kRowStep;
      const bool row_in = kKMajor ? ((row_mask >> i) & 1u) != 0 : row < k_tile;
      int bytes;
      if constexpr (kWhole)
        bytes = row_in && col_bytes != 0 ? 16 : 0;
      else
        bytes = row_in ? col_bytes : 0;
      const uint32_t dst = kStrided ? smem_off + i * kRowStep * Tile::kRowPitch : Tile::offset(row, chunk);
      ptx::cp_async_16(tile_addr + dst, from, bytes);
      from += row_step_bytes;
    }
  }
};

}  // namespace tilekernels::bmm
