#pragma once
// The backward's query-block kernel (mma.sync, fp16 / bf16): dQ of block_q rows of one query head.
//
// Warp w owns rows [16 kMT w, 16 kMT (w + 1)) with the whole head dimension of their dQ (fp32
// accumulators in registers); Q and dO stay in shared memory, K and V blocks stream through a
// `stages`-deep cp.async ring as in the forward kRegister kernel. Per key block:
//   S = Q K^T, P = exp2(scale log2(e) S - log2(e) lse), dP = dO V^T, dS = P (dP - delta),
//   dQ += dS K   (dS straight from the accumulators, the A layout of the product)
// and at the end stores scale dQ. It recomputes S and dP, which the key-block kernel also computes,
// instead of accumulating dQ there with atomics: each row's dQ is summed in one fixed order, so the
// result is deterministic. Causal (top-left): rows [q0, q0 + block_q) need keys < q0 + block_q only;
// causal launches walk the query blocks last-first (the longest first).
#include <cstdint>

#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/mma_products.cuh"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ex2.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct BackwardQueryKernel {
  static constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.queries.block_q;
  static constexpr int kWarps = kCfg.queries.warps;
  static constexpr int kBKV = kCfg.queries.block_kv;
  static constexpr int kStages = kCfg.queries.stages;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kMT = kBQ / (16 * kWarps);  // m16 tiles of rows per warp
  static constexpr int kNT = kBKV / 8;             // n8 tiles of S and dP
  static constexpr int kDT = kD / 8;               // n8 tiles of dQ
  static constexpr int kKD = kD / 16;              // k16 steps over the head dim

  using QL = TileLayout<kBQ, kD, 2, Access::kLdmatrix>;    // Q, dO
  using KVL = TileLayout<kBKV, kD, 2, Access::kLdmatrix>;  // K, V
  static constexpr int kSmemBytes = 2 * QL::kBytes + 2 * kStages * KVL::kBytes;

  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kBQ % (16 * kWarps) == 0 && kMT >= 1, "block_q must be a multiple of 16 * warps");
  static_assert(kBKV % 16 == 0 && kD % 16 == 0, "block_kv and head_dim must be multiples of 16");
  static_assert(kStages >= 2, "the ring needs at least two stages");

  __device__ __forceinline__ static void run(const BackwardParams& p) {
    extern __shared__ __align__(128) unsigned char smem[];
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

    // Prologue: group 0 = Q, dO and tile 0, then one group per stage (empty past the last tile).
    TileCopy<QL, kThreads, T>(tid, p.q_row_stride).issue(q_smem, q_head, p.q_row_stride, q0, seq_q, 0, head_dim);
    TileCopy<QL, kThreads, T>(tid, p.grad_out_row_stride)
        .issue(do_smem, do_head, p.grad_out_row_stride, q0, seq_q, 0, head_dim);
    load_kv(0, 0);
    ptx::cp_async_commit();
#pragma unroll
    for (int s = 1; s < kStages - 1; ++s) {
      if (s < num_tiles) load_kv(s, s);
      ptx::cp_async_commit();
    }

    // The log2(e)-scaled lse and the delta of rows g and g + 8 of each m16 tile (0 past seq_q: those
    // rows have zero Q and dO and are not stored).
    const int warp_row0 = warp * 16 * kMT;  // within the block
    const int64_t head_row0 = static_cast<int64_t>(bh) * seq_q;
    float lse2[kMT][2], delta[kMT][2];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const int row = q0 + warp_row0 + mi * 16 + g + 8 * hf;
        lse2[mi][hf] = row < seq_q ? p.lse[head_row0 + row] * kLog2e : 0.0f;
        delta[mi][hf] = row < seq_q ? p.delta[head_row0 + row] : 0.0f;
      }
    }

    float dq[kMT][kDT][4];
    zero_fragments(dq);
    const float c = p.scale * kLog2e;

    for (int j = 0; j < num_tiles; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // tile j (and Q, dO) landed for this thread's copies ...
      __syncthreads();                    // ... and everyone's; everyone is done with tile j - 1's slot
      {
        const int next = j + kStages - 1;
        if (next < num_tiles) load_kv(next, next % kStages);
        ptx::cp_async_commit();
      }
      const unsigned char* ks = k_smem(j % kStages);
      const unsigned char* vs = v_smem(j % kStages);
      const int kv0 = j * kBKV;

      float s[kMT][kNT][4], dp[kMT][kNT][4];
      product_nk<Op, QL, KVL, kMT, kNT, kKD>(s, q_smem, warp_row0, ks, lane);
      product_nk<Op, QL, KVL, kMT, kNT, kKD>(dp, do_smem, warp_row0, vs, lane);

      // dS = P (dP - delta) in place of S; masked: keys past seq_k, (causal) keys after the row.
      const bool needs_mask = kv0 + kBKV > seq_k || (p.causal && kv0 + kBKV - 1 > q0);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int hf = i >> 1;
            float pr = ptx::ex2_approx(fmaf(s[mi][nt][i], c, -lse2[mi][hf]));
            if (needs_mask) {
              const int row = q0 + warp_row0 + mi * 16 + g + 8 * hf;
              const int key = kv0 + nt * 8 + 2 * t + (i & 1);
              if (key >= seq_k || (p.causal && key > row)) pr = 0.0f;
            }
            s[mi][nt][i] = pr * (dp[mi][nt][i] - delta[mi][hf]);
          }
        }
      }

      // dQ += dS K.
      product_kn<Op, KVL>(dq, s, ks, lane);
    }

    float q_scale[kMT][2];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) q_scale[mi][0] = q_scale[mi][1] = p.scale;
    store_rows<T>(static_cast<T*>(p.grad_q) + head_row0 * p.grad_row_stride, p.grad_row_stride, dq, q_scale,
                  q0 + warp_row0, seq_q, 0, head_dim, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(BackwardQueryKernel<kConfig>::kThreads, 1)
    backward_query_kernel(const BackwardParams p) {
  BackwardQueryKernel<kConfig>::run(p);
}

}  // namespace tilekernels::attention::detail
