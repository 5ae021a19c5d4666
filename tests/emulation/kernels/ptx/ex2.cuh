#pragma once
// Emulated ex2.approx.ftz.f32: exp2, subnormal results flushed to zero.
#include <cmath>

namespace tilekernels::ptx {
inline float ex2_approx(float x) {
  const float y = std::exp2(x);
  return std::fpclassify(y) == FP_SUBNORMAL ? 0.0f : y;
}
}  // namespace tilekernels::ptx
