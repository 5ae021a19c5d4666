#pragma once
// Emulated ldmatrix (.x2 / .x4, .trans): lane l addresses row l % 8 of matrix l / 8; of matrix j,
// lane l receives row l / 4, 32-bit word l % 4 (transposed: the 16-bit elements at (row 2 (l % 4),
// column l / 4) and (row 2 (l % 4) + 1, column l / 4)).
#include <cstdint>
#include <cstring>

#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::ptx {
template <int kMatrices, bool kTrans>
inline void ldmatrix(uint32_t* r, uint32_t smem_addr) {
  emu::my_scratch()[0] = smem_addr;
  emu::warp_sync();
  const int l = emu::lane_id();
  auto row = [](int lane) { return shared_pointer(static_cast<uint32_t>(emu::lane_scratch(lane)[0])); };
  for (int j = 0; j < kMatrices; ++j) {
    if constexpr (kTrans) {
      uint16_t lo, hi;
      std::memcpy(&lo, row(j * 8 + 2 * (l % 4)) + 2 * (l / 4), 2);
      std::memcpy(&hi, row(j * 8 + 2 * (l % 4) + 1) + 2 * (l / 4), 2);
      r[j] = lo | (static_cast<uint32_t>(hi) << 16);
    } else {
      std::memcpy(&r[j], row(j * 8 + l / 4) + 4 * (l % 4), 4);
    }
  }
  emu::warp_sync();
}
inline void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) { ldmatrix<4, false>(r, addr); }
inline void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) { ldmatrix<4, true>(r, addr); }
inline void ldmatrix_x2(uint32_t (&r)[2], uint32_t addr) { ldmatrix<2, false>(r, addr); }
inline void ldmatrix_x2_trans(uint32_t (&r)[2], uint32_t addr) { ldmatrix<2, true>(r, addr); }
}  // namespace tilekernels::ptx
