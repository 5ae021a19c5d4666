#pragma once
// kTwoPhase: forward for large head dims when the whole P row block fits in shared memory
// (seq_k <= max_seq_k; split_common.cuh describes the warp grid).
//
// Phase 1: for each block of kBKV keys, ceil(head_dim / kDK) (Q piece, K piece) slots accumulate S;
// the block's softmax writes p = exp2(s - m_b) into P columns of that block, m_b being the running
// row max at that block. Afterwards P of the earlier blocks is rescaled in place by exp2(m_b - m),
// m the final row max, and 1 / l is kept per row.
// Phase 2: for each kDO-column chunk of O, ceil(kv_end / kKB) slots of V (kKB keys x kDO columns)
// accumulate O_chunk = P V_chunk, which is then scaled by 1 / l and stored. K and V are each read once
// per CTA, Q once per key block, and O never has to be resident (block_q = 128 at D = 1024).
// Shared memory: kStages slots, P [kBQ][max_seq_k], red [kWN][kBQ], block maxima [blocks][kBQ],
// final maxima [kBQ].
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/split_common.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/attention/two_phase_wgmma.cuh"
#include "kernels/ptx/ex2.cuh"

namespace tilekernels::attention::detail {

// The warp grid of the products: the row's warps_m x warps_n (mma.sync), or wgmma's warps x 1.
template <int kConfig, bool kWgmma = kTileConfigs[kConfig].is_wgmma()>
struct ProductShape {
  using type = SplitShape<kConfig>;
};
template <int kConfig>
struct ProductShape<kConfig, true> {
  using type = WgmmaShape<kConfig>;
};

template <int kConfig>
struct TwoPhaseKernel {
  using S = typename ProductShape<kConfig>::type;  // the shape both phases work in
  using Op = typename S::Op;
  using T = typename S::T;
  static constexpr bool kWgmma = S::kCfg.is_wgmma();
  static constexpr int kMaxBlocks = S::kPCols / S::kBKV;
  static constexpr int kBlockMaxOffset = S::kRedOffset + 4 * S::kWN * S::kBQ;  // float [kMaxBlocks][kBQ]
  static constexpr int kFinalMaxOffset = kBlockMaxOffset + 4 * kMaxBlocks * S::kBQ;  // float [kBQ]
  static constexpr int kSmemBytes = kFinalMaxOffset + 4 * S::kBQ;
  static constexpr int kThreads = S::kThreads;
  static_assert(S::kCfg.kernel == Kernel::kTwoPhase, "not a kTwoPhase configuration");

  // Phase 1: S block by block, each block's softmax into P, the block maxima, the final row maxima,
  // and 1 / l (and lse) of the rows this thread owns.
  template <class Ring>
  __device__ __forceinline__ static void phase_one(const SplitCta<S>& cta, const KernelArgs& args, Ring& ring,
                                                   unsigned char* p_tile, float* red, float* block_max,
                                                   float* final_max, float (&inv_l)[S::kMS][2]) {
    const int lane = cta.lane, wm = cta.wm, wn = cta.wn, g = cta.g, t = cta.t;
    RowState<S> st;
    st.init();
    for (int blk = 0; blk < cta.num_blocks; ++blk) {
      float s[S::kMS][S::kNTS][4];
      zero_fragments(s);
      for (int dc = 0; dc < cta.num_d; ++dc) {
        if constexpr (kWgmma) {
          s_step_wgmma<S>(s, ring.template begin_step<true>(), wm, lane);
        } else {
          s_step<S>(s, ring.begin_step(), wm, wn, lane);
        }
        ring.end_step();
      }
      float alpha[S::kMS][2], m_used[S::kMS][2];  // alpha: the rescale lives in the block maxima
      softmax_block<S>(s, st, red, alpha, m_used, p_tile, blk * S::kBKV, blk * S::kBKV, cta.q0, cta.seq_k,
                           args.p.causal, args.scale_log2, wm, wn, g, t);
      if (wn == 0 && t == 0) {
#pragma unroll
        for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
          for (int hf = 0; hf < 2; ++hf) {
            block_max[blk * S::kBQ + wm * S::kRS + mi * 16 + g + 8 * hf] = m_used[mi][hf];
          }
        }
      }
    }

