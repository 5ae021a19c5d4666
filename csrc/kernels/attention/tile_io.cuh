#pragma once
// Global <-> shared/register movement of the attention kernels: cp.async tile loads with zero-filled
// edges, and the output stores of accumulator fragments.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

#include "kernels/attention/operand.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/cp_async_ignore_src.cuh"
#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::attention::detail {

// A value the compiler must treat as unknown (no arithmetic is folded across it).
__device__ __forceinline__ int64_t opaque(int64_t x) {
  asm("" : "+l"(x));
  return x;
}

// The cp.async copies of one thread for a [kRows][kCols] tile layout L: with kStep = kThreads / chunks
// per row, thread `tid` < kStep * chunks always copies chunk `chunk` of rows row_base, row_base + kStep,
// ...; the other threads (when the chunk count does not divide kThreads) copy nothing. Built once per
// kernel; issue() then costs an address add, a compare and the copy per chunk.
template <class L, int kThreads, typename T>
struct TileCopy {
  static constexpr int kStep = kThreads / L::kChunks;
  static constexpr int kIters = (L::kRowsN + kStep - 1) / kStep;
  static constexpr bool kAllActive = kThreads % L::kChunks == 0;
  static_assert(kStep >= 1, "a tile row has more chunks than the CTA has threads");

  int row_base;  // >= L::kRowsN for threads without copies
  int col;       // this thread's first column within the tile
  int64_t goff;  // elements from a tile's row 0, column 0 to this thread's first chunk

  __device__ __forceinline__ TileCopy(int tid, int64_t row_stride) {
    const int chunk = tid % L::kChunks;
    row_base = tid / L::kChunks;
    if (!kAllActive && row_base >= kStep) row_base = L::kRowsN;
    col = chunk * L::kChunkElems;
    goff = static_cast<int64_t>(row_base) * row_stride + col;
  }

  // Copies rows [row0, row0 + kRows) x columns [col0, col0 + kCols) of the matrix whose row 0,
  // column 0 is `base`; rows >= num_rows and columns >= num_cols read as 0.
  __device__ __forceinline__ void issue(unsigned char* tile, const T* base, int64_t row_stride, int row0,
                                        int num_rows, int col0, int num_cols) const {
    const T* src = base + static_cast<int64_t>(row0) * row_stride + col0 + goff;
    const int rows_left = num_rows - row0 - row_base;
    const int cols_left = num_cols - col0 - col;  // elements of this thread's chunk column in range
    // Opaque, so the compiler walks the rows with one 64-bit add per chunk instead of refolding
    // base + (row0 + row) * stride into a multiply per chunk.
    const int64_t step = opaque(static_cast<int64_t>(kStep) * row_stride);
    if (cols_left >= L::kChunkElems || cols_left <= 0) {
      // Whole or absent chunks (every chunk when head_dim is a multiple of 16 bytes).
      const bool col_absent = cols_left <= 0;
#pragma unroll
      for (int i = 0; i < kIters; ++i) {
        if (in_tile(i)) {
          const bool zero = col_absent || i * kStep >= rows_left;
          ptx::cp_async_16_or_zero(smem_address(tile, i), zero ? base : src, zero);
        }
        src += step;
      }
    } else {
      // The chunk that straddles num_cols: read only its valid bytes.
      const int bytes = cols_left * static_cast<int>(sizeof(T));
#pragma unroll
      for (int i = 0; i < kIters; ++i) {
        if (in_tile(i)) {
          const bool ok = i * kStep < rows_left;
          ptx::cp_async_16(smem_address(tile, i), ok ? src : base, ok ? bytes : 0);
        }
        src += step;
      }
    }
  }

 private:
  __device__ __forceinline__ bool in_tile(int i) const {
    return (kAllActive && L::kRowsN % kStep == 0) || row_base + i * kStep < L::kRowsN;
  }
  __device__ __forceinline__ uint32_t smem_address(unsigned char* tile, int i) const {
    return ptx::shared_address(tile + L::chunk_offset(row_base + i * kStep, col / L::kChunkElems));
  }
};

// Two output elements packed as the stores want them.
template <typename T>
struct OutPack;

