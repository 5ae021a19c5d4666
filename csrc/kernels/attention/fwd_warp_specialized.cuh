#pragma once
// kWarpSpecialized rows (sm_90a): FlashAttention-3's forward. Warpgroup 0 is the producer: one thread
// loads the CTA's Q tile once and streams K and V tiles with bulk tensor copies (TMA) into two rings
// of kStages slots, each slot guarded by a "full" mbarrier (its bytes landed) and an "empty" one
// (every consumer warp is done reading it). Warpgroups 1.. are consumers, 64 query rows each, and
// run the flash step the kRegister wgmma kernel runs (wgmma_step.cuh): S = Q K^T of tile j + 1 and
// O += P V of tile j in flight together, the softmax of tile j + 1 under P V, O's rescale after it.
// setmaxnreg moves registers from the producer to the consumers. Persistent rows launch one CTA per
// resident slot and walk the query tiles i, i + grid, ... (causal: longest first): the K / V rings run
// on across tiles, and the Q tile has an "empty" barrier too, released once a tile's last scores are
// done, so the next tile's first K loads and its Q go in while the consumers finish. Ping-pong rows make the consumers
// take turns issuing their wgmma (named barriers 1.., one per consumer), so that one warpgroup's
// softmax runs while another's products occupy the tensor cores.
//
// TMA writes every tile in the 128-byte swizzle as 64-column segments (segment s of all rows
// together, rows 128 bytes apart): wgmma's K-major layout for Q and K and its N-major layout for V,
// the layout fwd_register_wgmma.cuh builds with cp.async. Rows past seq_q / seq_k and columns past
// head_dim arrive as zeros (keys past seq_k are masked in S). The producer issues K of tile u + 1
// before V of tile u, the order the consumers need them in.
#include <cstdint>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/attention_tma.h"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/attention/wgmma_step.cuh"
#include "kernels/ptx/mbarrier.cuh"
#include "kernels/ptx/named_barrier.cuh"
#include "kernels/ptx/setmaxnreg.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/tma.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConsumers>
struct WarpSpecializedRegisters;
// 128 x 24 + 256 x 240 and 128 x 32 + 384 x 160 fit the SM's 64K registers.
template <>
struct WarpSpecializedRegisters<2> {
  static constexpr int kProducer = 24, kConsumer = 240;
};
template <>
struct WarpSpecializedRegisters<3> {
  static constexpr int kProducer = 32, kConsumer = 160;
};

template <int kConfig>
struct WarpSpecializedKernel {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.ws.block_q;
  static constexpr int kBKV = kCfg.ws.block_kv;
  static constexpr int kStages = kCfg.ws.stages;
  static constexpr int kConsumers = kBQ / 64;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kSegments = kD / kTmaBoxColumns;
  static constexpr bool kPingPong = kCfg.ws.pingpong;
  static constexpr uint32_t kFirstTurnBarrier = 1;  // barrier 0 is __syncthreads'
  using Registers = WarpSpecializedRegisters<kConsumers>;

  // Q, then the K stages, then the V stages (all 1024-byte aligned), then the barriers.
  static constexpr int kQBytes = kBQ * kD * 2;
  static constexpr int kKVBytes = kBKV * kD * 2;
  static constexpr int kBarrierOffset = kQBytes + 2 * kStages * kKVBytes;
  static constexpr int kSmemBytes = kBarrierOffset + 8 * (2 + 4 * kStages);

