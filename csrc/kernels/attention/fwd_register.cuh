#pragma once
// kRegister: FlashAttention-2 style forward for head_dim <= 256 (fp16 / bf16).
//
// A CTA owns block_q query rows; warp w owns rows [w * 16 * kMT, (w + 1) * 16 * kMT) and the whole head
// dimension. Q sits in shared memory (and, with q_in_regs, in registers after the first step); K and
// V tiles of block_kv keys stream through a `stages`-deep cp.async ring. Per K/V tile each warp
// computes S = Q K^T (fp32), applies scale and masks, updates its online-softmax rows with quad
// shuffles, converts P to 16-bit A fragments in registers (the accumulator layout of S is the A layout
// of P V) and accumulates O += P V. Shared memory: Q, then K stages, then V stages.
#include <cstdint>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/mma_products.cuh"
#include "kernels/attention/online_softmax.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/ptx/cp_async.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct RegisterKernel {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.reg.block_q;
  static constexpr int kBKV = kCfg.reg.block_kv;
  static constexpr int kWarps = kCfg.reg.warps;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kStages = kCfg.reg.stages;
  static constexpr bool kQInRegs = kCfg.reg.q_in_regs;
  static constexpr int kMT = kBQ / (16 * kWarps);  // m16 tiles per warp
  static constexpr int kNT = kBKV / 8;             // n8 tiles of S per warp
  static constexpr int kDT = kD / 8;               // n8 tiles of O per warp
  static constexpr int kKS = kD / 16;              // k16 steps of Q K^T

  using QL = TileLayout<kBQ, kD, 2, Access::kLdmatrix>;
  using KVL = TileLayout<kBKV, kD, 2, Access::kLdmatrix>;
  static constexpr int kSmemBytes = QL::kBytes + 2 * kStages * KVL::kBytes;

  static_assert(kCfg.kernel == Kernel::kRegister, "not a kRegister configuration");
  static_assert(Op::kK == 16, "kRegister runs the 16-bit math modes only");
  static_assert(kBQ % (16 * kWarps) == 0 && kMT >= 1, "block_q must be a multiple of 16 * warps");
  static_assert(kBKV % 16 == 0 && kD % 16 == 0, "block_kv and head_dim must be multiples of 16");
  static_assert(kStages >= 2, "the ring needs at least two stages");

  __device__ __forceinline__ static void run(const KernelArgs& args) {
    extern __shared__ __align__(128) unsigned char smem[];
    const Params& p = args.p;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int g = lane >> 2;
    const int t = lane & 3;

    const auto tile = QueryTile<T, kBQ, kBKV>::of_block(args);
    const HeadPointers<T>& head = tile.head;
    const int seq_q = tile.seq_q, seq_k = tile.seq_k, head_dim = tile.head_dim, q0 = tile.q0;
    const int num_tiles = tile.num_tiles;
    const bool causal = tile.causal;

    unsigned char* q_smem = smem;
    auto k_smem = [&](int stage) { return smem + QL::kBytes + stage * KVL::kBytes; };
    auto v_smem = [&](int stage) { return smem + QL::kBytes + (kStages + stage) * KVL::kBytes; };
    const TileCopy<KVL, kThreads, T> k_copy(tid, p.k_row_stride);
    const TileCopy<KVL, kThreads, T> v_copy(tid, p.v_row_stride);
    auto load_kv = [&](int tile, int stage) {
      k_copy.issue(k_smem(stage), head.k, p.k_row_stride, tile * kBKV, seq_k, 0, head_dim);
      v_copy.issue(v_smem(stage), head.v, p.v_row_stride, tile * kBKV, seq_k, 0, head_dim);
    };

    // Prologue: group 0 = Q + tile 0, then one group per stage (empty past the last tile), so that
    // before step j exactly kStages - 1 + j groups are committed and group j is the j-th tile.
    TileCopy<QL, kThreads, T>(tid, p.q_row_stride).issue(q_smem, head.q, p.q_row_stride, q0, seq_q, 0, head_dim);
    load_kv(0, 0);
    ptx::cp_async_commit();
#pragma unroll
    for (int s = 1; s < kStages - 1; ++s) {
      if (s < num_tiles) load_kv(s, s);
      ptx::cp_async_commit();
    }

    float o[kMT][kDT][4];
    zero_fragments(o);
    OnlineSoftmax<kMT, kNT, kDT> softmax(args.scale_log2);
    typename Op::A q_frag[kQInRegs ? kMT : 1][kQInRegs ? kKS : 1];

    const int warp_row0 = warp * 16 * kMT;  // within the tile

    for (int j = 0; j < num_tiles; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // tile j (and Q) landed for this thread's copies ...
      __syncthreads();                    // ... and everyone's; everyone is done with tile j - 1's slot
      if constexpr (kQInRegs) {
        if (j == 0) {
#pragma unroll
          for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
            for (int kk = 0; kk < kKS; ++kk) {
              Op::template load_a<QL>(q_frag[mi][kk], q_smem, warp_row0 + mi * 16, kk * 16, lane);
            }
          }
        }
      }
      {
        const int next = j + kStages - 1;  // goes into the slot tile j - 1 used
        if (next < num_tiles) load_kv(next, next % kStages);
        ptx::cp_async_commit();
      }
      const int stage = j % kStages;
      const unsigned char* ks = k_smem(stage);
      const unsigned char* vs = v_smem(stage);

      // S = Q K^T
      float s[kMT][kNT][4];
      zero_fragments(s);
#pragma unroll
      for (int kk = 0; kk < kKS; ++kk) {
        typename Op::A a[kMT];
#pragma unroll
        for (int mi = 0; mi < kMT; ++mi) {
          if constexpr (kQInRegs) {
            a[mi] = q_frag[mi][kk];
          } else {
            Op::template load_a<QL>(a[mi], q_smem, warp_row0 + mi * 16, kk * 16, lane);
          }
        }
#pragma unroll
        for (int np = 0; np < kNT / 2; ++np) {
          typename Op::B b[2];
          Op::template load_b_nk<KVL>(b, ks, np * 16, kk * 16, lane);
#pragma unroll
          for (int mi = 0; mi < kMT; ++mi) {
            Op::mma(s[mi][2 * np], a[mi], b[0]);
            Op::mma(s[mi][2 * np + 1], a[mi], b[1]);
          }
        }
      }

      // Mask keys past seq_k and (causal) keys after the row; S becomes P.
      const int kv0 = j * kBKV;
      const bool needs_mask = kv0 + kBKV > seq_k || (causal && kv0 + kBKV - 1 > q0);
      softmax.step(s, o, q0 + warp_row0, kv0, seq_k, causal, needs_mask, g, t);

      // O += P V, P straight from the S accumulators.
      product_kn<Op, KVL>(o, s, vs, lane);
    }

    // Epilogue: O / l, and lse.
    float inv_l[kMT][2];
    softmax.finish(inv_l, head.lse, q0 + warp_row0, seq_q, g, t);
    store_rows<T>(head.out, p.out_row_stride, o, inv_l, q0 + warp_row0, seq_q, 0, head_dim, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(RegisterKernel<kConfig>::kThreads, 1) register_fwd_kernel(const KernelArgs args) {
  RegisterKernel<kConfig>::run(args);
}

}  // namespace tilekernels::attention::detail
