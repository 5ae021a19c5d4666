#pragma once
// Pieces every attention kernel shares: the CTA -> (batch * head, query tile) map, per-head pointers,
// and (common/quad.cuh) the quad reductions of the row softmax.
#include <cstdint>

#include "kernels/attention/attention_params.h"
#include "kernels/common/quad.cuh"

namespace tilekernels::attention::detail {

inline constexpr float kLog2e = 1.4426950408889634f;
inline constexpr float kLn2 = 0.6931471805599453f;

// Linear CTA index -> (bh = batch * heads_q + head, query tile). Heads are walked in groups of
// `group_heads`; inside a group the query tile is the slow index and the head the fast one, so the
// CTAs that run together share few heads (their K and V stay in L2). Causal launches walk the query
// tiles last-first: the longest CTAs (most keys) start first and the short ones fill the tail.
// The launcher keeps num_bh * num_q_tiles <= INT_MAX, so all of this fits 32-bit arithmetic.
struct TileMap {
  int64_t num_bh = 0;
  int num_q_tiles = 0;
  int group_heads = 1;
  bool reverse = false;

  __device__ __forceinline__ void tile(unsigned block, int& bh, int& q_tile) const {
    const unsigned per_group = static_cast<unsigned>(group_heads) * static_cast<unsigned>(num_q_tiles);
    const unsigned group = block / per_group;
    const unsigned r = block - group * per_group;
    const unsigned first = group * static_cast<unsigned>(group_heads);
    const unsigned left = static_cast<unsigned>(num_bh) - first;
    const unsigned heads = left < static_cast<unsigned>(group_heads) ? left : static_cast<unsigned>(group_heads);
    const unsigned q_rev = r / heads;
    bh = static_cast<int>(first + (r - q_rev * heads));
    q_tile = reverse ? num_q_tiles - 1 - static_cast<int>(q_rev) : static_cast<int>(q_rev);
  }
};

// Zeroes an array of mma accumulator fragments (four floats each), e.g. S or O before a k loop.
template <int kRows, int kCols>
__device__ __forceinline__ void zero_fragments(float (&f)[kRows][kCols][4]) {
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int c = 0; c < kCols; ++c)
#pragma unroll
      for (int i = 0; i < 4; ++i) f[r][c][i] = 0.0f;
}

struct KernelArgs {
  Params p;
  TileMap map;
  float scale_log2;  // scale * log2(e): the softmax runs in base 2
};

// Where one CTA's head lives.
template <typename T>
struct HeadPointers {
  const T* q;
  const T* k;
  const T* v;
  T* out;
  float* lse;  // this head's row 0, or null

  __device__ __forceinline__ HeadPointers(const Params& p, int bh) {
    const unsigned heads_q = static_cast<unsigned>(p.heads_q);
    const unsigned b = static_cast<unsigned>(bh) / heads_q;
    const unsigned h = static_cast<unsigned>(bh) - b * heads_q;
    const unsigned hk = h / (heads_q / static_cast<unsigned>(p.heads_kv));  // grouped-query attention
    q = static_cast<const T*>(p.q) + static_cast<int64_t>(b) * p.q_batch_stride + static_cast<int64_t>(h) * p.q_head_stride;
    k = static_cast<const T*>(p.k) + static_cast<int64_t>(b) * p.k_batch_stride +
        static_cast<int64_t>(hk) * p.k_head_stride;
    v = static_cast<const T*>(p.v) + static_cast<int64_t>(b) * p.v_batch_stride +
        static_cast<int64_t>(hk) * p.v_head_stride;
    out = static_cast<T*>(p.out) + static_cast<int64_t>(b) * p.out_batch_stride +
          static_cast<int64_t>(h) * p.out_head_stride;
    lse = p.lse == nullptr ? nullptr : p.lse + static_cast<int64_t>(bh) * p.seq_q;
  }
};

// The query tile a CTA of the kRegister kernels owns (kBQ rows) and the kBKV-key tiles it visits.
template <typename T, int kBQ, int kBKV>
struct QueryTile {
  HeadPointers<T> head;
  int seq_q, seq_k, head_dim;
  bool causal;
  int q0;         // the tile's first query row
  int num_tiles;  // key tiles over [0, kv_end), kv_end the keys the tile sees

  __device__ __forceinline__ QueryTile(const Params& p, int bh, int q_tile)
      : head(p, bh),
        seq_q(static_cast<int>(p.seq_q)),
        seq_k(static_cast<int>(p.seq_k)),
        head_dim(static_cast<int>(p.head_dim)),
        causal(p.causal),
        q0(q_tile * kBQ) {
    // Causal (top-left): row i sees keys j <= i, so this tile needs keys < q0 + kBQ only.
    const int kv_end = causal ? min(seq_k, q0 + kBQ) : seq_k;
    num_tiles = (kv_end + kBKV - 1) / kBKV;
  }
  __device__ __forceinline__ static QueryTile of_block(const KernelArgs& args) {
    int bh, q_tile;
    args.map.tile(blockIdx.x, bh, q_tile);
    return QueryTile(args.p, bh, q_tile);
  }
};

// A redo launch (Params::redo_flagged) computes only the tiles an fp16x3 launch flagged; a CTA whose
// rows [q0, q0 + block_q) lie in an unflagged kFlagRows tile returns at once.
__device__ __forceinline__ bool skips_unflagged_tile(const Params& p, int bh, int q0) {
  if (!p.redo_flagged) return false;
  const int64_t flag_tiles = (p.seq_q + kFlagRows - 1) / kFlagRows;
  return p.tile_flags[bh * flag_tiles + q0 / kFlagRows] == 0;
}

// 1 / l for the output normalisation (l >= 1 for every row that saw a key; 0 otherwise). Fast
// division: about 2 ulp, no call to the IEEE slow path.
__device__ __forceinline__ float inverse_sum(float l) { return l > 0.0f ? __fdividef(1.0f, l) : 0.0f; }


// A row max that is still -inf (every key so far masked) would turn exp2(s - max) into NaN; such a
// row subtracts 0 instead: its p are exp2(-inf) = 0 and its (zero) accumulators stay zero.
__device__ __forceinline__ float finite_max(float m) { return m == -INFINITY ? 0.0f : m; }

}  // namespace tilekernels::attention::detail
