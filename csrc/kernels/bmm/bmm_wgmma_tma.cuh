#pragma once
// fp16 / bf16 bmm on Hopper (sm_90a), warp-specialized. Warpgroup 0 is the producer: one thread
// streams the k tiles of A and B with bulk tensor copies (TMA) into a ring of kStages stages, each
// guarded by a "full" mbarrier (the copies' bytes landed) and an "empty" one (every consumer warp has
// finished reading it). Warpgroups 1 and 2 are consumers, 64 rows of the tile each: they wait for a
// stage, issue four m64nNk16 wgmma reading both operands from shared memory, keep one k tile's wgmma
// in flight, and release the stage before. setmaxnreg moves registers from the producer to them.
// Persistent rows walk several output tiles per CTA with one ring across them (TileWalk): the producer
// loads the next tile's first k tiles while the consumers write this one's. Rows that store via TMA
// put each consumer's 64 rows of outputs into shared memory and one of its threads hands them to bulk
// tensor stores, which write C while the consumer multiplies the next tile. Cluster rows run two CTAs
// on vertically adjacent tiles as one unit: each loads half of the B tile they share and multicasts it
// to both, so a stage's "empty" barrier counts the consumer warps of both CTAs (each releases the
// stage in both), and each producer refills it only once both have read it.
// Copies zero-fill outside the tensors, so edge tiles and a partial last k tile need no masking;
// the epilogue masks its stores (bulk stores skip what lies outside C). Torch-free.
#include <cuda.h>

#include <cstdint>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/bmm/bmm_raster.cuh"
#include "kernels/bmm/bmm_tma_operands.h"
#include "kernels/bmm/bmm_wgmma_store.cuh"
#include "kernels/ptx/cluster.cuh"
#include "kernels/ptx/mbarrier.cuh"
#include "kernels/ptx/named_barrier.cuh"
#include "kernels/ptx/setmaxnreg.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/tma.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::bmm::wgmma_tma {

// Registers per thread after the hand-over: the producer keeps few, the consumers hold an m64nN fp32
// accumulator (N / 2 registers) each. 128 x 40 + 256 x 232 fits the SM's 64K.
inline constexpr int kProducerRegisters = 40;
inline constexpr int kConsumerRegisters = 232;

template <int kConfig, bool kAKMajor, bool kBKMajor>
struct Kernel {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  static constexpr int kBM = kCfg.block_m, kBN = kCfg.block_n, kBK = kCfg.block_k, kStages = kCfg.stages;
  static constexpr bool kBf16 = kCfg.math == MathMode::kBf16;
  static constexpr int kConsumers = kBM / 64;
  static constexpr int kCluster = kCfg.cluster_m;
  static_assert(kCfg.uses_tma() && (kCfg.math == MathMode::kFp16 || kCfg.math == MathMode::kBf16),
                "TMA rows are fp16 or bf16");
  static_assert(kBK == kTmaBoxElements, "a k tile is one 128-byte swizzle row of 16-bit elements");
  static_assert(kCfg.threads() == 128 * (kConsumers + 1), "one producer warpgroup, one consumer per 64 rows");
  static_assert(kBN % 64 == 0 && kBN <= 256, "m64nNk16 with N <= 256 in 64-column segments");
  static_assert(kCluster == 1 || (kCluster == 2 && kCfg.persistent), "clusters of two, persistent rows");
  static_assert(kBN % (8 * kCluster) == 0, "each CTA's share of a k-contiguous B box is whole 8-row groups");

  // A stage: A's tile, then B's. A K-contiguous tile is rows of 128 bytes (one box); an M- or
  // N-contiguous one is 64-element segments of kBK k rows (8 KB, one box each). Tiles stay 1024-byte
  // aligned, the period of the swizzle.
  static constexpr int kATileBytes = kBM * kBK * 2, kBTileBytes = kBN * kBK * 2;
  static constexpr int kStageBytes = kATileBytes + kBTileBytes;
  static constexpr int kSegmentBytes = 64 * kBK * 2;
  // Each CTA of a cluster loads kBN / kCluster rows of a k-contiguous B tile (one box).
  static constexpr int kBShareRows = kBN / kCluster;
  static_assert(kBShareRows * 128 % 1024 == 0, "a CTA's share of B starts on a swizzle period");
  static_assert(kATileBytes % 1024 == 0 && kBTileBytes % 1024 == 0, "swizzle-aligned tiles");
  // Rows that store via TMA: each consumer's 64 x kBN outputs as kBN / 64 boxes of 64 x 64 (8 KB).
  static constexpr int kOutputBytes = kCfg.store_via_tma ? kBM * kBN * 2 : 0;
  static constexpr int kOutputBoxBytes = 64 * 64 * 2;
  // The ring, the output tile, then a full and an empty mbarrier per stage.
  static constexpr int kSmemBytes = kStages * kStageBytes + kOutputBytes + 2 * kStages * 8;

