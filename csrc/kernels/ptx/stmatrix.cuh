#pragma once
// stmatrix (sm_90): a warp stores 8x8 matrices of 16-bit elements held in the mma fragment layout (lane
// l holds row l / 4, columns 2 (l % 4), + 1 as one 32-bit register) to shared memory, each matrix row
// 16 contiguous bytes at an address that lane provides (lanes 8 i .. 8 i + 7: rows 0..7 of matrix i).
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ void stmatrix_x4(uint32_t smem_addr, uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(smem_addr), "r"(r0), "r"(r1),
               "r"(r2), "r"(r3)
               : "memory");
}

}  // namespace tilekernels::ptx
