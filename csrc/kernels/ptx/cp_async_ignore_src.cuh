#pragma once
// cp.async.cg ... ignore-src (sm_80+): copies a 16-byte chunk, or writes 16 zero bytes to shared memory
// without reading global memory when `zero` is set. Cheaper than the src-size form for chunks that are
// either whole or absent.
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ void cp_async_16_or_zero(uint32_t smem_addr, const void* gmem_ptr, bool zero) {
  asm volatile(
      "{\n"
      "  .reg .pred p;\n"
      "  setp.ne.b32 p, %2, 0;\n"
      "  cp.async.cg.shared.global [%0], [%1], 16, p;\n"
      "}\n" ::"r"(smem_addr),
      "l"(gmem_ptr), "r"(static_cast<int>(zero)));
}

}  // namespace tilekernels::ptx