  // Wgmma descriptors of k16 step kk of a stage: A's rows of consumer `consumer`, and all of B.
  static __device__ __forceinline__ uint64_t a_desc(uint32_t a_tile, int consumer, int kk) {
    if constexpr (kAKMajor) return ptx::wgmma_sw128_desc(a_tile + consumer * 64 * 128 + kk * 32);
    else return ptx::wgmma_sw128_mn_desc(a_tile + consumer * kSegmentBytes + kk * 2048, kSegmentBytes, 1024);
  }
  static __device__ __forceinline__ uint64_t b_desc(uint32_t b_tile, int kk) {
    if constexpr (kBKMajor) return ptx::wgmma_sw128_desc(b_tile + kk * 32);
    else return ptx::wgmma_sw128_mn_desc(b_tile + kk * 2048, kSegmentBytes, 1024);
  }

  // Loads B's box at (x, y, item) into `dst`: in a cluster, into every CTA's ring.
  static __device__ __forceinline__ void load_b(uint32_t dst, const TmaOperands& maps, int32_t x, int32_t y,
                                                int32_t item, uint32_t bar) {
    if constexpr (kCluster == 1) ptx::tma_load_3d(dst, &maps.b, x, y, item, bar);
    else ptx::tma_load_3d_multicast(dst, &maps.b, x, y, item, bar, (1u << kCluster) - 1);
  }

  // The producer thread: the k tiles of the tile at (m0, n0), the ring's k tiles `it` onwards (stage
  // it % kStages, once its consumers have released it); in a cluster, this CTA's share of B (`rank`).
  static __device__ __forceinline__ void produce(const TmaOperands& maps, uint32_t ring, uint32_t full,
                                                 uint32_t empty, int32_t m0, int32_t n0, int32_t a_item,
                                                 int32_t b_item, int k_tiles, uint32_t rank, uint32_t& it) {
    for (int kt = 0; kt < k_tiles; ++kt, ++it) {
      const uint32_t stage = it % kStages;
      const uint32_t full_bar = full + 8 * stage;
      ptx::mbarrier_wait(empty + 8 * stage, ((it / kStages) & 1) ^ 1);
      ptx::mbarrier_arrive_expect_tx(full_bar, kStageBytes);  // whole boxes, zero-filled ones too
      const uint32_t a_tile = ring + stage * kStageBytes, b_tile = a_tile + kATileBytes;
      const int32_t k0 = kt * kBK;
      if constexpr (kAKMajor) {
        ptx::tma_load_3d(a_tile, &maps.a, k0, m0, a_item, full_bar);
      } else {
#pragma unroll
        for (int s = 0; s < kBM / 64; ++s) ptx::tma_load_3d(a_tile + s * kSegmentBytes, &maps.a, m0 + 64 * s, k0, a_item, full_bar);
      }
      if constexpr (kBKMajor) {
        load_b(b_tile + rank * kBShareRows * 128, maps, k0, n0 + rank * kBShareRows, b_item, full_bar);
      } else {
#pragma unroll
        for (int s = 0; s < kBN / 64; ++s)
          if (s % kCluster == static_cast<int>(rank)) load_b(b_tile + s * kSegmentBytes, maps, n0 + 64 * s, k0, b_item, full_bar);
      }
    }
  }

  // Releases a stage: one arrival per consumer warp on its empty barrier, in every CTA of the cluster.
  static __device__ __forceinline__ void release(uint32_t empty_bar) {
    if constexpr (kCluster == 1) {
      ptx::mbarrier_arrive(empty_bar);
    } else {
#pragma unroll
      for (uint32_t r = 0; r < kCluster; ++r) ptx::mbarrier_arrive_cluster(ptx::map_shared_to_cta(empty_bar, r));
    }
  }