template <>
struct OutPack<__half> {
  using Word = uint32_t;  // two elements
  __device__ __forceinline__ static Word pack(float a, float b) { return pack2<__half>(a, b); }
};
template <>
struct OutPack<__nv_bfloat16> {
  using Word = uint32_t;
  __device__ __forceinline__ static Word pack(float a, float b) { return pack2<__nv_bfloat16>(a, b); }
};
template <>
struct OutPack<float> {
  using Word = float2;
  __device__ __forceinline__ static Word pack(float a, float b) { return make_float2(a, b); }
};

__device__ __forceinline__ uint32_t shfl_xor_word(uint32_t v, int mask) { return __shfl_xor_sync(0xffffffffu, v, mask); }
__device__ __forceinline__ float2 shfl_xor_word(float2 v, int mask) {
  return make_float2(__shfl_xor_sync(0xffffffffu, v.x, mask), __shfl_xor_sync(0xffffffffu, v.y, mask));
}

// The store of a row's last 1-3 columns (head_dim not a multiple of 4), as predicated scalar stores.
template <typename T, typename Word>
__device__ __forceinline__ void store_partial(T* dst, Word w0, Word w1, int valid) {
  T e[4];
  memcpy(&e[0], &w0, sizeof(Word));
  memcpy(&e[2], &w1, sizeof(Word));
  dst[0] = e[0];
  if (valid > 1) dst[1] = e[1];
  if (valid > 2) dst[2] = e[2];
}

// Stores one accumulator row pair of n-tiles: `lo` = this lane's 2 columns of the n-tile at columns
// col0..col0+7, `hi` = of col0+8..col0+15 (lane t holds columns 2t, 2t + 1 of each). Neighbouring lanes
// (t, t ^ 1) swap one word so each lane writes 4 consecutive columns: even t writes col0 + 2t..+3, odd t
// writes col0 + 8 + 2(t - 1)..+3; a warp's store then covers whole 32-byte sectors. Every lane must
// call it (it shuffles), also for rows past the end (row_ok false).
template <typename T>
__device__ __forceinline__ void store_row_pair(T* row_ptr, bool row_ok, int col0, float lo0, float lo1, float hi0,
                                               float hi1, int t, int num_cols) {
  using Word = typename OutPack<T>::Word;
  static_assert(sizeof(Word) == 2 * sizeof(T), "a word holds two elements");
  struct alignas(2 * sizeof(Word)) Quad {
    Word w[2];
  };
  const Word wl = OutPack<T>::pack(lo0, lo1);
  const Word wh = OutPack<T>::pack(hi0, hi1);
  const bool odd = (t & 1) != 0;
  const Word recv = shfl_xor_word(odd ? wl : wh, 1);
  const int col = odd ? col0 + 8 + 2 * (t - 1) : col0 + 2 * t;
  const Word w0 = odd ? recv : wl;
  const Word w1 = odd ? wh : recv;
  if (row_ok && col + 4 <= num_cols) {
    *reinterpret_cast<Quad*>(row_ptr + col) = Quad{{w0, w1}};
  } else if (row_ok && col < num_cols) {
    store_partial<T>(row_ptr + col, w0, w1, num_cols - col);
  }
}

// Stores a warp's accumulator rows: o[mi][nt] covers rows row0 + mi * 16 + (g, g + 8) and columns
// col0 + nt * 8 + (2t, 2t + 1), each row scaled by scale[mi][hf]; rows >= num_rows and columns
// >= num_cols are skipped.
template <typename T, int kM, int kN>
__device__ __forceinline__ void store_rows(T* out, int64_t row_stride, const float (&o)[kM][kN][4],
                                           const float (&scale)[kM][2], int row0, int num_rows, int col0,
                                           int num_cols, int g, int t) {
  static_assert(kN % 2 == 0, "n-tiles go in pairs");
#pragma unroll
  for (int mi = 0; mi < kM; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int row = row0 + mi * 16 + g + 8 * hf;
      const bool row_ok = row < num_rows;
      T* row_ptr = out + static_cast<int64_t>(row_ok ? row : 0) * row_stride;
      const float f = scale[mi][hf];
#pragma unroll
      for (int np = 0; np < kN / 2; ++np) {
        store_row_pair<T>(row_ptr, row_ok, col0 + np * 16, o[mi][2 * np][2 * hf] * f, o[mi][2 * np][2 * hf + 1] * f,
                          o[mi][2 * np + 1][2 * hf] * f, o[mi][2 * np + 1][2 * hf + 1] * f, t, num_cols);
      }
    }
  }
}

}  // namespace tilekernels::attention::detail
