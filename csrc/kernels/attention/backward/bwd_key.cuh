#pragma once
// The backward's key-block kernel (mma.sync, fp16 / bf16): dK and dV of block_kv keys of one kv head.
//
// Warp w owns keys [16 kMT w, 16 kMT (w + 1)) of the block with the whole head dimension of their dK
// and dV (fp32 accumulators in registers). K and V stay in shared memory; the query blocks of every
// query head sharing the kv head stream through a `stages`-deep cp.async ring (Q, dO, and the rows'
// lse and delta), one job per (head, query block). Per job the warp computes, with keys as the M
// dimension so that every product's A operand is either in shared memory or in registers already:
//   S^T = K Q^T, P^T = exp2(scale log2(e) S^T - log2(e) lse)   (the accumulator layout is the A
//   dV += P^T dO                                                 layout of the next product, as P is
//   dP^T = V dO^T, dS^T = P^T (dP^T - delta)                     for P V in the forward)
//   dK += dS^T Q
// and at the end stores scale dK and dV. A CTA sums over all query heads of its kv head itself, so no
// atomics are needed and the result is deterministic. Causal (top-left): key j gets gradients from rows
// i >= j only, so the walk starts at the query block holding row k0.
#include <cstdint>

#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/backward/bwd_key_feed.cuh"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/mma_products.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ex2.cuh"
#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct BackwardKeyKernel {
  static constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBKV = kCfg.keys.block_kv;
  static constexpr int kWarps = kCfg.keys.warps;
  static constexpr int kBQ = kCfg.keys.block_q;
  static constexpr int kStages = kCfg.keys.stages;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kMT = kBKV / (16 * kWarps);  // m16 tiles of keys per warp
  static constexpr int kNQ = kBQ / 8;               // n8 tiles of query columns in S^T and dP^T
  static constexpr int kDT = kD / 8;                // n8 tiles of dK and dV
  static constexpr int kKD = kD / 16;               // k16 steps over the head dim

  using KVL = TileLayout<kBKV, kD, 2, Access::kLdmatrix>;  // K, V
  using QL = TileLayout<kBQ, kD, 2, Access::kLdmatrix>;    // Q, dO
  static constexpr int kVectorBytes = 4 * kBQ;             // lse or delta of a query block
  static constexpr int kSlotBytes = 2 * QL::kBytes + 2 * kVectorBytes;
  using Feed = KeyBlockFeed<QL, KVL, kThreads, T, kBQ, kBKV, kSlotBytes>;
  static constexpr int kSmemBytes = 2 * KVL::kBytes + kStages * kSlotBytes;

  static_assert(!kCfg.keys.wgmma, "a wgmma key-block row (bwd_key_wgmma.cuh)");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kBKV % (16 * kWarps) == 0 && kMT >= 1, "block_kv must be a multiple of 16 * warps");
  static_assert(kBQ % 16 == 0 && kD % 16 == 0, "block_q and head_dim must be multiples of 16");
  static_assert(kStages >= 2, "the ring needs at least two stages");
  static_assert(QL::kBytes % 16 == 0 && KVL::kBytes % 16 == 0 && kVectorBytes % 16 == 0, "16-byte aligned slots");

  __device__ __forceinline__ static void run(const BackwardParams& p) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int g = lane >> 2;
    const int t = lane & 3;

    const Feed feed(p, smem, tid);
    feed.template prologue<kStages>(p, tid);
    const int seq_q = feed.seq_q, k0 = feed.k0;
    unsigned char* k_smem = feed.k_smem();
    unsigned char* v_smem = feed.v_smem();

    float dk[kMT][kDT][4], dv[kMT][kDT][4];
    zero_fragments(dk);
    zero_fragments(dv);
    const int warp_key0 = warp * 16 * kMT;  // within the block
    const float c = p.scale * kLog2e;

    for (int j = 0; j < feed.num_jobs; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // job j landed for this thread's copies ...
      __syncthreads();                    // ... and everyone's; everyone is done with job j - 1's slot
      feed.template load_ahead<kStages>(p, j, tid);  // into the slot job j - 1 used
      const unsigned char* qs = feed.slot(j % kStages);
      const unsigned char* dos = qs + QL::kBytes;
      const float* lse = reinterpret_cast<const float*>(qs + 2 * QL::kBytes);
      const float* delta = lse + kBQ;
      const int q0 = feed.q0(j);

      // S^T = K Q^T (keys x query rows).
      float st[kMT][kNQ][4];
      product_nk<Op, KVL, QL, kMT, kNQ, kKD>(st, k_smem, warp_key0, qs, lane);

      // P^T; masked: rows past seq_q and (causal) rows before the key.
      const bool needs_mask = q0 + kBQ > seq_q || (p.causal && q0 < k0 + kBKV - 1);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
        for (int nt = 0; nt < kNQ; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int col = nt * 8 + 2 * t + (i & 1);
            float pt = ptx::ex2_approx(fmaf(st[mi][nt][i], c, -lse[col] * kLog2e));
            if (needs_mask) {
              const int row = q0 + col;
              const int key = k0 + warp_key0 + mi * 16 + g + ((i >> 1) << 3);
              if (row >= seq_q || (p.causal && key > row)) pt = 0.0f;
            }
            st[mi][nt][i] = pt;
          }
        }
      }

      // dV += P^T dO.
      product_kn<Op, QL>(dv, st, dos, lane);

      // dP^T = V dO^T, then dS^T = P^T (dP^T - delta) in place of P^T.
      float dpt[kMT][kNQ][4];
      product_nk<Op, KVL, QL, kMT, kNQ, kKD>(dpt, v_smem, warp_key0, dos, lane);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
        for (int nt = 0; nt < kNQ; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) st[mi][nt][i] *= dpt[mi][nt][i] - delta[nt * 8 + 2 * t + (i & 1)];
        }
      }

      // dK += dS^T Q.
      product_kn<Op, QL>(dk, st, qs, lane);
    }

    // Epilogue: scale dK; keys no query row sees keep zero gradients.
    float k_scale[kMT][2], v_scale[kMT][2];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
      k_scale[mi][0] = k_scale[mi][1] = p.scale;
      v_scale[mi][0] = v_scale[mi][1] = 1.0f;
    }
    const int64_t head_rows = static_cast<int64_t>(feed.bhk) * feed.seq_k;
    store_rows<T>(static_cast<T*>(p.grad_k) + head_rows * p.grad_row_stride, p.grad_row_stride, dk, k_scale,
                  k0 + warp_key0, feed.seq_k, 0, feed.head_dim, g, t);
    store_rows<T>(static_cast<T*>(p.grad_v) + head_rows * p.grad_row_stride, p.grad_row_stride, dv, v_scale,
                  k0 + warp_key0, feed.seq_k, 0, feed.head_dim, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(BackwardKeyKernel<kConfig>::kThreads, 1)
    backward_key_kernel(const BackwardParams p) {
  BackwardKeyKernel<kConfig>::run(p);
}

}  // namespace tilekernels::attention::detail
