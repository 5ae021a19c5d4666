#pragma once
// The only thing attention kernels see: plain pointers, sizes and strides (in elements). Torch-free.
#include <cstdint>

#include "kernels/common/math_mode.h"

namespace tilekernels::attention {

// out[b, h] = softmax(scale * q[b, h] @ k[b, h / group]^T (+ causal mask)) @ v[b, h / group]
// with group = heads_q / heads_kv (grouped-query attention when > 1), and
// lse[b, h, i] = log(sum_j exp(scale * q_i . k_j)) over the keys row i may see (natural log).
//
// Contract the caller guarantees (the binding copies operands that break it):
//   * the last (head) dimension of q, k, v and out has unit stride;
//   * q, k, v, out are 16-byte aligned and every other stride is a multiple of 16 / element size;
//   * 1 <= head_dim <= the kernel's compiled head dimension (columns past head_dim are masked);
//   * lse is a contiguous fp32 [batch, heads_q, seq_q] buffer;
//   * causal masking is top-left aligned, as torch's is_causal: row i sees keys j <= i;
//   * seq_q, seq_k >= 1; batch * heads_q may exceed grid limits;
//   * tile_flags: for fp16x3 rows, batch * heads_q * ceil(seq_q / kFlagRows) ints of scratch.

// fp16x3 rows (kKeyBlocks) cannot represent values beyond fp16's range (nor inf / NaN inputs): such a
// tile's accumulators turn NaN, and the row then flags the tile, one int per kFlagRows query rows of
// a head, and the launcher reruns the flagged tiles on an exact row (redo_flagged), whose CTAs skip
// every tile not flagged.
inline constexpr int kFlagRows = 128;

struct Params {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  float* lse = nullptr;
  int64_t batch = 0, heads_q = 0, heads_kv = 0;
  int64_t seq_q = 0, seq_k = 0, head_dim = 0;
  int64_t q_batch_stride = 0, q_head_stride = 0, q_row_stride = 0;
  int64_t k_batch_stride = 0, k_head_stride = 0, k_row_stride = 0;
  int64_t v_batch_stride = 0, v_head_stride = 0, v_row_stride = 0;
  int64_t out_batch_stride = 0, out_head_stride = 0, out_row_stride = 0;
  float scale = 1.0f;  // multiplies q . k before the softmax
  bool causal = false;
  MathMode math = MathMode::kFp16;
  int* tile_flags = nullptr;  // [batch * heads_q][ceil(seq_q / kFlagRows)]
  bool redo_flagged = false;  // compute only the tiles tile_flags marks
};

}  // namespace tilekernels::attention
