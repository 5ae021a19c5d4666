#pragma once
// One warpgroup's state and products of the flash step on Hopper wgmma, shared by the kRegister wgmma
// rows (fwd_register_wgmma.cuh) and the warp-specialized consumers (fwd_warp_specialized.cuh): the
// warpgroup owns 64 query rows (warp w: 16 of them) and the whole head dimension of their O.
//   S = Q K^T  as m64n{kBKV}k16, both operands in shared memory (K-major, 128-byte column segments:
//              a k16 step is 32 bytes into segment kk / 4);
//   O += P V   as m64n{kD}k16, P from registers (S's accumulators converted in place: the accumulator
//              layout of S is wgmma's register A layout), V read MN-major.
// The softmax between them is the kRegister one (online_softmax.cuh). The caller orders the commit
// groups and waits; after a wait it marks what completed with the keep_* calls, so the compiler reads
// the results no earlier.
#include <cstdint>

#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/online_softmax.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <MathMode kMath, int kBQ, int kBKV, int kD>
struct WgmmaFlashStep {
  using Op = Operand<kMath>;
  static constexpr bool kBf16 = kMath == MathMode::kBf16;
  static constexpr int kNT = kBKV / 8;   // n8 tiles of S per warp
  static constexpr int kDT = kD / 8;     // n8 tiles of O per warp
  static constexpr int kKS = kD / 16;    // k16 steps of Q K^T
  static constexpr int kPK = kBKV / 16;  // k16 steps of P V

  float o[1][kDT][4];
  float s[1][kNT][4];
  typename Op::A pa[kPK];
  OnlineSoftmax<1, kNT, kDT> softmax;
  float alpha[2];  // O's row factors after a moved reference max

  __device__ __forceinline__ explicit WgmmaFlashStep(float scale_log2) : softmax(scale_log2) { zero_fragments(o); }

  __device__ __forceinline__ float (&o_acc())[kDT * 4] { return reinterpret_cast<float(&)[kDT * 4]>(o); }
  __device__ __forceinline__ float (&s_acc())[kNT * 4] { return reinterpret_cast<float(&)[kNT * 4]>(s); }

  // S = Q K^T (one commit group): q_rows is the warpgroup's first row of Q's first segment (Q's
  // segments are kBQ rows apart), k_tile a K tile.
  __device__ __forceinline__ void issue_scores(uint32_t q_rows, uint32_t k_tile) {
#pragma unroll
    for (int kk = 0; kk < kKS; ++kk) {
      const uint32_t col = (kk % 4) * 32;
      const uint64_t a_desc = ptx::wgmma_sw128_desc(q_rows + (kk / 4) * (kBQ * 128) + col);
      const uint64_t b_desc = ptx::wgmma_sw128_desc(k_tile + (kk / 4) * (kBKV * 128) + col);
      ptx::wgmma_m64k16_f16_ss<kBKV, kBf16, 0>(s_acc(), a_desc, b_desc, kk > 0 ? 1 : 0);
    }
    ptx::wgmma_commit();
  }
  // O += P V (one commit group): k16 step kk covers keys 16 kk.. (two 1024-byte groups).
  __device__ __forceinline__ void issue_pv(uint32_t v_tile) {
#pragma unroll
    for (int kk = 0; kk < kPK; ++kk) {
      const uint64_t b_desc = ptx::wgmma_sw128_mn_desc(v_tile + 2048 * kk, kBKV * 128, 1024);
      ptx::wgmma_m64k16_f16_rs<kD, kBf16, 1>(o_acc(), pa[kk].r, b_desc, 1);
    }
    ptx::wgmma_commit();
  }
  // The softmax of the scores in s, for the warp's rows from row0 and keys from kv0. When the
  // reference max moved it returns true and leaves O's row factors in alpha, for the caller to apply
  // (rescale_o) once O is no longer in flight.
  __device__ __forceinline__ bool scores_to_p(int row0, int kv0, int seq_k, bool causal, bool needs_mask, int g,
                                              int t) {
    bool moved = false;
    softmax.update_max(s, row0, kv0, seq_k, causal, needs_mask, g, t, [&](int, int hf, float a) {
      alpha[hf] = a;
      moved = true;
    });
    softmax.exponentiate(s);
    return moved;
  }
  __device__ __forceinline__ void rescale_o() {
#pragma unroll
    for (int i = 0; i < kDT * 4; ++i) o_acc()[i] *= alpha[(i >> 1) & 1];
  }
  __device__ __forceinline__ void p_to_fragments() {
#pragma unroll
    for (int kk = 0; kk < kPK; ++kk) Op::a_from_accumulators(pa[kk], s[0][2 * kk], s[0][2 * kk + 1]);
  }
  __device__ __forceinline__ void keep_scores() { keep(s_acc()); }
  // O, and P's fragments (read by the same products).
  __device__ __forceinline__ void keep_o_and_p() {
    keep(o_acc());
#pragma unroll
    for (int kk = 0; kk < kPK; ++kk) {
#pragma unroll
      for (int i = 0; i < 4; ++i) ptx::wgmma_keep(pa[kk].r[i]);
    }
  }

 private:
  template <int kN>
  __device__ __forceinline__ static void keep(float (&acc)[kN]) {
#pragma unroll
    for (int i = 0; i < kN; ++i) ptx::wgmma_keep(acc[i]);
  }
};

}  // namespace tilekernels::attention::detail
