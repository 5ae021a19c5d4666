#pragma once
// The tensor maps of a kWarpSpecialized launch (fwd_warp_specialized.cuh): q, k and v as 4-D tensors
// (head-dim column, row, head, batch) of 16-bit elements, read in 128-byte-swizzled boxes of 64
// columns x block rows. Built on the host per call (they hold the operands' addresses); the planner
// offers these rows only where tma_serves. Torch-free.
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/attention_params.h"
#include "kernels/common/tensor_map.h"

namespace tilekernels::attention {

// Head-dim columns of a box: one 128-byte swizzle row of 16-bit elements.
inline constexpr int kTmaBoxColumns = 64;

// Kernel parameter (__grid_constant__): CUtensorMap is 64-byte aligned.
struct TmaMaps {
  CUtensorMap q;
  CUtensorMap k;
  CUtensorMap v;
  CUtensorMap out;  // rows with store_via_tma only: boxes of one consumer's 64 rows
};

namespace tma_detail {

// A stride of 0 (an expanded dimension) becomes a dimension of extent 1 that the kernel indexes with 0;
// its stride is then irrelevant and 16 keeps the map valid.
inline uint64_t stride_bytes(int64_t stride) { return stride ? static_cast<uint64_t>(stride) * 2 : 16; }

// One operand; rank 0 (no map describes it) when its rows are expanded (row stride 0, several rows).
inline TensorMapDesc operand_map(const void* base, bool bf16, int64_t head_dim, int64_t rows, int64_t heads,
                                 int64_t batch, int64_t row_stride, int64_t head_stride, int64_t batch_stride,
                                 int box_rows) {
  TensorMapDesc t;
  if (row_stride == 0 && rows > 1) return t;
  t.base = base;
  t.bf16 = bf16;
  t.rank = 4;
  // A dimension of one index (its stride is then anything) or of stride 0 becomes extent 1.
  t.dims[0] = static_cast<uint64_t>(head_dim);
  t.dims[1] = static_cast<uint64_t>(rows);
  t.dims[2] = static_cast<uint64_t>(head_stride ? heads : 1);
  t.dims[3] = static_cast<uint64_t>(batch_stride ? batch : 1);
  t.strides_bytes[0] = stride_bytes(rows > 1 ? row_stride : 0);
  t.strides_bytes[1] = stride_bytes(heads > 1 ? head_stride : 0);
  t.strides_bytes[2] = stride_bytes(batch > 1 ? batch_stride : 0);
  t.box[0] = kTmaBoxColumns;
  t.box[1] = static_cast<uint32_t>(box_rows);
  t.box[2] = 1;
  t.box[3] = 1;
  return t;
}

}  // namespace tma_detail

inline TensorMapDesc q_tensor_map(const TileConfig& config, const Params& p) {
  return tma_detail::operand_map(p.q, config.math == MathMode::kBf16, p.head_dim, p.seq_q, p.heads_q, p.batch, p.q_row_stride,
                                 p.q_head_stride, p.q_batch_stride, config.block_q());
}

inline TensorMapDesc k_tensor_map(const TileConfig& config, const Params& p) {
  return tma_detail::operand_map(p.k, config.math == MathMode::kBf16, p.head_dim, p.seq_k, p.heads_kv, p.batch, p.k_row_stride,
                                 p.k_head_stride, p.k_batch_stride, config.block_kv());
}

inline TensorMapDesc v_tensor_map(const TileConfig& config, const Params& p) {
  return tma_detail::operand_map(p.v, config.math == MathMode::kBf16, p.head_dim, p.seq_k, p.heads_kv, p.batch, p.v_row_stride,
                                 p.v_head_stride, p.v_batch_stride, config.block_kv());
}

// Rows of the output that one consumer warpgroup stores per box.
inline constexpr int kTmaStoreRows = 64;

inline constexpr bool stores_via_tma(const TileConfig& config) {
  return config.kernel == Kernel::kWarpSpecialized && config.ws.store_via_tma;
}

inline TensorMapDesc out_tensor_map(const TileConfig& config, const Params& p) {
  return tma_detail::operand_map(p.out, config.math == MathMode::kBf16, p.head_dim, p.seq_q, p.heads_q, p.batch,
                                 p.out_row_stride, p.out_head_stride, p.out_batch_stride, kTmaStoreRows);
}

// Whether tensor maps describe the call's q, k and v (and out, for rows storing through TMA) for this
// row (kWarpSpecialized rows only).
inline bool tma_serves(const TileConfig& config, const Params& p) {
  return tensor_map_describes(q_tensor_map(config, p)) && tensor_map_describes(k_tensor_map(config, p)) &&
         tensor_map_describes(v_tensor_map(config, p)) &&
         (!stores_via_tma(config) || tensor_map_describes(out_tensor_map(config, p)));
}

inline cudaError_t make_tma_maps(const TileConfig& config, const Params& p, TmaMaps* maps) {
  cudaError_t err = encode_tensor_map(q_tensor_map(config, p), &maps->q);
  if (err == cudaSuccess) err = encode_tensor_map(k_tensor_map(config, p), &maps->k);
  if (err == cudaSuccess) err = encode_tensor_map(v_tensor_map(config, p), &maps->v);
  if (err == cudaSuccess && stores_via_tma(config)) err = encode_tensor_map(out_tensor_map(config, p), &maps->out);
  return err;
}

}  // namespace tilekernels::attention
