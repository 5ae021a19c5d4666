#pragma once
// Emulated cp.async: the copy (the rest of the destination zero-filled) lands when issued or at the
// wait_group that covers it (emu::late); misaligned destinations abort.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::ptx {
inline void copy_or_zero(uint32_t smem_addr, const void* gmem_ptr, int bytes, int src_bytes) {
  if (smem_addr % bytes != 0 || src_bytes < 0 || src_bytes > bytes) std::abort();
  emu::copies.issue([=] {
    unsigned char* dst = shared_pointer(smem_addr);
    std::memset(dst, 0, bytes);
    if (src_bytes) std::memcpy(dst, gmem_ptr, src_bytes);
  });
}
inline void cp_async_16(uint32_t smem_addr, const void* gmem_ptr, int src_bytes) {
  copy_or_zero(smem_addr, gmem_ptr, 16, src_bytes);
}
inline void cp_async_4(uint32_t smem_addr, const void* gmem_ptr, int src_bytes) {
  copy_or_zero(smem_addr, gmem_ptr, 4, src_bytes);
}
inline void cp_async_commit() { emu::copies.commit(); }
template <int kPending>
inline void cp_async_wait() {
  emu::copies.wait(kPending);
}
}  // namespace tilekernels::ptx
