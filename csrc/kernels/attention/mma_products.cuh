#pragma once
// The two products of the mma.sync attention kernels (operand.cuh's fragments):
//   acc  = A B^T  with A rows from one tile and B rows from another, both [rows][head_dim] (S, S^T,
//          dP, dP^T: the head dimension is the k of the product);
//   acc += P B    with P (or dS) straight from the accumulators of the first kind (their layout is the
//          A fragment's) and B [k][n] rows read transposed (the forward's O += P V; dV, dK, dQ).
// A warp owns kMT m16 tiles of rows starting at a_row0.
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"

namespace tilekernels::attention::detail {

// acc[kMT][kNT] = A[a_row0 .., 0 .. 16 kKSteps) B[0 .. 8 kNT, 0 .. 16 kKSteps)^T.
template <class Op, class AL, class BL, int kMT, int kNT, int kKSteps>
__device__ __forceinline__ void product_nk(float (&acc)[kMT][kNT][4], const unsigned char* a_tile, int a_row0,
                                           const unsigned char* b_tile, int lane) {
  zero_fragments(acc);
#pragma unroll
  for (int kk = 0; kk < kKSteps; ++kk) {
    typename Op::A a[kMT];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) Op::template load_a<AL>(a[mi], a_tile, a_row0 + mi * 16, kk * 16, lane);
#pragma unroll
    for (int np = 0; np < kNT / 2; ++np) {
      typename Op::B b[2];
      Op::template load_b_nk<BL>(b, b_tile, np * 16, kk * 16, lane);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
        Op::mma(acc[mi][2 * np], a[mi], b[0]);
        Op::mma(acc[mi][2 * np + 1], a[mi], b[1]);
      }
    }
  }
}

// acc[kMT][kDT] += P B with P[kMT][kKT] the accumulators of a product_nk (k = its 8 kKT columns) and
// B the rows 0 .. 8 kKT of a [k][n] tile.
template <class Op, class BL, int kMT, int kKT, int kDT>
__device__ __forceinline__ void product_kn(float (&acc)[kMT][kDT][4], const float (&p)[kMT][kKT][4],
                                           const unsigned char* b_tile, int lane) {
#pragma unroll
  for (int kk = 0; kk < kKT / 2; ++kk) {
    typename Op::A pa[kMT];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) Op::a_from_accumulators(pa[mi], p[mi][2 * kk], p[mi][2 * kk + 1]);
#pragma unroll
    for (int dp = 0; dp < kDT / 2; ++dp) {
      typename Op::B b[2];
      Op::template load_b_kn<BL>(b, b_tile, kk * 16, dp * 16, lane);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
        Op::mma(acc[mi][2 * dp], pa[mi], b[0]);
        Op::mma(acc[mi][2 * dp + 1], pa[mi], b[1]);
      }
    }
  }
}

}  // namespace tilekernels::attention::detail
