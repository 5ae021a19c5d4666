#pragma once
// How each math mode feeds mma.sync: the operand fragments of one m16 x n8 x kK product, their loads
// from shared-memory tiles (smem_layout.cuh), and the product itself. Fragment layouts follow the PTX
// ISA tables "Matrix Fragments for mma.m16n8k16 / mma.m16n8k8"; with g = lane / 4, t = lane % 4:
//   accumulator (both shapes): c0, c1 = (row g, cols 2t, 2t + 1); c2, c3 = (row g + 8, same cols)
//   m16n8k16 A: r0 = (g, k 2t..2t+1), r1 = (g + 8, k 2t..), r2 = (g, k 8+2t..), r3 = (g + 8, k 8+2t..)
//   m16n8k16 B: r0 = (k 2t..2t+1, n g), r1 = (k 8+2t.., n g)
//   m16n8k8 tf32 A: a0 = (g, k t), a1 = (g + 8, k t), a2 = (g, k t + 4), a3 = (g + 8, k t + 4)
//   m16n8k8 tf32 B: b0 = (k t, n g), b1 = (k t + 4, n g)
// Operand tiles: "A" is row-major [m][k] (Q, P); "NK" is [n][k] (K: S = Q K^T); "KN" is [k][n] (V).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

#include "kernels/attention/smem_layout.cuh"
#include "kernels/common/math_mode.h"
#include "kernels/common/pack2.cuh"
#include "kernels/ptx/ldmatrix.cuh"
#include "kernels/ptx/mma.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/tf32.cuh"

namespace tilekernels::attention::detail {

// Lane addressing of the ldmatrix.x4 loads below (row, chunk relative to the operand's origin); lane
// l addresses row l % 8 of the 8x8 matrix l / 8. Host-callable so the tests can check them against
// the fragment tables.
struct LdmatrixLanes {
  // A: matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15).
  __host__ __device__ static constexpr int a_row(int lane) { return lane & 15; }
  __host__ __device__ static constexpr int a_chunk(int lane) { return lane >> 4; }
  // [n][k] B pair: matrices (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15).
  __host__ __device__ static constexpr int nk_row(int lane) { return ((lane >> 4) << 3) + (lane & 7); }
  __host__ __device__ static constexpr int nk_chunk(int lane) { return (lane >> 3) & 1; }
  // [k][n] B pair, transposed: matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15).
  __host__ __device__ static constexpr int kn_row(int lane) { return (((lane >> 3) & 1) << 3) + (lane & 7); }
  __host__ __device__ static constexpr int kn_chunk(int lane) { return lane >> 4; }
};

template <MathMode kMath>
struct Operand;

// fp16 / bf16: m16n8k16, fragments straight from ldmatrix.
template <typename T, bool kBf16>
struct HalfOperand {
  using Elem = T;
  static constexpr int kElemBytes = 2;
  static constexpr int kK = 16;
  // How many k steps of a pipeline slot the split kernels unroll (64: all of them). The fp32-accurate
  // operands add each step with FADDs (add_rounded); unrolling those steps spilled registers.
  static constexpr int kStepUnroll = 64;
  static constexpr Access kAccessA = Access::kLdmatrix;
  static constexpr Access kAccessNK = Access::kLdmatrix;
  static constexpr Access kAccessKN = Access::kLdmatrix;

  struct A {
    uint32_t r[4];
  };
  struct B {
    uint32_t r[2];
  };

  // A operand: rows row0..row0+15, k col0..col0+15 of a row-major tile; the four matrices land in
  // r0..r3 as the A fragment wants. row0 and the column origins below are multiples of 16.
  template <class L>
  __device__ __forceinline__ static void load_a(A& a, const unsigned char* tile, int row0, int col0, int lane) {
    ptx::ldmatrix_x4(a.r, ptx::shared_address(tile + L::lane_offset(row0, col0 / 16, LdmatrixLanes::a_row(lane),
                                                                     LdmatrixLanes::a_chunk(lane))));
  }

