#pragma once
// The tensor maps of a TMA bmm launch (bmm_wgmma_tma.cuh): A and B as 3-D tensors of 16-bit
// elements, read in 128-byte-swizzled boxes, and for rows that store via TMA, C written in such boxes.
// Built on the host per call (they hold the operands' addresses); the planner offers TMA rows only for
// operands a tensor map describes. Torch-free.
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/common/tensor_map.h"

namespace tilekernels::bmm {

// Elements of a box along its contiguous dimension: 128 bytes of 16-bit elements, the swizzle's row.
inline constexpr int kTmaBoxElements = 64;

// Kernel parameter (__grid_constant__): CUtensorMap is 64-byte aligned.
struct TmaOperands {
  CUtensorMap a;
  CUtensorMap b;
  CUtensorMap c;  // rows that store via TMA only
};

// One operand: (k, rows, batch) when k-contiguous, read in boxes of 64 k x box_rows rows; otherwise
// (rows, k, batch) in boxes of 64 rows x 64 k, one per 64-row segment of the tile. A broadcast operand
// (batch stride 0) is a one-item tensor.
inline TensorMapDesc operand_map(const void* base, bool bf16, bool k_contiguous, int64_t k, int64_t rows, int64_t ld,
                               int64_t batch, int64_t batch_stride, int box_rows) {
  TensorMapDesc t;
  t.base = base;
  t.bf16 = bf16;
  t.rank = 3;
  t.dims[0] = static_cast<uint64_t>(k_contiguous ? k : rows);
  t.dims[1] = static_cast<uint64_t>(k_contiguous ? rows : k);
  t.dims[2] = static_cast<uint64_t>(batch_stride ? batch : 1);
  t.strides_bytes[0] = static_cast<uint64_t>(ld) * 2;
  t.strides_bytes[1] = batch_stride ? static_cast<uint64_t>(batch_stride) * 2 : t.strides_bytes[0] * t.dims[1];
  t.box[0] = kTmaBoxElements;
  t.box[1] = static_cast<uint32_t>(k_contiguous ? box_rows : kTmaBoxElements);
  t.box[2] = 1;
  return t;
}

inline TensorMapDesc a_tensor_map(const TileConfig& config, const Params& p) {
  return operand_map(p.a, p.math == MathMode::kBf16, p.a_k_major, p.k, p.m, p.lda, p.batch, p.a_batch_stride,
                     config.block_m);
}

// In a cluster each CTA loads a 1 / cluster_m share of B's k-contiguous box (bmm_wgmma_tma.cuh).
inline TensorMapDesc b_tensor_map(const TileConfig& config, const Params& p) {
  return operand_map(p.b, p.math == MathMode::kBf16, p.b_k_major, p.k, p.n, p.ldb, p.batch, p.b_batch_stride,
                     config.block_n / config.cluster_m);
}

// C as (n, rows, batch) in boxes of 64 columns x 64 rows: one consumer warpgroup's rows, a 128-byte
// swizzle row of columns.
inline TensorMapDesc c_tensor_map(const Params& p) {
  TensorMapDesc t;
  t.base = p.c;
  t.bf16 = p.math == MathMode::kBf16;
  t.rank = 3;
  t.dims[0] = static_cast<uint64_t>(p.n);
  t.dims[1] = static_cast<uint64_t>(p.m);
  t.dims[2] = static_cast<uint64_t>(p.batch);
  t.strides_bytes[0] = static_cast<uint64_t>(p.ldc) * 2;
  t.strides_bytes[1] = p.batch > 1 ? static_cast<uint64_t>(p.c_batch_stride) * 2 : t.strides_bytes[0] * t.dims[1];
  t.box[0] = kTmaBoxElements;
  t.box[1] = kTmaBoxElements;
  t.box[2] = 1;
  return t;
}

// Tensor maps describe rows that do not overlap: rows at least a row apart, batch items at least a
// matrix apart (other strides, legal for bmm, keep the cp.async rows).
inline bool tma_describes(const TensorMapDesc& t) {
  return tensor_map_describes(t) && t.strides_bytes[0] >= t.dims[0] * 2 &&
         (t.dims[2] == 1 || t.strides_bytes[1] >= t.strides_bytes[0] * t.dims[1]);
}

inline bool tma_serves(const TileConfig& config, const Params& p) {
  return tma_describes(a_tensor_map(config, p)) && tma_describes(b_tensor_map(config, p)) &&
         (!config.store_via_tma || tma_describes(c_tensor_map(p)));
}

inline cudaError_t make_tma_operands(const TileConfig& config, const Params& p, TmaOperands* maps) {
  cudaError_t err = encode_tensor_map(a_tensor_map(config, p), &maps->a);
  if (err == cudaSuccess) err = encode_tensor_map(b_tensor_map(config, p), &maps->b);
  if (err == cudaSuccess && config.store_via_tma) err = encode_tensor_map(c_tensor_map(p), &maps->c);
  return err;
}

}  // namespace tilekernels::bmm
