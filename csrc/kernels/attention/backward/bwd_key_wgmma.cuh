#pragma once
// The backward's key-block kernel on Hopper wgmma (sm_90a, fp16 / bf16): bwd_key.cuh's algorithm with
// every product a warpgroup instruction. Warpgroup w owns 64 keys of the block (warp w: 16 of them)
// with the whole head dimension of their dK and dV; per job (query head, block_q query rows):
//   S^T  = K Q^T   m64n{block_q}k16, SS: K rows K-major, Q K-major (its rows are the n dimension)
//   dP^T = V dO^T  m64n{block_q}k16, SS, issued with S^T
//   dV  += P^T dO  m64n{head_dim}k16, RS: P^T from the S^T accumulators, dO MN-major
//   dK  += dS^T Q  m64n{head_dim}k16, RS: dS^T = P^T (dP^T - delta), Q MN-major
// P^T's exponentials run while dP^T is still on the tensor cores; dV's and dK's products are issued
// together once dS^T is known (P^T and dS^T then live only as 16-bit fragments, which keeps the d128
// kernel within 255 registers without spills). Tiles are staged as 128-byte column segments
// (Access::kSegments128), at once wgmma's 128-byte K-major and MN-major layouts, as in the forward's
// fwd_register_wgmma.cuh. The job ring, the causal walk and the stores are bwd_key.cuh's.
// Rows with dq_atomic also add each job's dQ to fp32 scratch (FlashAttention-2's choice, no query-block
// kernel): dS^T goes to shared memory (the 128-byte swizzle, keys as rows) and
//   dQ  += dS K    m64n64k16, SS: dS^T read MN-major as A, K MN-major; warpgroup w: d64 its own 64
//                  keys, d128 every key and head-dim columns [64 w, 64 w + 64)
// issued after dV's and dK's, then reduced into global memory (red.global.add.v2.f32).
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
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct BackwardKeyWgmmaKernel {
  static constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;
  static constexpr bool kBf16 = kCfg.math == MathMode::kBf16;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBKV = kCfg.keys.block_kv;
  static constexpr int kBQ = kCfg.keys.block_q;
  static constexpr int kStages = kCfg.keys.stages;
  static constexpr int kThreads = 32 * kCfg.keys.warps;
  static constexpr int kNQ = kBQ / 8;   // n8 tiles of S^T and dP^T per warp
  static constexpr int kDT = kD / 8;    // n8 tiles of dK and dV per warp
  static constexpr int kKD = kD / 16;   // k16 steps over the head dim (S^T, dP^T)
  static constexpr int kKQ = kBQ / 16;  // k16 steps over the query rows (dV, dK)
  static constexpr bool kDqAtomic = kCfg.dq_atomic;
  static constexpr int kDqKeys = kD == 64 ? 64 : kBKV;  // keys of one warpgroup's dQ product (its k extent)

  using KVL = TileLayout<kBKV, kD, 2, Access::kSegments128>;  // K, V
  using QL = TileLayout<kBQ, kD, 2, Access::kSegments128>;    // Q, dO
  static constexpr int kVectorBytes = 4 * kBQ;                // lse or delta of a query block
  // Slots stay 1024-byte aligned: wgmma's swizzle sees absolute address bits.
  static constexpr int kSlotBytes = (2 * QL::kBytes + 2 * kVectorBytes + 1023) / 1024 * 1024;
  using Feed = KeyBlockFeed<QL, KVL, kThreads, T, kBQ, kBKV, kSlotBytes>;
  static constexpr int kDsOffset = 2 * KVL::kBytes + kStages * kSlotBytes;
  static constexpr int kDsBytes = kDqAtomic ? kBKV * kBQ * 2 : 0;  // dS^T, keys x query rows
  static constexpr int kSmemBytes = kDsOffset + kDsBytes;

  static_assert(kCfg.keys.wgmma, "not a wgmma key-block row");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kBKV == 16 * kCfg.keys.warps && kCfg.keys.warps % 4 == 0, "one warp per 16 keys, whole warpgroups");
  static_assert(kBQ == 64 || kBQ == 128, "S^T and dP^T are one m64n64 / n128 wgmma per k16 step");
  static_assert(kD == 64 || kD == 128, "dK and dV are one m64n64 / n128 wgmma per k16 step");
  static_assert(QL::kBytes % 1024 == 0 && KVL::kBytes % 1024 == 0, "tiles keep the 1024-byte swizzle alignment");
  static_assert(kStages >= 2, "the ring needs at least two stages");
  static_assert(!kDqAtomic || (kBQ == 64 && kBKV == 128), "dQ: dS^T rows of one 128-byte swizzle row, two warpgroups");

  __device__ __forceinline__ static void run(const BackwardParams& p) {
    extern __shared__ __align__(1024) unsigned char backward_key_wgmma_dynamic_smem[];
    unsigned char* smem = backward_key_wgmma_dynamic_smem;
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

    float dk[1][kDT][4], dv[1][kDT][4];
    zero_fragments(dk);
    zero_fragments(dv);
    float(&dk_acc)[kDT * 4] = reinterpret_cast<float(&)[kDT * 4]>(dk);
    float(&dv_acc)[kDT * 4] = reinterpret_cast<float(&)[kDT * 4]>(dv);
    float st[1][kNQ][4], dpt[1][kNQ][4];
    float(&st_acc)[kNQ * 4] = reinterpret_cast<float(&)[kNQ * 4]>(st);
    float(&dpt_acc)[kNQ * 4] = reinterpret_cast<float(&)[kNQ * 4]>(dpt);
    typename Op::A pa[kKQ], dsa[kKQ];  // P^T and dS^T as A fragments

    const int warp_key0 = warp * 16;  // within the block
    const float c = p.scale * kLog2e;
    // The warpgroup's 64 keys of K and V: 64 rows of 128 bytes into every segment.
    const uint32_t k_rows = ptx::shared_address(k_smem) + (warp / 4) * 64 * 128;
    const uint32_t v_rows = ptx::shared_address(v_smem) + (warp / 4) * 64 * 128;
    const uint32_t ds_tile = ptx::shared_address(smem) + kDsOffset;  // dq_atomic rows

    // acc = A B^T over the head dim: A the warpgroup's key rows, B the slot's query rows (K-major).
    auto issue_nk = [&](float(&acc)[kNQ * 4], uint32_t a_rows, uint32_t b_tile) {
#pragma unroll
      for (int kk = 0; kk < kKD; ++kk) {
        const uint32_t col = (kk % 4) * 32;
        const uint64_t a_desc = ptx::wgmma_sw128_desc(a_rows + (kk / 4) * (kBKV * 128) + col);
        const uint64_t b_desc = ptx::wgmma_sw128_desc(b_tile + (kk / 4) * (kBQ * 128) + col);
        ptx::wgmma_m64k16_f16_ss<kBQ, kBf16, 0>(acc, a_desc, b_desc, kk > 0 ? 1 : 0);
      }
      ptx::wgmma_commit();
    };
    // acc += A B over the query rows: A fragments a, B the slot's [query][head dim] tile read MN-major.
    auto issue_kn = [&](float(&acc)[kDT * 4], const typename Op::A(&a)[kKQ], uint32_t b_tile) {
#pragma unroll
      for (int kk = 0; kk < kKQ; ++kk) {
        const uint64_t b_desc = ptx::wgmma_sw128_mn_desc(b_tile + 2048 * kk, kBQ * 128, 1024);
        ptx::wgmma_m64k16_f16_rs<kD, kBf16, 1>(acc, a[kk].r, b_desc, 1);
      }
    };
    auto to_fragments = [&](typename Op::A(&a)[kKQ], const float(&acc)[1][kNQ][4]) {
#pragma unroll
      for (int kk = 0; kk < kKQ; ++kk) Op::a_from_accumulators(a[kk], acc[0][2 * kk], acc[0][2 * kk + 1]);
    };

    for (int j = 0; j < feed.num_jobs; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // job j landed for this thread's copies ...
      ptx::fence_proxy_async_shared();    // ... visible to wgmma (the async proxy) ...
      __syncthreads();                    // ... and everyone's; every wgmma of job j - 1 is done
      feed.template load_ahead<kStages>(p, j, tid);  // into the slot job j - 1 used
      const unsigned char* qs = feed.slot(j % kStages);
      const uint32_t q_tile = ptx::shared_address(qs);
      const uint32_t do_tile = q_tile + QL::kBytes;
      const float* lse = reinterpret_cast<const float*>(qs + 2 * QL::kBytes);
      const float* delta = lse + kBQ;
      const int q0 = feed.q0(j);

      ptx::wgmma_fence();
      issue_nk(st_acc, k_rows, q_tile);    // S^T = K Q^T
      issue_nk(dpt_acc, v_rows, do_tile);  // dP^T = V dO^T
      ptx::wgmma_wait<1>();
      ptx::wgmma_keep(st_acc);

      // P^T; masked: rows past seq_q and (causal) rows before the key.
      const bool needs_mask = q0 + kBQ > seq_q || (p.causal && q0 < k0 + kBKV - 1);
#pragma unroll
      for (int nt = 0; nt < kNQ; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int col = nt * 8 + 2 * t + (i & 1);
          float pt = ptx::ex2_approx(fmaf(st[0][nt][i], c, -lse[col] * kLog2e));
          if (needs_mask) {
            const int row = q0 + col;
            const int key = k0 + warp_key0 + g + ((i >> 1) << 3);
            if (row >= seq_q || (p.causal && key > row)) pt = 0.0f;
          }
          st[0][nt][i] = pt;
        }
      }
      ptx::wgmma_wait<0>();  // dP^T is done
      ptx::wgmma_keep(dpt_acc);

      // dS^T = P^T (dP^T - delta), in place of dP^T.
#pragma unroll
      for (int nt = 0; nt < kNQ; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) dpt[0][nt][i] = st[0][nt][i] * (dpt[0][nt][i] - delta[nt * 8 + 2 * t + (i & 1)]);
      }
      if constexpr (kDqAtomic) stage_wgmma_rows_16bit<kBQ, kBf16>(dpt_acc, ds_tile + (warp / 4) * 64 * 128);
      to_fragments(pa, st);
      to_fragments(dsa, dpt);
      ptx::wgmma_fence();
      issue_kn(dv_acc, pa, do_tile);  // dV += P^T dO
      issue_kn(dk_acc, dsa, q_tile);  // dK += dS^T Q
      ptx::wgmma_commit();
      if constexpr (kDqAtomic) {
        add_dq(p, ds_tile, k_smem, feed.b * feed.heads_q + feed.head(j), q0, warp, g, t);
      } else {
        ptx::wgmma_wait<0>();
      }
      ptx::wgmma_keep(dv_acc);
      ptx::wgmma_keep(dk_acc);
    }

    // Epilogue: scale dK; keys no query row sees keep zero gradients.
    float k_scale[1][2] = {{p.scale, p.scale}}, v_scale[1][2] = {{1.0f, 1.0f}};
    const int64_t head_rows = static_cast<int64_t>(feed.bhk) * feed.seq_k;
    store_rows<T>(static_cast<T*>(p.grad_k) + head_rows * p.grad_row_stride, p.grad_row_stride, dk, k_scale,
                  k0 + warp_key0, feed.seq_k, 0, feed.head_dim, g, t);
    store_rows<T>(static_cast<T*>(p.grad_v) + head_rows * p.grad_row_stride, p.grad_row_stride, dv, v_scale,
                  k0 + warp_key0, feed.seq_k, 0, feed.head_dim, g, t);
  }

  // dq_atomic rows, once both warpgroups staged dS^T at ds_tile and issued dV's and dK's products: this
  // warpgroup's share of the job's dQ = dS K, added to p.dq_accum's rows of query head bh (batch * heads_q
  // + head) from q0. Waits for every wgmma of the job.
  static __device__ __forceinline__ void add_dq(const BackwardParams& p, uint32_t ds_tile, const unsigned char* k_smem,
                                                int bh, int q0, int warp, int g, int t) {
    const int wg = warp / 4;
    ptx::fence_proxy_async_shared();  // the stores, visible to wgmma ...
    __syncthreads();                   // ... of both warpgroups
    const int key0 = kD == 64 ? 64 * wg : 0;
    const int col0 = kD == 64 ? 0 : 64 * wg;
    float dq[32];
    dq_product<64, kDqKeys, kBKV, kBf16>(dq, ds_tile + key0 * 128,
                                         ptx::shared_address(k_smem) + (col0 / 64) * (kBKV * 128) + key0 * 128);
    reduce_dq<64>(dq, p, bh, q0, col0, warp % 4, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(BackwardKeyWgmmaKernel<kConfig>::kThreads, 1)
    backward_key_wgmma_kernel(const BackwardParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  BackwardKeyWgmmaKernel<kConfig>::run(p);
#endif
}

}  // namespace tilekernels::attention::detail
