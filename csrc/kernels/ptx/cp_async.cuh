#pragma once
// cp.async (sm_80+): asynchronous global -> shared copies that bypass the register file.
#include <cstdint>

namespace tilekernels::ptx {

// Copies `src_bytes` (0..16) bytes from global to shared and zero-fills the rest of the 16-byte
// chunk, so edge tiles need no separate masking pass. Both addresses must be 16-byte aligned.
__device__ __forceinline__ void cp_async_16(uint32_t smem_addr, const void* gmem_ptr, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr), "l"(gmem_ptr),
               "r"(src_bytes));
}

// One 4-byte word (e.g. a float of a per-row vector), or zero when `src_bytes` is 0. 4-byte aligned
// addresses; goes through L1 (.ca: the only form for fewer than 16 bytes).
__device__ __forceinline__ void cp_async_4(uint32_t smem_addr, const void* gmem_ptr, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr), "l"(gmem_ptr), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `kPending` committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

}  // namespace tilekernels::ptx
