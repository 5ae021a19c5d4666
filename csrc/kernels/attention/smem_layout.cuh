#pragma once
// Shared-memory tile layouts of the attention kernels: a tile is `rows` rows of 16-byte chunks, and a
// layout maps (row, logical chunk) to a byte offset so that the warp-wide fragment loads of the
// kernels hit 32 distinct banks. Host and device share these functions (the config table sizes
// shared memory with them; the host tests check them).
#include <cstdint>

namespace tilekernels::attention::detail {

// How the tile is read, which decides the swizzle.
enum class Access : int {
  // 16-bit elements read with ldmatrix (8 consecutive rows, one 16-byte chunk each): the chunk index
  // is XORed with the row (rows of >= 8 chunks), rows of 2 or 4 chunks fold the row pair/quad into the
  // XOR, other widths pad the row to an odd number of chunks.
  kLdmatrix = 0,
  // 32-bit elements read 8 bytes at a time at (row g, word 2t) of an 8-word group, g < 8, t < 4
  // (the A and [n][k] B operands of the TF32 products): half a warp reads rows 0-3 or 4-7. Rows of a
  // multiple of 8 chunks XOR the chunk with 2 * (row % 4); rows of 4 chunks with 2 * ((row / 2) % 2).
  kPairs = 1,
  // 32-bit elements read 4 bytes at a time at (row 2t or 2t + 1, word g) of an 8-word group
  // (the [k][n] B operand, V): the rows a warp reads are 0, 2, 4, 6 (or 1, 3, 5, 7) apart.
  kColumns = 2,
  // 16-bit tiles read by wgmma as an MN-major operand with the 128-byte swizzle (V of the two-phase
  // wgmma rows): rows are cut into 128-byte segments, segment s of all rows stored together (rows
  // 128 bytes apart, the chunk XORed with row % 8), segments kRows * 128 bytes apart.
  kSegments128 = 3,
};

// Chunks between consecutive rows.
__host__ __device__ constexpr int row_stride_chunks(int chunks, Access access) {
  if (access != Access::kLdmatrix) return chunks;  // see layout_supported
  if (chunks % 8 == 0 || chunks == 4 || chunks == 2 || chunks == 1) return chunks;
  return chunks % 2 == 1 ? chunks : chunks + 1;  // odd stride: 8 consecutive rows, 8 bank groups
}

__host__ __device__ constexpr int swizzle_chunk(int row, int chunk, int chunks, Access access) {
  switch (access) {
    case Access::kLdmatrix:
      if (chunks % 8 == 0) return chunk ^ (row & 7);
      if (chunks == 4) return chunk ^ ((row >> 1) & 3);
      if (chunks == 2) return chunk ^ ((row >> 2) & 1);
      return chunk;
    case Access::kPairs:
      return chunks == 4 ? chunk ^ (((row >> 1) & 1) << 1) : chunk ^ ((row & 3) << 1);
    case Access::kColumns:
      return chunk ^ (((row >> 1) & 3) << 1);
    case Access::kSegments128:
      return chunk ^ (row & 7);  // within the segment; TileLayout places the segments
  }
  return chunk;
}

__host__ __device__ constexpr bool layout_supported(int chunks, Access access) {
  switch (access) {
    case Access::kLdmatrix: return chunks >= 1;
    case Access::kPairs: return chunks % 8 == 0 || chunks == 4;
    case Access::kColumns: return chunks % 8 == 0;
    case Access::kSegments128: return chunks % 8 == 0;
  }
  return false;
}

// A [kRows][kCols] tile of kElemBytes-byte elements.
template <int kRows, int kCols, int kElemBytes, Access kAccess>
struct TileLayout {
  static constexpr int kRowsN = kRows;
  static constexpr int kChunkElems = 16 / kElemBytes;
  static constexpr int kChunks = kCols / kChunkElems;
  static constexpr int kStride = row_stride_chunks(kChunks, kAccess);
  static constexpr int kBytes = kRows * kStride * 16;
  static_assert(kCols % kChunkElems == 0, "tile rows must be whole 16-byte chunks");
  static_assert(layout_supported(kChunks, kAccess), "no conflict-free swizzle for this row width and access");

  // Byte offset of logical chunk `chunk` of row `row`.
  __host__ __device__ static constexpr uint32_t chunk_offset(int row, int chunk) {
    if constexpr (kAccess == Access::kSegments128) {
      return static_cast<uint32_t>(((chunk / 8) * kRows + row) * 128 + swizzle_chunk(row, chunk % 8, 8, kAccess) * 16);
    } else {
      return static_cast<uint32_t>((row * kStride + swizzle_chunk(row, chunk, kChunks, kAccess)) * 16);
    }
  }
  // chunk_offset(row0 + lr, 2 * j + lc) for row0 % 8 == 0: the swizzle only sees row % 8 and the low
  // three chunk bits, so this is a lane-constant part (one of four, by j % 4) plus compile-time
  // immediates when row0 and j are; the ldmatrix loads address through it.
  __host__ __device__ static constexpr uint32_t lane_offset(int row0, int j, int lr, int lc) {
    return static_cast<uint32_t>(row0 * kStride * 16 + 128 * (j / 4)) + chunk_offset(lr, 2 * (j % 4) + lc);
  }
  // Byte offset of element (row, col).
  __host__ __device__ static constexpr uint32_t offset(int row, int col) {
    return chunk_offset(row, col / kChunkElems) + static_cast<uint32_t>((col % kChunkElems) * kElemBytes);
  }
};

}  // namespace tilekernels::attention::detail