  static_assert(kCfg.kernel == Kernel::kWarpSpecialized && kCfg.is_wgmma(), "not a kWarpSpecialized configuration");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kCfg.threads() == 128 * (kConsumers + 1), "a producer warpgroup, one consumer per 64 query rows");
  static_assert(kBQ % 64 == 0 && kBQ <= 256, "64-row consumers; a Q box has at most 256 rows");
  static_assert(kBKV == 64 || kBKV == 128 || kBKV == 256, "S is one m64n64 / n128 / n256 wgmma per k16 step");
  static_assert(kD == 64 || kD == 128 || kD == 256, "O is one m64n64 / n128 / n256 wgmma per k16 step");
  static_assert(kKVBytes % 1024 == 0 && kQBytes % 1024 == 0, "tiles keep the 1024-byte swizzle alignment");
  static_assert(kStages >= 2, "K of tile u + 1 is loaded while V of tile u is still in use");
  static_assert(!kPingPong || kConsumers >= 2, "ping-pong needs two consumers");

  // Shared-memory addresses of one CTA's tiles and barriers.
  struct Smem {
    uint32_t q, k_ring, v_ring;
    uint32_t q_full, q_empty, k_full, k_empty, v_full, v_empty;  // barriers; per stage 8 bytes apart

    __device__ __forceinline__ explicit Smem(uint32_t base)
        : q(base),
          k_ring(base + kQBytes),
          v_ring(base + kQBytes + kStages * kKVBytes),
          q_full(base + kBarrierOffset),
          q_empty(q_full + 8),
          k_full(q_empty + 8),
          k_empty(k_full + 8 * kStages),
          v_full(k_empty + 8 * kStages),
          v_empty(v_full + 8 * kStages) {}
  };

  // The tile's batch item and heads; a tensor map indexes a dimension of stride 0 with 0 (attention_tma.h).
  struct Coords {
    int32_t batch, q_head, kv_head;
    __device__ __forceinline__ Coords(const Params& p, int bh) {
      const int heads_q = static_cast<int>(p.heads_q);
      batch = bh / heads_q;
      q_head = bh - batch * heads_q;
      kv_head = q_head / (heads_q / static_cast<int>(p.heads_kv));
    }
    static __device__ __forceinline__ int32_t index(int64_t stride, int32_t i) { return stride ? i : 0; }
  };

  // The producer thread, for the `visit`-th query tile of this CTA whose K / V tiles take ring
  // positions `ring0` on: K of key tile 0, Q (once the previous tile's consumers released it), then K of
  // key tile u + 1 before V of key tile u. A slot is refilled once its empty barrier completed the
  // phase of its previous use (a fresh barrier passes parity 1 at once).
  static __device__ __forceinline__ void produce(const TmaMaps& maps, const Params& p, const Smem& s,
                                                 const Coords& at, int q0, int num_tiles, uint32_t ring0,
                                                 uint32_t visit) {
    const int32_t k_head = Coords::index(p.k_head_stride, at.kv_head), k_batch = Coords::index(p.k_batch_stride, at.batch);
    const int32_t v_head = Coords::index(p.v_head_stride, at.kv_head), v_batch = Coords::index(p.v_batch_stride, at.batch);
    auto load = [&](const CUtensorMap* map, uint32_t ring, uint32_t full, uint32_t empty, int u, int32_t head,
                    int32_t batch) {
      const uint32_t position = ring0 + u;
      const int stage = static_cast<int>(position % kStages);
      ptx::mbarrier_wait(empty + 8 * stage, ((position / kStages) & 1) ^ 1);
      ptx::mbarrier_arrive_expect_tx(full + 8 * stage, kKVBytes);
      const uint32_t tile = ring + stage * kKVBytes;
#pragma unroll
      for (int seg = 0; seg < kSegments; ++seg)
        ptx::tma_load_4d(tile + seg * kBKV * 128, map, seg * kTmaBoxColumns, u * kBKV, head, batch, full + 8 * stage);
    };
    load(&maps.k, s.k_ring, s.k_full, s.k_empty, 0, k_head, k_batch);
    ptx::mbarrier_wait(s.q_empty, (visit & 1) ^ 1);
    ptx::mbarrier_arrive_expect_tx(s.q_full, kQBytes);  // whole boxes, zero-filled ones too
#pragma unroll
    for (int seg = 0; seg < kSegments; ++seg)
      ptx::tma_load_4d(s.q + seg * kBQ * 128, &maps.q, seg * kTmaBoxColumns, q0, Coords::index(p.q_head_stride, at.q_head),
                       Coords::index(p.q_batch_stride, at.batch), s.q_full);
    for (int u = 0; u < num_tiles; ++u) {
      if (u + 1 < num_tiles) load(&maps.k, s.k_ring, s.k_full, s.k_empty, u + 1, k_head, k_batch);
      load(&maps.v, s.v_ring, s.v_full, s.v_empty, u, v_head, v_batch);
    }
  }

  // Ping-pong: consumer c issues after barrier c completes (the previous consumer arrived there after
  // issuing) and then lets the next one go; every consumer issues num_tiles + 1 rounds per query tile.
  // The turns run on across the tiles of a persistent CTA: the last consumer's first arrival starts
  // consumer 0 once, and consumer 0's extra wait after its last tile takes the last arrival. (A start
  // and an end per tile would let the last consumer's next start complete barrier 0 with its previous
  // arrival before consumer 0 waited there: a deadlock.)
  __device__ __forceinline__ static void take_turn(int consumer) {
    if constexpr (kPingPong) ptx::named_barrier_sync(kFirstTurnBarrier + consumer, 256);
  }
  __device__ __forceinline__ static void pass_turn(int consumer) {
    if constexpr (kPingPong) ptx::named_barrier_arrive(kFirstTurnBarrier + (consumer + 1) % kConsumers, 256);
  }

  // A consumer warpgroup: rows [row0, row0 + 64) of the tile (warp w of it: 16 of them).
  // Its K / V tiles are at ring positions ring0.., and this is the CTA's `visit`-th query tile.
  static __device__ __forceinline__ void consume(const KernelArgs& args, const Smem& sm, const QueryTile<T, kBQ, kBKV>& tile,
                                                 int consumer, uint32_t ring0, uint32_t visit) {
    const int ct = threadIdx.x - 128 * (consumer + 1);
    const int lane = ct & 31;
    const int warp = ct >> 5;
    const int g = lane >> 2;
    const int t = lane & 3;
    const int num_tiles = tile.num_tiles;
    const int warp_row0 = tile.q0 + 64 * consumer + 16 * warp;
    const int group_row0 = tile.q0 + 64 * consumer;

    WgmmaFlashStep<kCfg.math, kBQ, kBKV, kD> step(args.scale_log2);

    // The consumer's 64 rows of Q: 64 rows of 128 bytes into every segment.
    const uint32_t q_rows = sm.q + consumer * 64 * 128;
    auto stage_of = [&](int u) { return static_cast<int>((ring0 + u) % kStages); };
    auto parity_of = [&](int u) { return ((ring0 + u) / kStages) & 1; };
    // One arrival per consumer warp releases a slot.
    auto release = [&](uint32_t empty, int u) {
      if (lane == 0) ptx::mbarrier_arrive(empty + 8 * stage_of(u));
    };

    auto take_turn = [&]() { WarpSpecializedKernel::take_turn(consumer); };
    auto pass_turn = [&]() { WarpSpecializedKernel::pass_turn(consumer); };

    auto issue_scores = [&](int u) { step.issue_scores(q_rows, sm.k_ring + stage_of(u) * kKVBytes); };
    auto issue_pv = [&](int u) { step.issue_pv(sm.v_ring + stage_of(u) * kKVBytes); };
    auto scores_to_p = [&](int u) {
      const int kv0 = u * kBKV;
      const bool needs_mask = kv0 + kBKV > tile.seq_k || (tile.causal && kv0 + kBKV - 1 > group_row0);
      return step.scores_to_p(warp_row0, kv0, tile.seq_k, tile.causal, needs_mask, g, t);
    };

    // Tile 0's scores (O is still zero: no rescale). Q is released once the last scores are done.
    auto release_q = [&]() {
      if (lane == 0) ptx::mbarrier_arrive(sm.q_empty);
    };
    ptx::mbarrier_wait(sm.q_full, visit & 1);
    ptx::mbarrier_wait(sm.k_full + 8 * stage_of(0), parity_of(0));
    take_turn();
    ptx::wgmma_fence();
    issue_scores(0);
    pass_turn();
    ptx::wgmma_wait<0>();
    step.keep_scores();
    release(sm.k_empty, 0);
    if (num_tiles == 1) release_q();
    scores_to_p(0);
    step.p_to_fragments();

    // Step j: P V of tile j runs on the tensor cores while the softmax of tile j + 1's scores runs.
    // The last step (P V only) is peeled so that no wgmma is issued conditionally (ptxas would then
    // serialize them).
    for (int j = 0; j + 1 < num_tiles; ++j) {
      ptx::mbarrier_wait(sm.k_full + 8 * stage_of(j + 1), parity_of(j + 1));
      ptx::mbarrier_wait(sm.v_full + 8 * stage_of(j), parity_of(j));
      take_turn();
      ptx::wgmma_fence();
      issue_scores(j + 1);
      issue_pv(j);
      pass_turn();
      ptx::wgmma_wait<1>();  // the scores (committed first) are done; P V may still run
      step.keep_scores();
      release(sm.k_empty, j + 1);
      if (j + 2 == num_tiles) release_q();
      const bool moved = scores_to_p(j + 1);
      ptx::wgmma_wait<0>();
      step.keep_o_and_p();
      release(sm.v_empty, j);
      if (moved) step.rescale_o();
      step.p_to_fragments();
    }
    ptx::mbarrier_wait(sm.v_full + 8 * stage_of(num_tiles - 1), parity_of(num_tiles - 1));
    take_turn();
    ptx::wgmma_fence();
    issue_pv(num_tiles - 1);
    pass_turn();
    ptx::wgmma_wait<0>();
    step.keep_o_and_p();
    release(sm.v_empty, num_tiles - 1);

    // Epilogue: O / l, and lse.
    float inv_l[1][2];
    step.softmax.finish(inv_l, tile.head.lse, warp_row0, tile.seq_q, g, t);
    store_rows<T>(tile.head.out, args.p.out_row_stride, step.o, inv_l, warp_row0, tile.seq_q, 0, tile.head_dim, g, t);
  }

  // The query tiles this CTA computes: blockIdx.x, + gridDim.x, ... (one for rows that are not
  // persistent: their grid has a CTA per tile).
  template <class Visit>
  __device__ __forceinline__ static void for_each_tile(const KernelArgs& args, Visit&& visit) {
    const unsigned total = static_cast<unsigned>(args.map.num_bh) * static_cast<unsigned>(args.map.num_q_tiles);
    uint32_t ring = 0, count = 0;
    for (unsigned block = blockIdx.x; block < total; block += gridDim.x, ++count) {
      int bh, q_tile;
      args.map.tile(block, bh, q_tile);
      const QueryTile<T, kBQ, kBKV> tile(args.p, bh, q_tile);
      visit(tile, bh, ring, count);
      ring += static_cast<uint32_t>(tile.num_tiles);
    }
  }

  __device__ __forceinline__ static void run(const KernelArgs& args, const TmaMaps& maps) {
    // 1024-byte aligned: the swizzle of TMA and wgmma sees absolute address bits.
    extern __shared__ __align__(1024) unsigned char warp_specialized_dynamic_smem[];
    const Smem sm(ptx::shared_address(warp_specialized_dynamic_smem));

    if (threadIdx.x == 0) {
      ptx::mbarrier_init(sm.q_full, 1);
      ptx::mbarrier_init(sm.q_empty, 4 * kConsumers);
      for (int st = 0; st < kStages; ++st) {
        ptx::mbarrier_init(sm.k_full + 8 * st, 1);
        ptx::mbarrier_init(sm.v_full + 8 * st, 1);
        ptx::mbarrier_init(sm.k_empty + 8 * st, 4 * kConsumers);
        ptx::mbarrier_init(sm.v_empty + 8 * st, 4 * kConsumers);
      }
      ptx::fence_mbarrier_init();
    }
    __syncthreads();

    const int warpgroup = threadIdx.x / 128;
    if (warpgroup == 0) {
      ptx::setmaxnreg_dec<Registers::kProducer>();
      if (threadIdx.x == 0) {
        ptx::tma_prefetch_map(&maps.q);
        ptx::tma_prefetch_map(&maps.k);
        ptx::tma_prefetch_map(&maps.v);
        for_each_tile(args, [&](const QueryTile<T, kBQ, kBKV>& tile, int bh, uint32_t ring, uint32_t visit) {
          produce(maps, args.p, sm, Coords(args.p, bh), tile.q0, tile.num_tiles, ring, visit);
        });
      }
    } else {
      ptx::setmaxnreg_inc<Registers::kConsumer>();
      const int consumer = warpgroup - 1;
      if (consumer == kConsumers - 1) pass_turn(consumer);
      for_each_tile(args, [&](const QueryTile<T, kBQ, kBKV>& tile, int, uint32_t ring, uint32_t visit) {
        consume(args, sm, tile, consumer, ring, visit);
      });
      if (consumer == 0) take_turn(consumer);
    }
  }
};

template <int kConfig>
__global__ void __launch_bounds__(WarpSpecializedKernel<kConfig>::kConsumers * 128 + 128, 1)
    warp_specialized_fwd_kernel(const KernelArgs args, const __grid_constant__ TmaMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  WarpSpecializedKernel<kConfig>::run(args, maps);
#endif
}

}  // namespace tilekernels::attention::detail
