#pragma once
// The fp32-accurate (3xTF32) kernels' fallback for tiles whose split went non-finite. Torch-free.
#include <cstdint>

#include "kernels/bmm/bmm_params.h"

namespace tilekernels::bmm {

// The 3xTF32 split gives NaN wherever an operand is infinite (and where big overflows next to
// FLT_MAX). Such tiles are rare; the CTA recomputes its kBM x kBN tile at (m0, n0) with plain fp32
// FMAs in k order, which gives IEEE results (inf, NaN) at fp32 accuracy, and stores it itself. Slow,
// but only there. kCTransposed: C is stored n-major (element (m, n) at n * ldc + m).
template <int kBM, int kBN, int kThreads, bool kAKMajor, bool kBKMajor, bool kCTransposed>
__device__ __forceinline__ void store_exact_tile(const Params& p, int64_t batch, int64_t m0, int64_t n0) {
  const float* a = static_cast<const float*>(p.a) + batch * p.a_batch_stride;
  const float* b = static_cast<const float*>(p.b) + batch * p.b_batch_stride;
  float* c = static_cast<float*>(p.c) + batch * p.c_batch_stride;
  // The thread index is read through asm volatile so that the compiler cannot hoist this rare path's
  // index arithmetic out of a persistent kernel's tile loop (it kept it in spilled registers there).
  int tid;
  asm volatile("mov.u32 %0, %%tid.x;" : "=r"(tid));
  for (int e = tid; e < kBM * kBN; e += kThreads) {
    const int64_t m = m0 + e / kBN, n = n0 + e % kBN;
    if (m >= p.m || n >= p.n) continue;
    float sum = 0.f;
    for (int64_t k = 0; k < p.k; ++k)
      sum = fmaf(kAKMajor ? a[m * p.lda + k] : a[k * p.lda + m], kBKMajor ? b[n * p.ldb + k] : b[k * p.ldb + n], sum);
    c[kCTransposed ? n * p.ldc + m : m * p.ldc + n] = sum;
  }
}

}  // namespace tilekernels::bmm
