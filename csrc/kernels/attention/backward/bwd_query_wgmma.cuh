#pragma once
// The backward's query-block kernel on Hopper wgmma (sm_90a, fp16 / bf16): bwd_query.cuh's algorithm
// with every product a warpgroup instruction. Warpgroup w owns 64 query rows (warp w: 16 of them) with
// the whole head dimension of their dQ; per key block:
//   S  = Q K^T   m64n{block_kv}k16, SS: Q rows and K K-major
//   dP = dO V^T  m64n{block_kv}k16, SS, issued with S
//   dQ += dS K   m64n{head_dim}k16, RS: dS = P (dP - delta) from the accumulators, K MN-major
// P's exponentials run while dP is still on the tensor cores. Tiles are staged as 128-byte column
// segments (Access::kSegments128), as in fwd_register_wgmma.cuh. The ring, the causal key range and
// the stores are bwd_query.cuh's.
#include <cstdint>

#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ex2.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct BackwardQueryWgmmaKernel {
  static constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;
  static constexpr bool kBf16 = kCfg.math == MathMode::kBf16;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.queries.block_q;
  static constexpr int kBKV = kCfg.queries.block_kv;
  static constexpr int kStages = kCfg.queries.stages;
  static constexpr int kThreads = 32 * kCfg.queries.warps;
  static constexpr int kNT = kBKV / 8;   // n8 tiles of S and dP per warp
  static constexpr int kDT = kD / 8;     // n8 tiles of dQ per warp
  static constexpr int kKD = kD / 16;    // k16 steps over the head dim (S, dP)
  static constexpr int kKK = kBKV / 16;  // k16 steps over the keys (dQ)

  using QL = TileLayout<kBQ, kD, 2, Access::kSegments128>;    // Q, dO
  using KVL = TileLayout<kBKV, kD, 2, Access::kSegments128>;  // K, V
  static constexpr int kSmemBytes = 2 * QL::kBytes + 2 * kStages * KVL::kBytes;

  static_assert(kCfg.queries.wgmma, "not a wgmma query-block row");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kBQ == 16 * kCfg.queries.warps && kCfg.queries.warps % 4 == 0,
                "one warp per 16 query rows, whole warpgroups");
  static_assert(kBKV == 64 || kBKV == 128, "S and dP are one m64n64 / n128 wgmma per k16 step");
  static_assert(kD == 64 || kD == 128, "dQ is one m64n64 / n128 wgmma per k16 step");
  static_assert(QL::kBytes % 1024 == 0 && KVL::kBytes % 1024 == 0, "tiles keep the 1024-byte swizzle alignment");
  static_assert(kStages >= 2, "the ring needs at least two stages");

  __device__ __forceinline__ static void run(const BackwardParams& p) {
    extern __shared__ __align__(1024) unsigned char backward_query_wgmma_dynamic_smem[];
    unsigned char* smem = backward_query_wgmma_dynamic_smem;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int g = lane >> 2;
    const int t = lane & 3;

    const int seq_q = static_cast<int>(p.seq_q), seq_k = static_cast<int>(p.seq_k);
    const int head_dim = static_cast<int>(p.head_dim);
    const int heads_q = static_cast<int>(p.heads_q);
    const int query_blocks = (seq_q + kBQ - 1) / kBQ;
    const int bh = static_cast<int>(blockIdx.x) / query_blocks;
    const int block = static_cast<int>(blockIdx.x) - bh * query_blocks;
    const int q0 = (p.causal ? query_blocks - 1 - block : block) * kBQ;
    const int b = bh / heads_q, h = bh - b * heads_q;
    const int hk = h / (heads_q / static_cast<int>(p.heads_kv));
    const T* q_head = static_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride;
    const T* do_head = static_cast<const T*>(p.grad_out) + b * p.grad_out_batch_stride + h * p.grad_out_head_stride;
    const T* k_head = static_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride;
    const T* v_head = static_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride;
    const int kv_end = p.causal ? min(seq_k, q0 + kBQ) : seq_k;
    const int num_tiles = (kv_end + kBKV - 1) / kBKV;

    unsigned char* q_smem = smem;
    unsigned char* do_smem = smem + QL::kBytes;
    auto k_smem = [&](int stage) { return smem + 2 * QL::kBytes + stage * KVL::kBytes; };
    auto v_smem = [&](int stage) { return smem + 2 * QL::kBytes + (kStages + stage) * KVL::kBytes; };
    const TileCopy<KVL, kThreads, T> k_copy(tid, p.k_row_stride);
    const TileCopy<KVL, kThreads, T> v_copy(tid, p.v_row_stride);
    auto load_kv = [&](int tile, int stage) {
      k_copy.issue(k_smem(stage), k_head, p.k_row_stride, tile * kBKV, seq_k, 0, head_dim);
      v_copy.issue(v_smem(stage), v_head, p.v_row_stride, tile * kBKV, seq_k, 0, head_dim);
    };

    // Prologue as bwd_query.cuh's: group 0 = Q, dO and tile 0, then one group per stage.
    TileCopy<QL, kThreads, T>(tid, p.q_row_stride).issue(q_smem, q_head, p.q_row_stride, q0, seq_q, 0, head_dim);
    TileCopy<QL, kThreads, T>(tid, p.grad_out_row_stride)
        .issue(do_smem, do_head, p.grad_out_row_stride, q0, seq_q, 0, head_dim);
    if (num_tiles > 0) load_kv(0, 0);
    ptx::cp_async_commit();
#pragma unroll
    for (int s = 1; s < kStages - 1; ++s) {
      if (s < num_tiles) load_kv(s, s);
      ptx::cp_async_commit();
    }

    // The log2(e)-scaled lse and the delta of rows g and g + 8 of the warp's 16 (0 past seq_q: those
    // rows have zero Q and dO and are not stored).
    const int warp_row0 = warp * 16;  // within the block
    const int64_t head_row0 = static_cast<int64_t>(bh) * seq_q;
    float lse2[2], delta[2];
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int row = q0 + warp_row0 + g + 8 * hf;
      lse2[hf] = row < seq_q ? p.lse[head_row0 + row] * kLog2e : 0.0f;
      delta[hf] = row < seq_q ? p.delta[head_row0 + row] : 0.0f;
    }

    float dq[1][kDT][4];
    zero_fragments(dq);
    float(&dq_acc)[kDT * 4] = reinterpret_cast<float(&)[kDT * 4]>(dq);
    float s[1][kNT][4], dp[1][kNT][4];
    float(&s_acc)[kNT * 4] = reinterpret_cast<float(&)[kNT * 4]>(s);
    float(&dp_acc)[kNT * 4] = reinterpret_cast<float(&)[kNT * 4]>(dp);
    typename Op::A pa[kKK];
    const float c = p.scale * kLog2e;
    // The warpgroup's 64 rows of Q and dO: 64 rows of 128 bytes into every segment.
    const uint32_t q_rows = ptx::shared_address(q_smem) + (warp / 4) * 64 * 128;
    const uint32_t do_rows = ptx::shared_address(do_smem) + (warp / 4) * 64 * 128;

    // acc = A B^T over the head dim: A the warpgroup's rows, B a key tile (K-major).
    auto issue_nk = [&](float(&acc)[kNT * 4], uint32_t a_rows, uint32_t b_tile) {
#pragma unroll
      for (int kk = 0; kk < kKD; ++kk) {
        const uint32_t col = (kk % 4) * 32;
        const uint64_t a_desc = ptx::wgmma_sw128_desc(a_rows + (kk / 4) * (kBQ * 128) + col);
        const uint64_t b_desc = ptx::wgmma_sw128_desc(b_tile + (kk / 4) * (kBKV * 128) + col);
        ptx::wgmma_m64k16_f16_ss<kBKV, kBf16, 0>(acc, a_desc, b_desc, kk > 0 ? 1 : 0);
      }
      ptx::wgmma_commit();
    };

    for (int j = 0; j < num_tiles; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // tile j (and Q, dO) landed for this thread's copies ...
      ptx::fence_proxy_async_shared();    // ... visible to wgmma (the async proxy) ...
      __syncthreads();                    // ... and everyone's; every wgmma of tile j - 1 is done
      {
        const int next = j + kStages - 1;
        if (next < num_tiles) load_kv(next, next % kStages);
        ptx::cp_async_commit();
      }
      const uint32_t k_tile = ptx::shared_address(k_smem(j % kStages));
      const uint32_t v_tile = ptx::shared_address(v_smem(j % kStages));
      const int kv0 = j * kBKV;

      ptx::wgmma_fence();
      issue_nk(s_acc, q_rows, k_tile);    // S = Q K^T
      issue_nk(dp_acc, do_rows, v_tile);  // dP = dO V^T
      ptx::wgmma_wait<1>();
      ptx::wgmma_keep(s_acc);

      // P, masked: keys past seq_k, (causal) keys after the row.
      const bool needs_mask = kv0 + kBKV > seq_k || (p.causal && kv0 + kBKV - 1 > q0);
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int hf = i >> 1;
          float pr = ptx::ex2_approx(fmaf(s[0][nt][i], c, -lse2[hf]));
          if (needs_mask) {
            const int row = q0 + warp_row0 + g + 8 * hf;
            const int key = kv0 + nt * 8 + 2 * t + (i & 1);
            if (key >= seq_k || (p.causal && key > row)) pr = 0.0f;
          }
          s[0][nt][i] = pr;
        }
      }
      ptx::wgmma_wait<0>();
      ptx::wgmma_keep(dp_acc);
      // dS = P (dP - delta), into the A fragments of dQ's product.
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) s[0][nt][i] *= dp[0][nt][i] - delta[i >> 1];
      }
