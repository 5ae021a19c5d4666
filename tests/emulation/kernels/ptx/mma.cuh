#pragma once
// Emulated mma.sync m16n8k16 with fp16 / bf16 inputs and fp32 accumulators: the warp's fragments
// (PTX ISA "Matrix Fragments for mma.m16n8k16") gathered into whole matrices, D = A B + C in fp32.
// The TF32 products are not emulated.
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace tilekernels::ptx {
inline float from_16bit(uint32_t bits, bool bf16) {
  if (bf16) {
    const uint32_t w = bits << 16;
    float f;
    std::memcpy(&f, &w, 4);
    return f;
  }
  const uint16_t u = static_cast<uint16_t>(bits);
  __half h;
  std::memcpy(&h, &u, 2);
  return __half2float(h);
}

inline void mma_16bit(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], bool bf16, bool zero_c) {
  uint64_t* mine = emu::my_scratch();
  for (int i = 0; i < 4; ++i) mine[i] = a[i];
  for (int i = 0; i < 2; ++i) mine[4 + i] = b[i];
  emu::warp_sync();
  float A[16][16], B[16][8];
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    const uint64_t* x = emu::lane_scratch(l);
    for (int half = 0; half < 2; ++half) {
      auto v = [&](int word) { return from_16bit(static_cast<uint32_t>(x[word] >> (16 * half)) & 0xffffu, bf16); };
      A[g][2 * t + half] = v(0);
      A[g + 8][2 * t + half] = v(1);
      A[g][8 + 2 * t + half] = v(2);
      A[g + 8][8 + 2 * t + half] = v(3);
      B[2 * t + half][g] = v(4);
      B[8 + 2 * t + half][g] = v(5);
    }
  }
  emu::warp_sync();
  const int l = emu::lane_id(), g = l / 4, t = l % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
    float acc = zero_c ? 0.0f : d[i];
    for (int k = 0; k < 16; ++k) acc += A[row][k] * B[k][col];
    d[i] = acc;
  }
}

inline void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  mma_16bit(d, a, b, false, false);
}
inline void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  mma_16bit(d, a, b, true, false);
}
inline void mma_m16n8k16_bf16_zero_c(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  mma_16bit(d, a, b, true, true);
}
inline void mma_m16n8k8_tf32(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]) { std::abort(); }
inline void mma_m16n8k8_tf32_zero_c(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]) { std::abort(); }
}  // namespace tilekernels::ptx
