#pragma once
// The backward's key-block kernel for head dim 256 on Hopper wgmma (sm_90a, fp16 / bf16). A key's dK
// and dV rows at d256 take 2 x 128 fp32 registers a thread in one warpgroup, more than a thread has, so
// the two warpgroups split every job's products (query head, 64 query rows) instead of the keys; both
// own the block's 64 keys (warp w % 4: 16 of them) and issue the same instructions on other operands:
//   warpgroup 0:  S^T  = K Q^T (SS); P^T = exp2(scale log2e S^T - log2e lse), to shared memory (fp32);
//                 dV += P^T dO (RS, n256)
//   warpgroup 1:  dP^T = V dO^T (SS); dS^T = P^T (dP^T - delta), P^T from shared memory;
//                 dK += dS^T Q (RS, n256)
// Each keeps one accumulator set (`acc`: dV or dK) and one score tile (`s`: S^T / P^T or dP^T / dS^T).
// With dq_atomic, warpgroup 1 stages dS^T in 16 bits and each warpgroup adds 128 head-dim columns of
// dQ = dS K to fp32 scratch, as bwd_key_wgmma.cuh does. Jobs, causal walk and stores are
// bwd_key_wgmma.cuh's.
#include <cstdint>

#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/backward/bwd_dq_atomic.cuh"
#include "kernels/attention/backward/bwd_key_feed.cuh"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/common/wgmma_staging.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ex2.cuh"
#include "kernels/ptx/named_barrier.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct BackwardKeySplitWgmmaKernel {
  static constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;
  static constexpr bool kBf16 = kCfg.math == MathMode::kBf16;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBKV = kCfg.keys.block_kv;
  static constexpr int kBQ = kCfg.keys.block_q;
  static constexpr int kStages = kCfg.keys.stages;
  static constexpr int kThreads = 32 * kCfg.keys.warps;
  static constexpr int kNQ = kBQ / 8;   // n8 tiles of S^T / dP^T per warp
  static constexpr int kDT = kD / 8;    // n8 tiles of dK / dV per warp
  static constexpr int kKD = kD / 16;   // k16 steps over the head dim (S^T, dP^T)
  static constexpr int kKQ = kBQ / 16;  // k16 steps over the query rows (dV, dK)
  static constexpr bool kDqAtomic = kCfg.dq_atomic;
  static constexpr int kDqColumns = kD / 2;  // dQ columns per warpgroup

  using KVL = TileLayout<kBKV, kD, 2, Access::kSegments128>;  // K, V
  using QL = TileLayout<kBQ, kD, 2, Access::kSegments128>;    // Q, dO
  static constexpr int kVectorBytes = 4 * kBQ;                // lse or delta of a query block
  static constexpr int kSlotBytes = (2 * QL::kBytes + 2 * kVectorBytes + 1023) / 1024 * 1024;
  using Feed = KeyBlockFeed<QL, KVL, kThreads, T, kBQ, kBKV, kSlotBytes>;
  // P^T in fp32, float4 n of warpgroup thread i at (n * 128 + i) * 16: the two warpgroups' threads of
  // one index hold the same elements, and a warp's 16-byte accesses are contiguous.
  static constexpr int kPOffset = 2 * KVL::kBytes + kStages * kSlotBytes;
  static constexpr int kPBytes = kBKV * kBQ * 4;
  static constexpr int kDsOffset = kPOffset + kPBytes;
  static constexpr int kDsBytes = kDqAtomic ? kBKV * kBQ * 2 : 0;  // dS^T, keys x query rows
  static constexpr int kSmemBytes = kDsOffset + kDsBytes;
  static constexpr uint32_t kPReadyBarrier = 1;   // warpgroup 0 arrives once P^T is in shared memory
  static constexpr uint32_t kDsReadyBarrier = 2;  // dq_atomic: both, once dS^T is

  static_assert(kCfg.keys.wgmma && kCfg.keys.split_products, "not a split-products key-block row");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kThreads == 256 && kBKV == 64 && kBQ == 64, "two warpgroups sharing 64 keys, jobs of 64 rows");
  static_assert(kD == 256, "dK and dV are one m64n256 wgmma per k16 step");
  static_assert(kCfg.dq_atomic, "dQ's sums come from this kernel (no query-block kernel at head dim 256)");
  static_assert(QL::kBytes % 1024 == 0 && KVL::kBytes % 1024 == 0, "tiles keep the 1024-byte swizzle alignment");
  static_assert(kStages >= 2, "the ring needs at least two stages");

  __device__ __forceinline__ static void run(const BackwardParams& p) {
    extern __shared__ __align__(1024) unsigned char backward_key_wgmma_dynamic_smem[];
    unsigned char* smem = backward_key_wgmma_dynamic_smem;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int g = lane >> 2;
    const int t = lane & 3;
    const int wg = warp / 4;           // 0: S^T, P^T, dV; 1: dP^T, dS^T, dK
    const int wg_thread = tid & 127;

    const Feed feed(p, smem, tid);
    feed.template prologue<kStages>(p, tid);
    const int seq_q = feed.seq_q, k0 = feed.k0;
    unsigned char* k_smem = feed.k_smem();
    unsigned char* v_smem = feed.v_smem();
    float4* p_exchange = reinterpret_cast<float4*>(smem + kPOffset);
    const uint32_t ds_tile = ptx::shared_address(smem) + kDsOffset;

    float acc_tiles[1][kDT][4];  // dV (warpgroup 0) or dK (warpgroup 1)
    zero_fragments(acc_tiles);
    float(&acc)[kDT * 4] = reinterpret_cast<float(&)[kDT * 4]>(acc_tiles);
    float s[1][kNQ][4];  // S^T -> P^T (warpgroup 0) or dP^T -> dS^T (warpgroup 1)
    float(&s_acc)[kNQ * 4] = reinterpret_cast<float(&)[kNQ * 4]>(s);
    typename Op::A frag[kKQ];  // P^T or dS^T as A fragments

    const int warp_key0 = (warp % 4) * 16;  // within the block
    const float c = p.scale * kLog2e;
    // This warpgroup's first product: A = K (S^T) or V (dP^T), 64 rows of 128 bytes into every segment.
    const uint32_t a_rows = ptx::shared_address(wg == 0 ? k_smem : v_smem);

    for (int j = 0; j < feed.num_jobs; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // job j landed for this thread's copies ...
      ptx::fence_proxy_async_shared();    // ... visible to wgmma (the async proxy) ...
      __syncthreads();                    // ... and everyone's; every wgmma and exchange of job j - 1 is done
      feed.template load_ahead<kStages>(p, j, tid);  // into the slot job j - 1 used
      const unsigned char* qs = feed.slot(j % kStages);
      const uint32_t q_tile = ptx::shared_address(qs);
      const uint32_t do_tile = q_tile + QL::kBytes;
      const float* lse = reinterpret_cast<const float*>(qs + 2 * QL::kBytes);
      const float* delta = lse + kBQ;
      const int q0 = feed.q0(j);

      // S^T = K Q^T or dP^T = V dO^T.
      const uint32_t b_first = wg == 0 ? q_tile : do_tile;
      ptx::wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < kKD; ++kk) {
        const uint32_t col = (kk % 4) * 32;
        const uint64_t a_desc = ptx::wgmma_sw128_desc(a_rows + (kk / 4) * (kBKV * 128) + col);
        const uint64_t b_desc = ptx::wgmma_sw128_desc(b_first + (kk / 4) * (kBQ * 128) + col);
        ptx::wgmma_m64k16_f16_ss<kBQ, kBf16, 0>(s_acc, a_desc, b_desc, kk > 0 ? 1 : 0);
      }
      ptx::wgmma_commit();
      ptx::wgmma_wait<0>();
      ptx::wgmma_keep(s_acc);

      if (wg == 0) {
        // P^T; masked: rows past seq_q and (causal) rows before the key.
        const bool needs_mask = q0 + kBQ > seq_q || (p.causal && q0 < k0 + kBKV - 1);
#pragma unroll
        for (int nt = 0; nt < kNQ; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int col = nt * 8 + 2 * t + (i & 1);
            float pt = ptx::ex2_approx(fmaf(s[0][nt][i], c, -lse[col] * kLog2e));
            if (needs_mask) {
              const int row = q0 + col;
              const int key = k0 + warp_key0 + g + ((i >> 1) << 3);
              if (row >= seq_q || (p.causal && key > row)) pt = 0.0f;
            }
            s[0][nt][i] = pt;
          }
          p_exchange[nt * 128 + wg_thread] = make_float4(s[0][nt][0], s[0][nt][1], s[0][nt][2], s[0][nt][3]);
        }
        ptx::named_barrier_arrive(kPReadyBarrier, kThreads);
      } else {
        // dS^T = P^T (dP^T - delta), in place of dP^T.
        ptx::named_barrier_sync(kPReadyBarrier, kThreads);
#pragma unroll
        for (int nt = 0; nt < kNQ; ++nt) {
          const float4 pt = p_exchange[nt * 128 + wg_thread];
          const float pts[4] = {pt.x, pt.y, pt.z, pt.w};
#pragma unroll
          for (int i = 0; i < 4; ++i) s[0][nt][i] = pts[i] * (s[0][nt][i] - delta[nt * 8 + 2 * t + (i & 1)]);
        }
        if constexpr (kDqAtomic) {
          stage_wgmma_rows_16bit<kBQ, kBf16>(s_acc, ds_tile);
          ptx::fence_proxy_async_shared();  // visible to both warpgroups' dQ wgmma
        }
      }
