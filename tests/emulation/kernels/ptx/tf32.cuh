#pragma once
// Not emulated (the emulated kernels are 16-bit): present so that operand.cuh compiles.
#include <cstdint>
#include <cstdlib>

namespace tilekernels::ptx {
inline uint32_t to_tf32(float) { std::abort(); }
}  // namespace tilekernels::ptx