  // B operands of the n-tiles n0..n0+7 (b[0]) and n0+8..n0+15 (b[1]), k k0..k0+15, from a [n][k] tile.
  template <class L>
  __device__ __forceinline__ static void load_b_nk(B (&b)[2], const unsigned char* tile, int n0, int k0, int lane) {
    uint32_t r[4];
    ptx::ldmatrix_x4(r, ptx::shared_address(tile + L::lane_offset(n0, k0 / 16, LdmatrixLanes::nk_row(lane),
                                                                   LdmatrixLanes::nk_chunk(lane))));
    b[0].r[0] = r[0];
    b[0].r[1] = r[1];
    b[1].r[0] = r[2];
    b[1].r[1] = r[3];
  }

  // Same from a [k][n] tile, transposed by ldmatrix.
  template <class L>
  __device__ __forceinline__ static void load_b_kn(B (&b)[2], const unsigned char* tile, int k0, int n0, int lane) {
    uint32_t r[4];
    ptx::ldmatrix_x4_trans(r, ptx::shared_address(tile + L::lane_offset(k0, n0 / 16, LdmatrixLanes::kn_row(lane),
                                                                         LdmatrixLanes::kn_chunk(lane))));
    b[0].r[0] = r[0];
    b[0].r[1] = r[1];
    b[1].r[0] = r[2];
    b[1].r[1] = r[3];
  }

  // The A operand of one k16 step of P V from the fp32 accumulators of S: `lo` is the n-tile of keys
  // k0..k0+7, `hi` of k0+8..k0+15 (accumulator columns 2t, 2t + 1 are exactly the A columns 2t, 2t + 1).
  __device__ __forceinline__ static void a_from_accumulators(A& a, const float (&lo)[4], const float (&hi)[4]) {
    a.r[0] = pack2<T>(lo[0], lo[1]);
    a.r[1] = pack2<T>(lo[2], lo[3]);
    a.r[2] = pack2<T>(hi[0], hi[1]);
    a.r[3] = pack2<T>(hi[2], hi[3]);
  }

  __device__ __forceinline__ static void mma(float (&d)[4], const A& a, const B& b) {
    if constexpr (kBf16) {
      ptx::mma_m16n8k16_bf16(d, a.r, b.r);
    } else {
      ptx::mma_m16n8k16_f16(d, a.r, b.r);
    }
  }
};

template <>
struct Operand<MathMode::kFp16> : HalfOperand<__half, false> {};
template <>
struct Operand<MathMode::kBf16> : HalfOperand<__nv_bfloat16, true> {};

// The fp32-accurate products do not chain their k steps through the tensor cores' accumulator: it
// adds with truncation, a bias that grows linearly with the number of steps (d128 fp32 attention,
// 2048 keys: relerr 1.9e-5; a float64 model of chained truncation gives 5.7e-6 at 2048 keys and
// 2.3e-5 at 8192, and 2.5e-7 / 5.0e-7 with fresh steps). Each step's sum lands in a zeroed fragment
// and joins the total here with round-to-nearest.
__device__ __forceinline__ void add_rounded(float (&d)[4], const float (&step)[4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) d[i] += step[i];
}

// What the fp32 operands share: their elements, and the kPairs loads of A (lane (g, t) reads columns
// 2t, 2t + 1 of rows g and g + 8) and of an [n][k] B pair (columns 2t, 2t + 1 of n rows g and 8 + g),
// each handed to the operand's make_a / make_b, which decide the fragments.
template <class Derived>
struct Fp32PairLoads {
  using Elem = float;
  static constexpr int kElemBytes = 4;
  static constexpr int kK = 8;
  static constexpr Access kAccessA = Access::kPairs;
  static constexpr Access kAccessNK = Access::kPairs;

  template <class L, class A>
  __device__ __forceinline__ static void load_a(A& a, const unsigned char* tile, int row0, int col0, int lane) {
    const int g = lane >> 2, t = lane & 3;
    const float2 lo = *reinterpret_cast<const float2*>(tile + L::offset(row0 + g, col0 + 2 * t));
    const float2 hi = *reinterpret_cast<const float2*>(tile + L::offset(row0 + g + 8, col0 + 2 * t));
    Derived::make_a(a, lo.x, lo.y, hi.x, hi.y);
  }

