#pragma once
// Emulated stmatrix .x4: lane l addresses row l % 8 of matrix l / 8; of matrix j, lane l holds row
// l / 4, 32-bit word l % 4.
#include <cstdint>
#include <cstring>

#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::ptx {
inline void stmatrix_x4(uint32_t smem_addr, uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3) {
  uint64_t* mine = emu::my_scratch();
  mine[0] = smem_addr;
  mine[1] = r0;
  mine[2] = r1;
  mine[3] = r2;
  mine[4] = r3;
  emu::warp_sync();
  // Lane l writes row l % 8 of matrix l / 8 (the 16 bytes it addressed) from the four lanes holding it.
  const int l = emu::lane_id(), j = l / 8, row = l % 8;
  for (int word = 0; word < 4; ++word) {
    const uint32_t value = static_cast<uint32_t>(emu::lane_scratch(row * 4 + word)[1 + j]);
    std::memcpy(shared_pointer(static_cast<uint32_t>(mine[0])) + 4 * word, &value, 4);
  }
  emu::warp_sync();
}
}  // namespace tilekernels::ptx
