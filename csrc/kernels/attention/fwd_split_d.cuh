#pragma once
// kSplitD: forward for large head dims and any seq_k (split_common.cuh describes the warp grid).
//
// Per block of kBKV keys the pipeline carries ceil(head_dim / kDK) (Q piece, K piece) slots, after
// which the block's softmax writes P, rescales O by alpha, and then kBKV / kKB slots of V
// (kKB keys x all kD columns) accumulate O += P V. O (block_q x head_dim, fp32) stays in registers,
// split by columns over the kWN warps of a row, so block_q is small (32 rows for D = 1024).
// Shared memory: kStages slots, P [kBQ][kBKV], red [kWN][kBQ].
#include <cstdint>

#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/split_common.cuh"
#include "kernels/attention/tile_io.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct SplitDKernel {
  using S = SplitShape<kConfig>;
  using Op = typename S::Op;
  using T = typename S::T;
  static constexpr int kSmemBytes = S::kRedOffset + 4 * S::kWN * S::kBQ;
  static constexpr int kThreads = S::kThreads;
  static_assert(S::kCfg.kernel == Kernel::kSplitD, "not a kSplitD configuration");
  static_assert(S::kDO == S::kD, "kSplitD keeps all of O resident");

  __device__ __forceinline__ static void run(const KernelArgs& args) {
    extern __shared__ __align__(128) unsigned char smem[];
    const Params& p = args.p;
    const SplitCta<S> cta(args);
    if (skips_unflagged_tile(p, cta.bh, cta.q0)) return;
    const int lane = cta.lane, wm = cta.wm, wn = cta.wn, g = cta.g, t = cta.t;
    const auto& head = cta.head;
    const int seq_q = cta.seq_q, seq_k = cta.seq_k, head_dim = cta.head_dim, q0 = cta.q0;
    const int num_blocks = cta.num_blocks, num_d = cta.num_d;
    constexpr int kNumPv = S::kBKV / S::kKB;  // V pieces per block

    unsigned char* p_tile = smem + S::kPOffset;
    float* red = reinterpret_cast<float*>(smem + S::kRedOffset);

    // Producer: walks the jobs (block blk; piece r < num_d: Q and K columns r * kDK, else the V keys
    // blk * kBKV + (r - num_d) * kKB) in order, one slot each, without divisions.
    int p_blk = 0, p_r = 0;
    auto issue = [&](unsigned char* dst) {
      if (p_blk < num_blocks) {
        if (p_r < num_d) {
          cta.q_copy.issue(dst, head.q, p.q_row_stride, q0, seq_q, p_r * S::kDK, head_dim);
          cta.k_copy.issue(dst + S::QL::kBytes, head.k, p.k_row_stride, p_blk * S::kBKV, seq_k, p_r * S::kDK, head_dim);
        } else {
          cta.v_copy.issue(dst, head.v, p.v_row_stride, p_blk * S::kBKV + (p_r - num_d) * S::kKB, seq_k, 0, head_dim);
        }
        if (++p_r == num_d + kNumPv) {
          p_r = 0;
          ++p_blk;
        }
      }
    };
    auto ring = make_slot_ring<S>(smem, issue);

    RowState<S> st;
    st.init();
    float o[S::kMS][S::kNTO][4];
    zero_fragments(o);

    for (int blk = 0; blk < num_blocks; ++blk) {
      float s[S::kMS][S::kNTS][4];
      zero_fragments(s);
      for (int r = 0; r < num_d; ++r) {
        s_step<S>(s, ring.begin_step(), wm, wn, lane);
        ring.end_step();
      }
      // P of the previous block was last read in its V steps, which every thread finished before
      // passing the barrier of this block's first (Q, K) step.
      float alpha[S::kMS][2], m_used[S::kMS][2];
      softmax_block<S>(s, st, red, alpha, m_used, p_tile, 0, blk * S::kBKV, q0, seq_k, p.causal, args.scale_log2, wm,
                       wn, g, t);
#pragma unroll
      for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
        for (int nt = 0; nt < S::kNTO; ++nt) {
          o[mi][nt][0] *= alpha[mi][0];
          o[mi][nt][1] *= alpha[mi][0];
          o[mi][nt][2] *= alpha[mi][1];
          o[mi][nt][3] *= alpha[mi][1];
        }
      }
      // The first V step's barrier also publishes P.
#pragma unroll 1
      for (int r = 0; r < kNumPv; ++r) {
        pv_step<S>(o, p_tile, r * S::kKB, ring.begin_step(), wm, wn, lane);
        ring.end_step();
      }
    }

    // `red` was last read in the final softmax_block, before the barriers of the final V steps.
    float inv_l[S::kMS][2];
    finish_rows<S>(st, red, inv_l, head.lse, q0, seq_q, wm, wn, g, t);
    store_rows<T>(head.out, p.out_row_stride, o, inv_l, q0 + wm * S::kRS, seq_q, wn * S::kCO, head_dim, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(SplitDKernel<kConfig>::kThreads, 1) split_d_fwd_kernel(const KernelArgs args) {
  SplitDKernel<kConfig>::run(args);
}

}  // namespace tilekernels::attention::detail