  template <class L, class B>
  __device__ __forceinline__ static void load_b_nk(B (&b)[2], const unsigned char* tile, int n0, int k0, int lane) {
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float2 y = *reinterpret_cast<const float2*>(tile + L::offset(n0 + 8 * i + g, k0 + 2 * t));
      Derived::make_b(b[i], y.x, y.y);
    }
  }
};

// fp32 operands: m16n8k8 TF32. Inside one k8 step the k index is permuted: mma k t <-> column 2t and
// mma k t + 4 <-> column 2t + 1 (the same permutation for A and B, so the product is unchanged), which
// lets a lane read its two A (or NK B) elements with one 8-byte load.
//
// kSplit (kTf32x3): x = big + small with big = tf32(x), small = x - big (exact). The product is
//   big_a * big_b (TF32 mma) + small_a * b + a * small_b (one bf16 m16n8k16 mma whose k 0-7 carry
//   (small_a, b) and k 8-15 carry (a, small_b) of the same 8 columns).
// Dropping small_a * small_b costs 2^-22 relative; rounding the cross terms to bf16 costs about 2^-19
// of |a b| per product: fp32-class results (about 1e-6 relative) at 2 tensor-core issues per k8 step
// instead of the 3 of three TF32 products.
template <bool kSplit>
struct Fp32Operand : Fp32PairLoads<Fp32Operand<kSplit>> {
  static constexpr int kStepUnroll = kSplit ? 1 : 64;
  static constexpr Access kAccessKN = Access::kColumns;

  struct A {
    uint32_t big[4];
    uint32_t cross[kSplit ? 4 : 1];
  };
  struct B {
    uint32_t big[2];
    uint32_t cross[kSplit ? 2 : 1];
  };

  // x00, x01: row g, columns 2t, 2t + 1; x10, x11: row g + 8.
  __device__ __forceinline__ static void make_a(A& a, float x00, float x01, float x10, float x11) {
    a.big[0] = ptx::to_tf32(x00);
    a.big[1] = ptx::to_tf32(x10);
    a.big[2] = ptx::to_tf32(x01);
    a.big[3] = ptx::to_tf32(x11);
    if constexpr (kSplit) {
      a.cross[0] = pack2<__nv_bfloat16>(x00 - __uint_as_float(a.big[0]), x01 - __uint_as_float(a.big[2]));
      a.cross[1] = pack2<__nv_bfloat16>(x10 - __uint_as_float(a.big[1]), x11 - __uint_as_float(a.big[3]));
      a.cross[2] = pack2<__nv_bfloat16>(x00, x01);
      a.cross[3] = pack2<__nv_bfloat16>(x10, x11);
    }
  }

  // y0, y1: column n = g, k = 2t, 2t + 1.
  __device__ __forceinline__ static void make_b(B& b, float y0, float y1) {
    b.big[0] = ptx::to_tf32(y0);
    b.big[1] = ptx::to_tf32(y1);
    if constexpr (kSplit) {
      b.cross[0] = pack2<__nv_bfloat16>(y0, y1);
      b.cross[1] = pack2<__nv_bfloat16>(y0 - __uint_as_float(b.big[0]), y1 - __uint_as_float(b.big[1]));
    }
  }

  template <class L>
  __device__ __forceinline__ static void load_b_kn(B (&b)[2], const unsigned char* tile, int k0, int n0, int lane) {
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float y0 = *reinterpret_cast<const float*>(tile + L::offset(k0 + 2 * t, n0 + 8 * i + g));
      const float y1 = *reinterpret_cast<const float*>(tile + L::offset(k0 + 2 * t + 1, n0 + 8 * i + g));
      make_b(b[i], y0, y1);
    }
  }

  // kSplit sums each k8 step into a zeroed fragment and adds that with rounded FADDs (see
  // add_rounded); TF32's own rounding dwarfs the tensor cores' truncation, so kTf32 chains.
  __device__ __forceinline__ static void mma(float (&d)[4], const A& a, const B& b) {
    if constexpr (kSplit) {
      float step[4];
      ptx::mma_m16n8k8_tf32_zero_c(step, a.big, b.big);
      ptx::mma_m16n8k16_bf16(step, a.cross, b.cross);
      add_rounded(d, step);
    } else {
      ptx::mma_m16n8k8_tf32(d, a.big, b.big);
    }
  }
};

