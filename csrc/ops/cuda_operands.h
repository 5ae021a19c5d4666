#pragma once
// Shared by the CUDA bindings: bringing operands into the layout and alignment the kernels' contracts
// require, copying only when a tensor breaks them.
#ifdef TILEKERNELS_WITH_CUDA

#include <cstdint>

#include "ops/tensor_utils.h"

namespace tilekernels {

// The kernels move 16-byte vectors.
inline constexpr int64_t kVectorBytes = 16;

inline bool is_aligned(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % kVectorBytes == 0; }

inline int64_t vector_elements(const Tensor& t) { return kVectorBytes / static_cast<int64_t>(t.element_size()); }

inline int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

// One batched matrix operand [batch, rows, cols] as a kernel sees it.
struct MatrixOperand {
  Tensor storage;                // keeps a copy alive when one was made
  const void* data = nullptr;
  int64_t batch_stride = 0;      // elements; 0 = the same matrix for every batch
  int64_t ld = 0;                // stride of the non-unit dimension
  bool cols_contiguous = true;   // unit stride along cols (else along rows)
  bool copied = false;
};

// Uses `t` in place when one of its two matrix dims has unit stride and the pointer, the other stride
// and the batch stride are 16-byte aligned; otherwise copies it into a row-major buffer whose rows are
// padded to 16 bytes (one matrix only when the batch stride is 0).
MatrixOperand prepare_matrix_operand(const Tensor& t);

// An attention operand [batch, heads, seq, dim] whose last dim has unit stride and whose other strides
// and pointer are 16-byte aligned; otherwise a contiguous copy with dim padded to 16 bytes.
Tensor prepare_head_major_operand(const Tensor& t, bool* copied);

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