    // Every thread is past the last softmax_block (its reads of `red`, its writes of P / block_max).
    __syncthreads();
    if (wn == 0 && t == 0) {
#pragma unroll
      for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          final_max[wm * S::kRS + mi * 16 + g + 8 * hf] = finite_max(st.m_run[mi][hf]);
        }
      }
    }
    finish_rows<S>(st, red, inv_l, cta.head.lse, cta.q0, cta.seq_q, wm, wn, g, t);  // publishes final_max
  }

  __device__ __forceinline__ static void run(const KernelArgs& args) {
    // 1024-byte aligned: wgmma reads the K pieces with its swizzle, which sees absolute address bits
    // (a name of its own: the other kernels declare the dynamic shared memory 128-byte aligned).
    extern __shared__ __align__(1024) unsigned char two_phase_dynamic_smem[];
    unsigned char* smem = two_phase_dynamic_smem;
    const Params& p = args.p;
    const SplitCta<S> cta(args);
    if (skips_unflagged_tile(p, cta.bh, cta.q0)) return;
    const int tid = cta.tid, lane = cta.lane, wm = cta.wm, wn = cta.wn, g = cta.g, t = cta.t;
    const auto& head = cta.head;
    const int seq_q = cta.seq_q, seq_k = cta.seq_k, head_dim = cta.head_dim, q0 = cta.q0;
    const int kv_end = cta.kv_end, num_blocks = cta.num_blocks, num_d = cta.num_d;
    const int num_o = (head_dim + S::kDO - 1) / S::kDO;  // O chunks
    const int num_kb = (kv_end + S::kKB - 1) / S::kKB;   // V pieces per O chunk

    unsigned char* p_tile = smem + S::kPOffset;
    float* red = reinterpret_cast<float*>(smem + S::kRedOffset);
    float* block_max = reinterpret_cast<float*>(smem + kBlockMaxOffset);
    float* final_max = reinterpret_cast<float*>(smem + kFinalMaxOffset);

    // Producer: phase 0 walks (key block a, d piece b), phase 1 (O chunk a, V piece b), one slot per
    // job, without divisions.
    int p_phase = 0, p_a = 0, p_b = 0;
    auto issue = [&](unsigned char* dst) {
      if (p_phase == 0) {
        cta.q_copy.issue(dst, head.q, p.q_row_stride, q0, seq_q, p_b * S::kDK, head_dim);
        cta.k_copy.issue(dst + S::QL::kBytes, head.k, p.k_row_stride, p_a * S::kBKV, seq_k, p_b * S::kDK, head_dim);
        if (++p_b == num_d) {
          p_b = 0;
          if (++p_a == num_blocks) {
            p_a = 0;
            p_phase = 1;
          }
        }
      } else if (p_phase == 1) {
        cta.v_copy.issue(dst, head.v, p.v_row_stride, p_b * S::kKB, seq_k, p_a * S::kDO, head_dim);
        if (++p_b == num_kb) {
          p_b = 0;
          if (++p_a == num_o) p_phase = 2;
        }
      }
    };
    auto ring = make_slot_ring<S>(smem, issue);

    // Phase 1: P row block.
    float inv_l[S::kMS][2];
    phase_one(cta, args, ring, p_tile, red, block_max, final_max, inv_l);

    // Rescale the P blocks before the last one to the final row max (factor <= 1; blocks whose rows
    // were all masked hold zeros and keep them).
    if (num_blocks > 1) {
      constexpr int kChunkElems = S::PL::kChunkElems;
      const int chunks_per_row = (num_blocks - 1) * (S::kBKV / kChunkElems);
      const int total = S::kBQ * chunks_per_row;
      for (int idx = tid; idx < total; idx += kThreads) {
        const int row = idx / chunks_per_row;
        const int chunk = idx - row * chunks_per_row;
        const int blk = chunk / (S::kBKV / kChunkElems);
        const float f = ptx::ex2_approx(fminf(block_max[blk * S::kBQ + row] - final_max[row], 0.0f));
        if (f != 1.0f) {
          uint4* c = reinterpret_cast<uint4*>(p_tile + S::PL::chunk_offset(row, chunk));
          uint4 v = *c;
          if constexpr (S::kE == 2) {
            uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
              typename std::conditional<std::is_same<T, __half>::value, __half2, __nv_bfloat162>::type h;
              memcpy(&h, &w[i], 4);
              float2 x;
              if constexpr (std::is_same<T, __half>::value) {
                x = __half22float2(h);
              } else {
                x = __bfloat1622float2(h);
              }
              w[i] = pack2<T>(x.x * f, x.y * f);
            }
            v = make_uint4(w[0], w[1], w[2], w[3]);
          } else {
            v = make_uint4(__float_as_uint(__uint_as_float(v.x) * f), __float_as_uint(__uint_as_float(v.y) * f),
                           __float_as_uint(__uint_as_float(v.z) * f), __float_as_uint(__uint_as_float(v.w) * f));
          }
          *c = v;
        }
      }
    }
    __syncthreads();  // rescaled P visible to every warp

    // Phase 2: O chunk by chunk.
    for (int oc = 0; oc < num_o; ++oc) {
      float o[S::kMS][S::kNTO][4];
      zero_fragments(o);
      for (int kb = 0; kb < num_kb; ++kb) {
        if constexpr (kWgmma) {
          pv_step_wgmma<S>(o, p_tile, kb * S::kKB, ring.template begin_step<true>(), wm, lane);
        } else {
          pv_step<S>(o, p_tile, kb * S::kKB, ring.begin_step(), wm, wn, lane);
        }
        ring.end_step();
      }
      store_rows<T>(head.out, p.out_row_stride, o, inv_l, q0 + wm * S::kRS, seq_q, oc * S::kDO + wn * S::kCO,
                    head_dim, g, t);
    }
  }
};

template <int kConfig>
__global__ void __launch_bounds__(TwoPhaseKernel<kConfig>::kThreads, 1) two_phase_fwd_kernel(const KernelArgs args) {
  if constexpr (kTileConfigs[kConfig].is_wgmma()) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    TwoPhaseKernel<kConfig>::run(args);
#endif
  } else {
    TwoPhaseKernel<kConfig>::run(args);
  }
}

}  // namespace tilekernels::attention::detail
