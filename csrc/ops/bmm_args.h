#pragma once
// Argument checks of kernels::bmm, shared by the CPU and CUDA bindings.
#include <cstdint>

#include "ops/tensor_utils.h"

namespace tilekernels {

struct BmmShape {
  int64_t batch, m, n, k;
};

// torch.bmm's rules: two 3-D tensors, equal batch, a.size(2) == b.size(1), one dtype, one device.
BmmShape check_bmm_args(const Tensor& a, const Tensor& b);

// `out` must already have the result's shape, dtype and device (no implicit resize).
void check_bmm_out(const Tensor& out, const Tensor& a, const BmmShape& shape);

// Whether the memory spans of two tensors intersect (then `out` cannot be written in place).
bool memory_overlaps(const Tensor& x, const Tensor& y);

}  // namespace tilekernels
