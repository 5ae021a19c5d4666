#pragma once
// Emulated st.shared (32 to 128 bits).
#include <cstdint>
#include <cstring>

#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::ptx {
inline void st_shared_b32(uint32_t smem_addr, uint32_t v) { std::memcpy(shared_pointer(smem_addr), &v, 4); }
inline void st_shared_v2(uint32_t smem_addr, uint32_t v0, uint32_t v1) {
  const uint32_t v[2] = {v0, v1};
  std::memcpy(shared_pointer(smem_addr), v, 8);
}
inline void st_shared_v4(uint32_t smem_addr, uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3) {
  const uint32_t v[4] = {v0, v1, v2, v3};
  std::memcpy(shared_pointer(smem_addr), v, 16);
}
}  // namespace tilekernels::ptx
