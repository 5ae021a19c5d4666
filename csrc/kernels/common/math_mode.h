#pragma once
// How a kernel multiplies: the operand type on the tensor cores (or FMA units) and the accumulator.
// Shared by every kernel family; torch-free.
#include <cstdint>

namespace tilekernels {

enum class MathMode : int32_t {
  kFp16 = 0,    // fp16 operands, fp32 accumulate
  kBf16 = 1,    // bf16 operands, fp32 accumulate
  kTf32 = 2,    // fp32 operands rounded (to nearest) to TF32, fp32 accumulate
  kTf32x3 = 3,  // fp32 operands split into big + small TF32 parts, three products: fp32-accurate
  kFfma = 4,    // fp32 operands on the FMA units: exact fp32
  // fp32 operands scaled by powers of two (per row of A, per column of B, per k tile) and split into
  // two fp16 pieces each, three fp16 products: fp32-accurate at the fp16 tensor rate
  kFp16x3 = 5,
};

inline constexpr const char* math_mode_name(MathMode mode) {
  switch (mode) {
    case MathMode::kFp16: return "fp16";
    case MathMode::kBf16: return "bf16";
    case MathMode::kTf32: return "tf32";
    case MathMode::kTf32x3: return "tf32x3";
    case MathMode::kFfma: return "ffma";
    case MathMode::kFp16x3: return "fp16x3";
  }
  return "?";
}

// Bytes of one input element as stored in global memory.
inline constexpr int math_mode_element_bytes(MathMode mode) {
  return (mode == MathMode::kFp16 || mode == MathMode::kBf16) ? 2 : 4;
}

}  // namespace tilekernels