#pragma unroll
      for (int kk = 0; kk < kKQ; ++kk) Op::a_from_accumulators(frag[kk], s[0][2 * kk], s[0][2 * kk + 1]);

      // dV += P^T dO or dK += dS^T Q, B read MN-major.
      const uint32_t b_second = wg == 0 ? do_tile : q_tile;
      ptx::wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < kKQ; ++kk) {
        const uint64_t b_desc = ptx::wgmma_sw128_mn_desc(b_second + 2048 * kk, kBQ * 128, 1024);
        ptx::wgmma_m64k16_f16_rs<kD, kBf16, 1>(acc, frag[kk].r, b_desc, 1);
      }
      ptx::wgmma_commit();
      // Done before dQ's product is issued, so that the fragments are free for its accumulators (with
      // both live the kernel spills).
      ptx::wgmma_wait<0>();
      ptx::wgmma_keep(acc);
      if constexpr (kDqAtomic) {
        ptx::named_barrier_sync(kDsReadyBarrier, kThreads);
        add_dq(p, ds_tile, k_smem, feed.b * feed.heads_q + feed.head(j), q0, wg, warp, g, t);
      }
    }

    // Epilogue: dV as is, dK scaled; keys no query row sees keep zero gradients.
    float acc_scale[1][2] = {{wg == 0 ? 1.0f : p.scale, wg == 0 ? 1.0f : p.scale}};
    const int64_t head_rows = static_cast<int64_t>(feed.bhk) * feed.seq_k;
    T* grad = static_cast<T*>(wg == 0 ? p.grad_v : p.grad_k) + head_rows * p.grad_row_stride;
    store_rows<T>(grad, p.grad_row_stride, acc_tiles, acc_scale, k0 + warp_key0, feed.seq_k, 0, feed.head_dim, g, t);
  }

  // Once dS^T is staged at ds_tile: warpgroup wg's 128 head-dim columns of the job's dQ = dS K, added
  // to p.dq_accum's rows of query head bh (batch * heads_q + head) from q0.
  static __device__ __forceinline__ void add_dq(const BackwardParams& p, uint32_t ds_tile, const unsigned char* k_smem,
                                                int bh, int q0, int wg, int warp, int g, int t) {
    const int col0 = kDqColumns * wg;
    float dq[kDqColumns / 2];
    dq_product<kDqColumns, kBKV, kBKV, kBf16>(dq, ds_tile, ptx::shared_address(k_smem) + (col0 / 64) * (kBKV * 128));
    reduce_dq<kDqColumns>(dq, p, bh, q0, col0, warp % 4, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(BackwardKeySplitWgmmaKernel<kConfig>::kThreads, 1)
    backward_key_split_wgmma_kernel(const BackwardParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  BackwardKeySplitWgmmaKernel<kConfig>::run(p);
#endif
}

}  // namespace tilekernels::attention::detail
