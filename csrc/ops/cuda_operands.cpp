#ifdef TILEKERNELS_WITH_CUDA

#include "ops/cuda_operands.h"

#include <torch/csrc/stable/ops.h>

namespace tilekernels {

MatrixOperand prepare_matrix_operand(const Tensor& t) {
  const int64_t batch = t.size(0), rows = t.size(1), cols = t.size(2);
  const int64_t vec = vector_elements(t);
  const int64_t batch_stride = batch == 1 ? 0 : t.stride(0);
  MatrixOperand op;
  // Size-1 dims have meaningless strides: any aligned leading stride works for them.
  if (cols == 1 || t.stride(2) == 1) {
    op.cols_contiguous = true;
    op.ld = rows == 1 ? round_up(cols, vec) : t.stride(1);
  } else if (rows == 1 || t.stride(1) == 1) {
    op.cols_contiguous = false;
    op.ld = cols == 1 ? round_up(rows, vec) : t.stride(2);
  } else {
    op.ld = -1;  // neither dim contiguous
  }
  const bool usable = op.ld > 0 && op.ld % vec == 0 && batch_stride % vec == 0 && is_aligned(t.data_ptr());
  if (usable) {
    op.data = t.data_ptr();
    op.batch_stride = batch_stride;
    return op;
  }
  const bool broadcast = batch > 1 && t.stride(0) == 0;
  const int64_t copies = broadcast ? 1 : batch;
  const int64_t padded_cols = round_up(cols, vec);
  Tensor buffer = torch::stable::empty({copies, rows, padded_cols}, t.scalar_type(), std::nullopt, t.device());
  Tensor view = torch::stable::narrow(buffer, 2, 0, cols);
  Tensor source = t;
  if (broadcast) source = torch::stable::narrow(source, 0, 0, 1);
  torch::stable::copy_(view, source);
  op.storage = buffer;
  op.data = buffer.data_ptr();
  op.batch_stride = broadcast ? 0 : rows * padded_cols;
  op.ld = padded_cols;
  op.cols_contiguous = true;
  op.copied = true;
  return op;
}

Tensor prepare_head_major_operand(const Tensor& t, bool* copied) {
  const int64_t vec = vector_elements(t);
  bool usable = t.stride(3) == 1 && is_aligned(t.data_ptr());
  for (int d = 0; d < 3 && usable; ++d) usable = t.size(d) == 1 || t.stride(d) % vec == 0;
  *copied = !usable;
  if (usable) return t;
  const int64_t dim = t.size(3);
  const int64_t padded = round_up(dim, vec);
  Tensor buffer = torch::stable::empty({t.size(0), t.size(1), t.size(2), padded}, t.scalar_type(), std::nullopt,
                                       t.device());
  Tensor view = torch::stable::narrow(buffer, 3, 0, dim);
  torch::stable::copy_(view, t);
  return view;
}

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
