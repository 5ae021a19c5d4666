#pragma once
// The tensor maps of the warp-specialized key-block kernel (bwd_key_ws.cuh): q, grad_out, k and v as
// 4-D tensors (head-dim column, row, head, batch), read in 128-byte-swizzled boxes of 64 columns x
// a block of rows, as the forward's (attention_tma.h); with dq_atomic, dQ's fp32 sums as a 3-D tensor
// that the kernel adds boxes to. Built on the host per call. Torch-free.
#include <cuda.h>
#include <cuda_runtime.h>

#include "kernels/attention/attention_tma.h"
#include "kernels/attention/backward/backward_params.h"
#include "kernels/common/tensor_map.h"

namespace tilekernels::attention {

// Kernel parameter (__grid_constant__).
struct BackwardTmaMaps {
  CUtensorMap q;
  CUtensorMap grad_out;
  CUtensorMap k;
  CUtensorMap v;
  CUtensorMap dq;  // dq_atomic rows: dQ's fp32 sums
};

// dQ's fp32 sums reduced per box: 32 columns x kDqBoxRows rows (one warpgroup's query rows).
inline constexpr int kDqBoxColumns = 32, kDqBoxRows = 64;

struct BackwardTmaDescs {
  TensorMapDesc q, grad_out, k, v, dq;

  // Query-side boxes of block_q rows, key-side boxes of block_kv rows.
  BackwardTmaDescs(const BackwardParams& p, int block_q, int block_kv) {
    const bool bf16 = p.math == MathMode::kBf16;
    q = tma_detail::operand_map(p.q, bf16, p.head_dim, p.seq_q, p.heads_q, p.batch, p.q_row_stride, p.q_head_stride,
                                p.q_batch_stride, block_q);
    grad_out = tma_detail::operand_map(p.grad_out, bf16, p.head_dim, p.seq_q, p.heads_q, p.batch, p.grad_out_row_stride,
                                       p.grad_out_head_stride, p.grad_out_batch_stride, block_q);
    k = tma_detail::operand_map(p.k, bf16, p.head_dim, p.seq_k, p.heads_kv, p.batch, p.k_row_stride, p.k_head_stride,
                                p.k_batch_stride, block_kv);
    v = tma_detail::operand_map(p.v, bf16, p.head_dim, p.seq_k, p.heads_kv, p.batch, p.v_row_stride, p.v_head_stride,
                                p.v_batch_stride, block_kv);
    if (p.dq_accum) {
      // [batch * heads_q, seq_q, grad_row_stride] fp32: rows past seq_q of a head are outside, not the next head's.
      dq.base = p.dq_accum;
      dq.fp32 = true;
      dq.rank = 3;
      dq.dims[0] = static_cast<uint64_t>(p.head_dim);
      dq.dims[1] = static_cast<uint64_t>(p.seq_q);
      dq.dims[2] = static_cast<uint64_t>(p.batch * p.heads_q);
      dq.strides_bytes[0] = static_cast<uint64_t>(p.grad_row_stride) * 4;
      dq.strides_bytes[1] = static_cast<uint64_t>(p.seq_q * p.grad_row_stride) * 4;
      dq.box[0] = kDqBoxColumns;
      dq.box[1] = kDqBoxRows;
      dq.box[2] = 1;
    }
  }

  bool describe() const {
    return tensor_map_describes(q) && tensor_map_describes(grad_out) && tensor_map_describes(k) &&
           tensor_map_describes(v);
  }

  cudaError_t encode(BackwardTmaMaps& maps) const {
    if (!describe()) return cudaErrorInvalidValue;
    cudaError_t err = encode_tensor_map(q, &maps.q);
    if (err == cudaSuccess) err = encode_tensor_map(grad_out, &maps.grad_out);
    if (err == cudaSuccess) err = encode_tensor_map(k, &maps.k);
    if (err == cudaSuccess) err = encode_tensor_map(v, &maps.v);
    if (err == cudaSuccess && dq.rank) err = encode_tensor_map(dq, &maps.dq);
    return err;
  }
};

// Whether the warp-specialized rows can run the call (every operand described by a tensor map; the box
// sizes do not matter for that).
inline bool backward_tma_serves(const BackwardParams& p) { return BackwardTmaDescs(p, 64, 64).describe(); }

}  // namespace tilekernels::attention
