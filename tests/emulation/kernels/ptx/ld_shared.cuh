#pragma once
// Emulated ld.shared (16 to 128 bits).
#include <cstdint>
#include <cstring>

#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::ptx {
inline void ld_shared_v4(uint32_t (&r)[4], uint32_t smem_addr) { std::memcpy(r, shared_pointer(smem_addr), 16); }
inline void ld_shared_v2(uint32_t (&r)[2], uint32_t smem_addr) { std::memcpy(r, shared_pointer(smem_addr), 8); }
inline uint32_t ld_shared_b32(uint32_t smem_addr) {
  uint32_t v;
  std::memcpy(&v, shared_pointer(smem_addr), 4);
  return v;
}
inline uint16_t ld_shared_b16(uint32_t smem_addr) {
  uint16_t v;
  std::memcpy(&v, shared_pointer(smem_addr), 2);
  return v;
}
}  // namespace tilekernels::ptx