#pragma unroll
      for (int kk = 0; kk < kKK; ++kk) Op::a_from_accumulators(pa[kk], s[0][2 * kk], s[0][2 * kk + 1]);

      // dQ += dS K: K's tile read MN-major (k = keys, n = head dim).
      ptx::wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < kKK; ++kk) {
        const uint64_t b_desc = ptx::wgmma_sw128_mn_desc(k_tile + 2048 * kk, kBKV * 128, 1024);
        ptx::wgmma_m64k16_f16_rs<kD, kBf16, 1>(dq_acc, pa[kk].r, b_desc, 1);
      }
      ptx::wgmma_commit();
      ptx::wgmma_wait<0>();
      ptx::wgmma_keep(dq_acc);
    }

    float q_scale[1][2] = {{p.scale, p.scale}};
    store_rows<T>(static_cast<T*>(p.grad_q) + head_row0 * p.grad_row_stride, p.grad_row_stride, dq, q_scale,
                  q0 + warp_row0, seq_q, 0, head_dim, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(BackwardQueryWgmmaKernel<kConfig>::kThreads, 1)
    backward_query_wgmma_kernel(const BackwardParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  BackwardQueryWgmmaKernel<kConfig>::run(p);
#endif
}

}  // namespace tilekernels::attention::detail
