#pragma once
// st.shared (sm_50+): explicit 32-bit-address shared-memory stores (staging accumulator tiles).
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ void st_shared_b32(uint32_t smem_addr, uint32_t v) {
  asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(smem_addr), "r"(v));
}

__device__ __forceinline__ void st_shared_v2(uint32_t smem_addr, uint32_t v0, uint32_t v1) {
  asm volatile("st.shared.v2.b32 [%0], {%1, %2};\n" ::"r"(smem_addr), "r"(v0), "r"(v1));
}

__device__ __forceinline__ void st_shared_v4(uint32_t smem_addr, uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(smem_addr), "r"(v0), "r"(v1), "r"(v2), "r"(v3));
}

}  // namespace tilekernels::ptx