template <>
struct Operand<MathMode::kTf32> : Fp32Operand<false> {};
template <>
struct Operand<MathMode::kTf32x3> : Fp32Operand<true> {};

// The scores S = Q K^T of kTf32x3: x = hi + mid + lo, three bf16 pieces (each the round-to-nearest of
// what the previous ones leave, so all subtractions are exact and x keeps its 24 bits). The product is
// hi_a hi_b + hi_a mid_b + mid_a hi_b + mid_a mid_b + hi_a lo_b + lo_a hi_b (terms left out: 2^-26 of
// |a b|) as three bf16 m16n8k16 mma, each carrying two of them in its k 0-7 and k 8-15 halves.
// Why not the cheaper Fp32Operand<true> here: softmax turns an absolute error e of scale * s into a
// relative error e of p, and its 2^-19 * scale * sum |q k| made outputs of scale-1.7 D-64 causal
// attention miss twice torch's error by 1.6x at worst (host emulation); this scheme stays below
// 0.02x of that bound. P V keeps Fp32Operand<true>: its error is not amplified.
struct Bf16x6Operand : Fp32PairLoads<Bf16x6Operand> {
  static constexpr int kStepUnroll = 1;

  // One bf16 pair per piece: columns 2t, 2t + 1 of the k8 step, bf16 k 2t, 2t + 1 of either k16 half.
  struct Pieces {
    uint32_t hi, mid, lo;
  };
  struct A {
    Pieces row[2];  // rows g, g + 8
  };
  struct B {
    Pieces col;  // column n = g
  };

  __device__ __forceinline__ static float low_half(uint32_t u) { return __uint_as_float(u << 16); }
  __device__ __forceinline__ static float high_half(uint32_t u) { return __uint_as_float(u & 0xffff0000u); }

  __device__ __forceinline__ static Pieces split(float x0, float x1) {
    Pieces p;
    p.hi = pack2<__nv_bfloat16>(x0, x1);
    x0 -= low_half(p.hi);
    x1 -= high_half(p.hi);
    p.mid = pack2<__nv_bfloat16>(x0, x1);
    x0 -= low_half(p.mid);
    x1 -= high_half(p.mid);
    p.lo = pack2<__nv_bfloat16>(x0, x1);
    return p;
  }

  // x00, x01: row g, columns 2t, 2t + 1; x10, x11: row g + 8.
  __device__ __forceinline__ static void make_a(A& a, float x00, float x01, float x10, float x11) {
    a.row[0] = split(x00, x01);
    a.row[1] = split(x10, x11);
  }

  // y0, y1: column n = g, k = 2t, 2t + 1.
  __device__ __forceinline__ static void make_b(B& b, float y0, float y1) { b.col = split(y0, y1); }

  // Smallest terms first, into a zeroed fragment (add_rounded).
  __device__ __forceinline__ static void mma(float (&d)[4], const A& a, const B& b) {
    const Pieces &r0 = a.row[0], &r1 = a.row[1], &c = b.col;
    float step[4];
    ptx::mma_m16n8k16_bf16_zero_c(step, {r0.hi, r1.hi, r0.lo, r1.lo}, {c.lo, c.hi});
    ptx::mma_m16n8k16_bf16(step, {r0.mid, r1.mid, r0.mid, r1.mid}, {c.hi, c.mid});
    ptx::mma_m16n8k16_bf16(step, {r0.hi, r1.hi, r0.hi, r1.hi}, {c.hi, c.mid});
    add_rounded(d, step);
  }
};

// The operand of S = Q K^T: the math mode's own, except kTf32x3 (see Bf16x6Operand).
template <MathMode kMath>
struct ScoreOperand : Operand<kMath> {};
template <>
struct ScoreOperand<MathMode::kTf32x3> : Bf16x6Operand {};

}  // namespace tilekernels::attention::detail
