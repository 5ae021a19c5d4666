#pragma once
// kRegister rows with `wgmma` (sm_90a, H100 only): the kRegister kernel with both products on Hopper
// wgmma. Each warpgroup owns 64 query rows (warp w: rows [16 w, 16 w + 16)) and the whole head
// dimension and runs the flash step of wgmma_step.cuh per K/V tile (S = Q K^T from shared memory,
// O += P V with P from registers). Q, K and V are staged as 128-byte column segments (Access::kSegments128: segment s of every row
// together, rows 128 bytes apart, chunk ^ (row % 8)), which is at once wgmma's 128-byte K-major
// layout (Q, K: a k16 step is 32 bytes into a segment row) and its 128-byte N-major layout (V).
// Steps overlap the two products FlashAttention-3 style: step j issues S of tile j + 1 and then P V of tile j, waits for
// the scores only, and runs their softmax while P V is still on the tensor cores; O's rescale waits
// for P V. K therefore runs one tile ahead of V in the copy groups. Shared memory: Q, then K stages,
// then V stages, all 1024-byte aligned.
#include <cstdint>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/attention/wgmma_step.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct RegisterWgmmaKernel {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.reg.block_q;
  static constexpr int kBKV = kCfg.reg.block_kv;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kStages = kCfg.reg.stages;

  using QL = TileLayout<kBQ, kD, 2, Access::kSegments128>;
  using KVL = TileLayout<kBKV, kD, 2, Access::kSegments128>;
  static constexpr int kSmemBytes = QL::kBytes + 2 * kStages * KVL::kBytes;

  static_assert(kCfg.kernel == Kernel::kRegister && kCfg.is_wgmma(), "not a kRegister wgmma configuration");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kBQ == 16 * kCfg.reg.warps && kCfg.reg.warps % 4 == 0, "one warp per 16 query rows, whole warpgroups");
  static_assert(kBKV == 64 || kBKV == 128 || kBKV == 256, "S is one m64n64 / n128 / n256 wgmma per k16 step");
  static_assert(kD == 64 || kD == 128 || kD == 256, "O is one m64n64 / n128 / n256 wgmma per k16 step");
  static_assert(QL::kBytes % 1024 == 0 && KVL::kBytes % 1024 == 0, "tiles keep the 1024-byte swizzle alignment");
  static_assert(kStages >= 2, "the ring needs at least two stages");

  __device__ __forceinline__ static void run(const KernelArgs& args) {
    // 1024-byte aligned: wgmma's swizzle sees absolute address bits.
    extern __shared__ __align__(1024) unsigned char register_wgmma_dynamic_smem[];
    unsigned char* smem = register_wgmma_dynamic_smem;
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
    // Copy group u holds K of tile u and V of tile u - 1 (group 0 also Q): S of tile u + 1 is issued
    // with P V of tile u, so K runs one tile ahead of V. Tile u lives in slot u % kStages of each ring.
    auto load_group = [&](int u) {
      if (u < num_tiles) {
        k_copy.issue(k_smem(u % kStages), head.k, p.k_row_stride, u * kBKV, seq_k, 0, head_dim);
      }
      if (u >= 1 && u - 1 < num_tiles) {
        v_copy.issue(v_smem((u - 1) % kStages), head.v, p.v_row_stride, (u - 1) * kBKV, seq_k, 0, head_dim);
      }
      ptx::cp_async_commit();
    };

    TileCopy<QL, kThreads, T>(tid, p.q_row_stride).issue(q_smem, head.q, p.q_row_stride, q0, seq_q, 0, head_dim);
#pragma unroll
    for (int u = 0; u < kStages; ++u) load_group(u);

    WgmmaFlashStep<kCfg.math, kBQ, kBKV, kD> step(args.scale_log2);
    const int warp_row0 = warp * 16;
    // The warpgroup's 64 rows of Q: 64 rows of 128 bytes into every segment.
    const uint32_t q_rows = ptx::shared_address(q_smem) + (warp / 4) * 64 * 128;
    auto issue_scores = [&](int u) { step.issue_scores(q_rows, ptx::shared_address(k_smem(u % kStages))); };
    auto issue_pv = [&](int u) { step.issue_pv(ptx::shared_address(v_smem(u % kStages))); };
    auto scores_to_p = [&](int u) {
      const int kv0 = u * kBKV;
      const bool needs_mask = kv0 + kBKV > seq_k || (causal && kv0 + kBKV - 1 > q0);
      return step.scores_to_p(q0 + warp_row0, kv0, seq_k, causal, needs_mask, g, t);
    };

    // Tile 0's scores (O is still zero: no rescale).
    ptx::cp_async_wait<kStages - 1>();  // group 0 (Q, K of tile 0) landed for this thread's copies ...
    ptx::fence_proxy_async_shared();    // ... visible to wgmma (the async proxy) ...
    __syncthreads();                    // ... for everyone's
    ptx::wgmma_fence();
    issue_scores(0);
    ptx::wgmma_wait<0>();
    step.keep_scores();
    scores_to_p(0);
    step.p_to_fragments();

    // Step j: P V of tile j runs on the tensor cores while the softmax of tile j + 1's scores runs.
    // The last step (P V only) is peeled so that no wgmma is issued conditionally (ptxas would then
    // serialize them).
    for (int j = 0; j + 1 < num_tiles; ++j) {
      ptx::cp_async_wait<kStages - 2>();  // group j + 1 (K of tile j + 1, V of tile j) landed ...
      ptx::fence_proxy_async_shared();
      __syncthreads();  // ... everywhere; every warpgroup is done with step j - 1's wgmma and their slots
      load_group(j + kStages);
      ptx::wgmma_fence();
      issue_scores(j + 1);
      issue_pv(j);
      ptx::wgmma_wait<1>();  // the scores (committed first) are done; P V may still run
      step.keep_scores();
      const bool moved = scores_to_p(j + 1);
      ptx::wgmma_wait<0>();
      step.keep_o_and_p();
      if (moved) step.rescale_o();
      step.p_to_fragments();
    }
    ptx::cp_async_wait<0>();
    ptx::fence_proxy_async_shared();
    __syncthreads();
    ptx::wgmma_fence();
    issue_pv(num_tiles - 1);
    ptx::wgmma_wait<0>();
    step.keep_o_and_p();

    // Epilogue: O / l, and lse.
    float inv_l[1][2];
    step.softmax.finish(inv_l, head.lse, q0 + warp_row0, seq_q, g, t);
    store_rows<T>(head.out, p.out_row_stride, step.o, inv_l, q0 + warp_row0, seq_q, 0, head_dim, g, t);
  }
};

template <int kConfig>
__global__ void __launch_bounds__(RegisterWgmmaKernel<kConfig>::kThreads, 1)
    register_wgmma_fwd_kernel(const KernelArgs args) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  RegisterWgmmaKernel<kConfig>::run(args);
#endif
}

}  // namespace tilekernels::attention::detail
