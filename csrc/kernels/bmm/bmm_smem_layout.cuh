#pragma once
// Shared-memory layout of the tensor-core bmm's tiles: rows of 16-byte chunks, XOR-swizzled so that
// cp.async stores, ldmatrix, 128-bit fragment loads and the epilogue's staging are bank-conflict free.
// Host-callable, so the index math can be checked off the GPU.
#include <cstdint>

namespace tilekernels::bmm {

// Chunk-slot permutation of a 128-byte line, by row % 8: slot' = slot ^ line_swizzle(row % 8).
// ldmatrix reads one chunk of eight consecutive rows, so any permutation of the rows would do; this
// one, (b1, b0, b0 ^ b2) for row bits (b2, b1, b0), also gives distinct slots to the tf32 fragment
// loads, whose quarter-warps read four rows (k, k+1, k+2, k+3) at two chunks one or two slots apart,
// and to the staging of fp32 accumulators (two rows per quarter-warp, four chunks each).
__host__ __device__ constexpr int line_swizzle(int row) {
  return ((row & 2) << 1) | ((row & 1) << 1) | ((row & 1) ^ ((row >> 2) & 1));
}

// A kRows x kRowBytes tile. Rows of 64 bytes pair up in 128-byte lines (slot = (row & 1) * 4 + chunk,
// XORed with the line index, so eight consecutive rows hit eight slots). Wider rows are cut into
// 128-byte panels, each stored as its own kRows x 128-byte block; odd panels also XOR the slot with 2
// so that quarter-warps writing four chunks spread over two panels stay conflict-free.
template <int kRows, int kRowBytes>
struct SwizzledTile {
  static_assert(kRowBytes == 64 || kRowBytes % 128 == 0, "tile rows must be 64 bytes or a multiple of 128");
  static constexpr int kBytes = kRows * kRowBytes;
  static constexpr int kChunksPerRow = kRowBytes / 16;
  // Bytes between rows inside a panel, and the row period of the swizzle: for d a multiple of
  // kRowPeriod, offset(row + d, chunk) == offset(row, chunk) + d * kRowPitch.
  static constexpr int kRowPitch = kRowBytes == 64 ? 64 : 128;
  static constexpr int kRowPeriod = kRowBytes == 64 ? 16 : 8;

  // Byte offset of the 16-byte chunk `chunk` of row `row`.
  __host__ __device__ static constexpr uint32_t offset(int row, int chunk) {
    if constexpr (kRowBytes == 64) {
      const int line = row >> 1;
      const int slot = ((row & 1) << 2) | chunk;
      return static_cast<uint32_t>(line * 128 + ((slot ^ (line & 7)) << 4));
    } else {
      const int panel = chunk >> 3;
      const int slot = (chunk & 7) ^ line_swizzle(row & 7) ^ ((panel & 1) << 1);
      return static_cast<uint32_t>(panel * (kRows * 128) + row * 128 + (slot << 4));
    }
  }
};

// The wgmma kernel's shared operand: kRows rows of 128 bytes in the hardware's 128-byte swizzle
// (chunk c of row r in slot c ^ (r % 8)), the layout a wgmma descriptor names; 1024-byte aligned.
template <int kRows>
struct Swizzle128Tile {
  static constexpr int kBytes = kRows * 128;
  static constexpr int kRowPitch = 128;
  static constexpr int kRowPeriod = 8;
  __host__ __device__ static constexpr uint32_t offset(int row, int chunk) {
    return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4));
  }
};

// The wgmma kernel's register operand, staged as kRows rows of kRowBytes padded by kPadBytes: the
// padding spreads the scalar fragment loads of a quarter-warp (four rows, or four k at eight rows)
// over distinct banks.
template <int kRows, int kRowBytes, int kPadBytes>
struct PaddedTile {
  static constexpr int kRowPitch = kRowBytes + kPadBytes;
  static constexpr int kBytes = kRows * kRowPitch;
  static constexpr int kRowPeriod = 1;
  __host__ __device__ static constexpr uint32_t offset(int row, int chunk) {
    return static_cast<uint32_t>(row * kRowPitch + chunk * 16);
  }
};

}  // namespace tilekernels::bmm
