#pragma once
// ld.shared (sm_50+): explicit 32-bit-address shared-memory loads, for fragments ldmatrix cannot
// deliver (32-bit elements stored m- or n-contiguous) and for reading back staged output tiles.
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ void ld_shared_v4(uint32_t (&r)[4], uint32_t smem_addr) {
  asm volatile("ld.shared.v4.b32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr));
}

__device__ __forceinline__ void ld_shared_v2(uint32_t (&r)[2], uint32_t smem_addr) {
  asm volatile("ld.shared.v2.b32 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(smem_addr));
}

__device__ __forceinline__ uint32_t ld_shared_b32(uint32_t smem_addr) {
  uint32_t r;
  asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(r) : "r"(smem_addr));
  return r;
}

__device__ __forceinline__ uint16_t ld_shared_b16(uint32_t smem_addr) {
  uint16_t r;
  asm volatile("ld.shared.b16 %0, [%1];\n" : "=h"(r) : "r"(smem_addr));
  return r;
}

}  // namespace tilekernels::ptx
