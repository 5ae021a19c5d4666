#pragma once
// The register-blocked fp32 kernel both CPU ops are built on:
// acc[kRows][kCols] += a_panel (k x kRows, k-major) * b_panel (k x kCols, k-major).
#include <cstdint>
#include <cstring>

namespace tilekernels::cpu {

inline constexpr int kMicroRows = 4;
inline constexpr int kMicroCols = 16;

// x86-64: also compiled for AVX2+FMA and picked at load time when the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TILEKERNELS_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TILEKERNELS_CPU_CLONES
#endif

// Eight floats in one vector (GCC/clang vector extension): two per micro row keep all 4 x 16 sums in
// registers, where auto-vectorization of the plain loops shuffles them through the stack.
typedef float Float8 __attribute__((vector_size(32)));
static_assert(kMicroCols == 16, "the kernel keeps each micro row in two Float8 vectors");

// Sums run over chunks of kChunkDepth k steps, each added to acc: a chunk's rounding errors grow with
// its length, so short chunks keep the fp32 sums about as tight as a BLAS's (and cost one pass over
// acc per chunk, which stays in L1).
inline constexpr int64_t kChunkDepth = 64;

TILEKERNELS_CPU_CLONES
inline void microkernel_accumulate(int64_t depth, const float* __restrict a_panel, const float* __restrict b_panel,
                                   float* __restrict acc) {
  for (int64_t p0 = 0; p0 < depth; p0 += kChunkDepth) {
    const int64_t p_end = p0 + kChunkDepth < depth ? p0 + kChunkDepth : depth;
    Float8 sums[kMicroRows][2] = {};
    for (int64_t p = p0; p < p_end; ++p) {
      Float8 b_low, b_high;
      std::memcpy(&b_low, b_panel + p * kMicroCols, sizeof(Float8));
      std::memcpy(&b_high, b_panel + p * kMicroCols + 8, sizeof(Float8));
      const float* a = a_panel + p * kMicroRows;
      for (int r = 0; r < kMicroRows; ++r) {
        sums[r][0] += a[r] * b_low;
        sums[r][1] += a[r] * b_high;
      }
    }
    for (int r = 0; r < kMicroRows; ++r) {
      Float8 low, high;
      std::memcpy(&low, acc + r * kMicroCols, sizeof(Float8));
      std::memcpy(&high, acc + r * kMicroCols + 8, sizeof(Float8));
      low += sums[r][0];
      high += sums[r][1];
      std::memcpy(acc + r * kMicroCols, &low, sizeof(Float8));
      std::memcpy(acc + r * kMicroCols + 8, &high, sizeof(Float8));
    }
  }
}

}  // namespace tilekernels::cpu
