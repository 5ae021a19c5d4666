#pragma once
// Emulated cp.async ... ignore-src (cp_async.cuh).
#include "kernels/ptx/cp_async.cuh"

namespace tilekernels::ptx {
inline void cp_async_16_or_zero(uint32_t smem_addr, const void* gmem_ptr, bool zero) {
  copy_or_zero(smem_addr, gmem_ptr, 16, zero ? 0 : 16);
}
}  // namespace tilekernels::ptx