  // A consumer warpgroup: its 64 x kBN accumulators of one output tile, from the ring's k tiles `it`
  // onwards; every stage it read is released when it returns.
  static __device__ __forceinline__ void consume(float (&acc)[kBN / 2], uint32_t ring, uint32_t full, uint32_t empty,
                                                 int consumer, int k_tiles, uint32_t& it) {
    const bool releases = (threadIdx.x & 31) == 0;  // one arrival per consumer warp
    for (int kt = 0; kt < k_tiles; ++kt, ++it) {
      const uint32_t stage = it % kStages;
      ptx::mbarrier_wait(full + 8 * stage, (it / kStages) & 1);
      const uint32_t a_tile = ring + stage * kStageBytes, b_tile = a_tile + kATileBytes;
      ptx::wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < kBK / 16; ++kk)
        ptx::wgmma_m64k16_f16_ss<kBN, kBf16, kBKMajor ? 0 : 1, kAKMajor ? 0 : 1>(
            acc, a_desc(a_tile, consumer, kk), b_desc(b_tile, kk), kt > 0 || kk > 0);
      ptx::wgmma_commit();
      // The previous k tile's wgmma are done once at most this one's group is pending.
      ptx::wgmma_wait<1>();
      if (kt > 0 && releases) release(empty + 8 * ((it - 1) % kStages));
    }
    ptx::wgmma_wait<0>();
    ptx::wgmma_keep(acc);
    if (releases) release(empty + 8 * ((it - 1) % kStages));
  }

  // A consumer warpgroup's epilogue through shared memory: once the bulk stores of its previous tile
  // have read `staging` (its 64 x kBN outputs), its threads write this tile's there, and one thread
  // stores them to C's rows m0.. and columns n0.. of batch item `batch`.
  static __device__ __forceinline__ void store_via_tma(const float (&acc)[kBN / 2], const TmaOperands& maps,
                                                       uint32_t staging, int consumer, int32_t m0, int32_t n0,
                                                       int32_t batch) {
    const bool leader = threadIdx.x % 128 == 0;
    const uint32_t barrier = 1 + consumer;  // named barrier of this warpgroup (0 is __syncthreads')
    if (leader) ptx::tma_store_wait_read<0>();
    ptx::named_barrier_sync(barrier, 128);
    stage_wgmma_rows_16bit<kBN, kBf16>(acc, staging);
    ptx::fence_proxy_async_shared();
    ptx::named_barrier_sync(barrier, 128);
    if (leader) {
#pragma unroll
      for (int box = 0; box < kBN / 64; ++box)
        ptx::tma_store_3d(&maps.c, staging + box * kOutputBoxBytes, n0 + 64 * box, m0, batch);
      ptx::tma_store_commit();
    }
  }

  static __device__ __forceinline__ void run(const Params& p, const TmaOperands& maps) {
    extern __shared__ __align__(1024) uint8_t smem[];
    const uint32_t ring = ptx::shared_address(smem);
    const uint32_t output = ring + kStages * kStageBytes;
    const uint32_t full = output + kOutputBytes, empty = full + 8 * kStages;
    // A cluster walks units of kCluster vertically adjacent tiles; this CTA computes the rank-th.
    const TileWalk<kBM * kCluster, kBN, kCfg.group_m, kCluster> walk{p.m, p.n, p.batch};
    const uint32_t rank = kCluster == 1 ? 0 : ptx::cluster_cta_rank();
    const int k_tiles = static_cast<int>((p.k + kBK - 1) / kBK);
    const int warpgroup = threadIdx.x / 128;

    if (threadIdx.x == 0) {
      for (int s = 0; s < kStages; ++s) {
        ptx::mbarrier_init(full + 8 * s, 1);
        ptx::mbarrier_init(empty + 8 * s, 4 * kConsumers * kCluster);
      }
      ptx::fence_mbarrier_init();
    }
    // In a cluster the other CTA's producer and consumers use these barriers too.
    if constexpr (kCluster == 1) __syncthreads();
    else ptx::cluster_sync();

    if (warpgroup == 0) {
      ptx::setmaxnreg_dec<kProducerRegisters>();
      if (threadIdx.x == 0) {
        ptx::tma_prefetch_map(&maps.a);
        ptx::tma_prefetch_map(&maps.b);
        uint32_t it = 0;
        for (uint32_t tile = walk.first(); tile < walk.total(); tile = walk.next(tile)) {
          const TileCoord c = walk.coord(tile);
          // A broadcast operand (batch stride 0) is a one-item tensor.
          const int32_t a_item = p.a_batch_stride ? static_cast<int32_t>(c.batch) : 0;
          const int32_t b_item = p.b_batch_stride ? static_cast<int32_t>(c.batch) : 0;
          produce(maps, ring, full, empty, static_cast<int32_t>(c.m0 + rank * kBM), static_cast<int32_t>(c.n0), a_item,
                  b_item, k_tiles, rank, it);
        }
      }
    } else {
      ptx::setmaxnreg_inc<kConsumerRegisters>();
      const int consumer = warpgroup - 1;
      uint32_t it = 0;
      for (uint32_t tile = walk.first(); tile < walk.total(); tile = walk.next(tile)) {
        TileCoord c = walk.coord(tile);
        c.m0 += rank * kBM;
        float acc[kBN / 2];
        consume(acc, ring, full, empty, consumer, k_tiles, it);
        if constexpr (kCfg.store_via_tma)
          store_via_tma(acc, maps, output + consumer * (kOutputBytes / kConsumers), consumer,
                        static_cast<int32_t>(c.m0) + 64 * consumer, static_cast<int32_t>(c.n0),
                        static_cast<int32_t>(c.batch));
        else
          store_wgmma_rows_16bit<kBN, kBf16>(acc, p, c.batch, c.m0 + 64 * consumer, c.n0);
      }
      // Shared memory must outlive the bulk stores reading it.
      if (kCfg.store_via_tma && threadIdx.x % 128 == 0) ptx::tma_store_wait<0>();
    }
    // Neither CTA of a cluster leaves while the other may still arrive on its barriers (the barrier
    // wants whole warps: the producer's other lanes wait here for its first).
    if constexpr (kCluster > 1) {
      __syncwarp();
      ptx::cluster_sync();
    }
  }
};

}  // namespace tilekernels::bmm::wgmma_tma
