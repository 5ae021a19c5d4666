#pragma once
// Emulated wgmma (fp16 / bf16 inputs, fp32 accumulators), executed when issued or at the wait that
// retires its commit group (emu::late: operands are read and accumulators written then): each thread of the warpgroup computes its own accumulators, the m64nN
// layout (warp w: rows 16 w + g, + 8; n8 tile j: columns 8 j + 2 t, + 1), from A (the other
// threads' register fragments, or shared memory) and B in shared memory, read through the matrix
// descriptors: K-major tiles with the 128- or 64-byte swizzle (rows of an M or N index, 8-row groups
// `stride` bytes apart), MN-major tiles with the 128-byte swizzle (64-element segments `leading`
// bytes apart, 8-row k groups `stride` apart).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/ptx/mma.cuh"
#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::ptx {

inline uint64_t wgmma_desc(uint32_t smem_addr, uint32_t leading_bytes, uint32_t stride_bytes, uint32_t swizzle_mode) {
  return static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(leading_bytes >> 4) << 16) |
         (static_cast<uint64_t>(stride_bytes >> 4) << 32) | (static_cast<uint64_t>(swizzle_mode) << 62);
}
inline uint64_t wgmma_sw128_desc(uint32_t smem_addr) { return wgmma_desc(smem_addr, 16, 1024, 1); }
inline uint64_t wgmma_sw64_desc(uint32_t smem_addr, uint32_t group_bytes = 512) {
  return wgmma_desc(smem_addr, 16, group_bytes, 2);
}
inline uint64_t wgmma_sw128_mn_desc(uint32_t smem_addr, uint32_t segment_bytes, uint32_t k_group_bytes) {
  return wgmma_desc(smem_addr, segment_bytes, k_group_bytes, 1);
}
inline void wgmma_fence() {}
inline void wgmma_commit() { emu::wgmmas.commit(); }
template <int kPending>
inline void wgmma_wait() {
  emu::wgmmas.wait(kPending);
}
inline void fence_proxy_async_shared() {}
inline void wgmma_keep(uint32_t&) {}
inline void wgmma_keep(float&) {}
template <class R, int kN>
inline void wgmma_keep(R (&)[kN]) {}

// Element (index, k) of a shared-memory operand: index is M (A) or N (B).
inline float wgmma_operand(uint64_t desc, bool mn_major, int index, int k, bool bf16) {
  const uint32_t start = static_cast<uint32_t>(desc & 0x3FFF) << 4;
  const uint32_t leading = static_cast<uint32_t>((desc >> 16) & 0x3FFF) << 4;
  const uint32_t stride = static_cast<uint32_t>((desc >> 32) & 0x3FFF) << 4;
  const int mode = static_cast<int>(desc >> 62);
  uint32_t addr;
  if (!mn_major && mode == 1) {
    addr = start + (index / 8) * stride + (index % 8) * 128 + 2 * k;
    addr ^= ((addr >> 7) & 7u) << 4;
  } else if (!mn_major && mode == 2) {
    addr = start + (index / 8) * stride + (index % 8) * 64 + 2 * k;
    addr ^= ((addr >> 7) & 3u) << 4;
  } else if (mn_major && mode == 1) {
    addr = start + (index / 64) * leading + (k / 8) * stride + (k % 8) * 128 + 2 * (index % 64);
    addr ^= ((addr >> 7) & 7u) << 4;
  } else {
    std::abort();
  }
  uint16_t bits;
  std::memcpy(&bits, shared_pointer(addr), 2);
  return from_16bit(bits, bf16);
}

// The A fragment element (row, k) of warpgroup thread fragments in scratch (mma.m16n8k16 layout per warp).
inline float wgmma_register_a(int row, int k, bool bf16) {
  const int warp = row / 16, r = row % 16, g = r % 8, t = (k % 8) / 2;
  const int reg = (r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
  uint32_t word;
  std::memcpy(&word, emu::group_scratch(warp * 32 + g * 4 + t) + reg, 4);
  return from_16bit((word >> (16 * (k % 2))) & 0xffffu, bf16);
}

template <int kN>
inline void wgmma_run(float* d, bool bf16, int scale_d, auto a_element, uint64_t b_desc, bool b_mn_major) {
  const int thread = static_cast<int>(threadIdx.x % 128), warp = thread / 32, lane = thread % 32;
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < kN / 2; ++i) {
    const int row = 16 * warp + g + 8 * ((i >> 1) & 1), col = 8 * (i / 4) + 2 * t + (i & 1);
    float acc = scale_d ? d[i] : 0.0f;
    for (int k = 0; k < 16; ++k) acc += a_element(row, k) * wgmma_operand(b_desc, b_mn_major, col, k, bf16);
    d[i] = acc;
  }
}

// The warpgroup runs each wgmma together: synchronized before (its operands are in place) and after
// (it is done for every thread before any goes on, e.g. to release its operands).
template <int kN, bool kBf16, int kTransB>
inline void wgmma_m64k16_f16_rs(float (&d)[kN / 2], const uint32_t (&a)[4], uint64_t b_desc, int scale_d) {
  float* acc = d;
  const uint32_t* regs = a;
  emu::wgmmas.issue([=] {
    std::memcpy(emu::group_scratch(static_cast<int>(threadIdx.x % 128)), regs, 4 * sizeof(uint32_t));
    emu::warpgroup_sync();
    wgmma_run<kN>(acc, kBf16, scale_d, [](int row, int k) { return wgmma_register_a(row, k, kBf16); }, b_desc,
                  kTransB != 0);
    emu::warpgroup_sync();
  });
}

template <int kN, bool kBf16, int kTransB, int kTransA = 0>
inline void wgmma_m64k16_f16_ss(float (&d)[kN / 2], uint64_t a_desc, uint64_t b_desc, int scale_d) {
  float* acc = d;
  emu::wgmmas.issue([=] {
    emu::warpgroup_sync();
    wgmma_run<kN>(acc, kBf16, scale_d,
                  [&](int row, int k) { return wgmma_operand(a_desc, kTransA != 0, row, k, kBf16); }, b_desc,
                  kTransB != 0);
    emu::warpgroup_sync();
  });
}

}  // namespace tilekernels::ptx
