#pragma once
// The only thing bmm kernels see: plain pointers, sizes and strides (in elements). Torch-free.
#include <cstdint>

#include "kernels/common/math_mode.h"

namespace tilekernels::bmm {

// C[b] = A[b] @ B[b] for b in [0, batch). A is [m, k], B is [k, n], C is [m, n]; all one dtype
// (fp16, bf16 or fp32; `math` says how fp32 is multiplied).
//
// Contract the caller guarantees (the binding copies operands that break it):
//   * a, b, c are 16-byte aligned; lda, ldb, ldc and the batch strides are multiples of
//     16 / element size, except c's, which may be anything (the epilogue falls back to scalar stores);
//   * A has unit stride along k (a_k_major) or along m; B along k (b_k_major) or along n; C along n;
//   * batch strides may be 0 (broadcast); m, n, k >= 1 and arbitrary (edges are masked in-kernel);
//   * offsets are 64-bit: one matrix or the whole batch may exceed 2^31 elements.
struct Params {
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
  int64_t batch = 0;
  int64_t m = 0, n = 0, k = 0;
  int64_t a_batch_stride = 0, b_batch_stride = 0, c_batch_stride = 0;
  int64_t lda = 0;  // stride of A's non-unit dimension (between rows if a_k_major, else between k's)
  int64_t ldb = 0;  // stride of B's non-unit dimension (between n's if b_k_major, else between k's)
  int64_t ldc = 0;  // stride between rows of C
  bool a_k_major = true;
  bool b_k_major = false;
  MathMode math = MathMode::kFp16;
};

// Layout variants each configuration is compiled for (the registry's `variant`).
inline constexpr int layout_variant(bool a_k_major, bool b_k_major) {
  return (a_k_major ? 1 : 0) | (b_k_major ? 2 : 0);
}

}  // namespace tilekernels::bmm
