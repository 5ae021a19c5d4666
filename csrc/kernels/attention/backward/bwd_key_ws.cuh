#pragma once
// The backward's key-block kernel, warp-specialized (sm_90a, fp16 / bf16, head dims 64 and 128):
// bwd_key_wgmma.cuh's products and job order with FlashAttention-3's feeding. Warpgroup 0 is the
// producer: one thread loads the CTA's K and V once and streams each job's Q and dO tiles (bulk tensor
// copies, backward_tma.h) and its lse / delta (one bulk copy from the pre-pass's per-block vectors)
// into a ring of kStages slots, each guarded by a "full" mbarrier (its bytes landed) and an "empty"
// one (every consumer thread is done reading it). Warpgroups 1 and 2 are consumers, 64 keys each, with
// the registers setmaxnreg takes from the producer; they never copy, and meet each other only (with
// dq_atomic at head dim 128) at the named barrier that says the job's dS^T is staged, since each then
// computes dQ's columns over both halves of the keys. That dS^T is staged in two buffers, alternating
// per job: a consumer passes the next job's barrier only after its own dQ products of this job are
// done, so a buffer is rewritten only once both have read it. A consumer issues dV, then (dS^T staged)
// dQ, then dK, and writes dQ (fp32) to its staging area while dK runs (FlashAttention-3's order); one of
// its threads hands it to bulk tensor reductions (cp.reduce.async.bulk .add), which add it to dq_accum
// in L2 while the consumer goes on: no per-thread atomics. At head dim 64 a job is 128 query rows (a
// consumer's dQ over its own keys is then two m64 tiles), at 128 it is 64 (S^T and dP^T of 128 rows
// would not fit beside dK and dV).
// TMA writes every tile as 64-column segments in the 128-byte swizzle (rows 128 bytes apart), the
// layout bwd_key_wgmma.cuh builds with cp.async; rows past seq_q / seq_k and columns past head_dim
// arrive as zeros, and the padding rows of the vectors are zeros (bwd_delta.cuh).
#include <cstdint>

#include "kernels/attention/attention_tma.h"
#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/backward/backward_tma.h"
#include "kernels/attention/backward/bwd_dq_atomic.cuh"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/common/wgmma_staging.cuh"
#include "kernels/ptx/ex2.cuh"
#include "kernels/ptx/mbarrier.cuh"
#include "kernels/ptx/named_barrier.cuh"
#include "kernels/ptx/setmaxnreg.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/tma.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct BackwardKeyWsKernel {
  static constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using T = typename Op::Elem;
  static constexpr bool kBf16 = kCfg.math == MathMode::kBf16;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBKV = kCfg.keys.block_kv;
  static constexpr int kBQ = kCfg.keys.block_q;
  static constexpr int kStages = kCfg.keys.stages;
  static constexpr int kConsumers = kBKV / 64;
  static constexpr int kThreads = 128 * (kConsumers + 1);
  static constexpr int kSegments = kD / kTmaBoxColumns;
  static constexpr int kNQ = kBQ / 8;   // n8 tiles of S^T and dP^T per warp
  static constexpr int kDT = kD / 8;    // n8 tiles of dK and dV per warp
  static constexpr int kKD = kD / 16;   // k16 steps over the head dim (S^T, dP^T)
  static constexpr int kKQ = kBQ / 16;  // k16 steps over the query rows (dV, dK)
  static constexpr bool kDqAtomic = kCfg.dq_atomic;
  // dQ = dS K per consumer: at head dim 64 over its own 64 keys for every column, at 128 over both
  // consumers' keys for its half of the columns (the consumers meet once per job; each over its own
  // keys for all 128 columns, never meeting but reducing twice the sums, measured 1.05x slower).
  static constexpr bool kOwnKeys = kD == 64;
  static constexpr int kDqKeys = kOwnKeys ? 64 : kBKV;   // the product's k extent
  static constexpr int kDqColumns = kOwnKeys ? kD : 64;  // its n extent
  static constexpr int kDqRowTiles = kBQ / 64;           // its m64 tiles (own keys: every query row of the job)
  // As the forward's two-consumer rows: 128 x 24 + 256 x 240 fit the SM's 64K registers.
  static constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
  // Named barriers (0 is __syncthreads'): dS^T staged (head dim 64: one per consumer), then one per
  // consumer for its dQ staging area.
  static constexpr uint32_t kDsBarrier = 1, kDqBarrier = 3;

  // K, V, the ring's slots (Q, dO, then lse and delta), dS^T's buffers, each consumer's dQ staging area
  // (all 1024-byte aligned: the swizzle of TMA and wgmma sees absolute address bits), then the barriers.
  static constexpr int kKVBytes = kBKV * kD * 2;
  static constexpr int kQBytes = kBQ * kD * 2;
  static constexpr int kVectorBlocks = kBQ / kVectorRows;  // the pre-pass's blocks per job
  static constexpr int kVectorBytes = kVectorBlocks * 2 * kVectorRows * 4;
  static constexpr int kSlotLoadBytes = 2 * kQBytes + kVectorBytes;
  static constexpr int kSlotBytes = (kSlotLoadBytes + 1023) / 1024 * 1024;
  static constexpr int kRingOffset = 2 * kKVBytes;
  static constexpr int kDsBytes = kBKV * kBQ * 2;  // dS^T, keys x query rows
  static constexpr int kDsConsumerBytes = 64 * kBQ * 2;  // one consumer's keys: 64 rows per 64-column segment
  static constexpr int kDsOffset = kRingOffset + kStages * kSlotBytes;
  // dS^T in two buffers when both consumers read it (alternating per job), else in one.
  static constexpr int kDsBuffers = kDqAtomic ? (kOwnKeys ? 1 : 2) : 0;
  static constexpr int kDqTileBytes = 64 * kDqColumns * 4;  // one m64 tile of dQ, fp32
  static constexpr int kDqStagingBytes = kDqRowTiles * kDqTileBytes;  // one warpgroup's
  static constexpr int kDqOffset = kDsOffset + kDsBuffers * kDsBytes;
  static constexpr int kBarrierOffset = kDqOffset + (kDqAtomic ? kConsumers * kDqStagingBytes : 0);
  static constexpr int kSmemBytes = kBarrierOffset + 8 * (1 + 2 * kStages);

  static_assert(kCfg.keys.wgmma && kCfg.keys.warp_specialized, "not a warp-specialized key-block row");
  static_assert(Op::kK == 16, "16-bit math modes only");
  static_assert(kCfg.keys.warps == 4 * kConsumers && kConsumers == 2, "two consumer warpgroups of 64 keys");
  static_assert(kBQ % kVectorRows == 0 && kVectorBlocks <= kVectorBlockMultiple,
                "one bulk copy of whole blocks of the pre-pass's vectors per job");
  static_assert(kBQ == 64 || (kBQ == 128 && kOwnKeys), "a consumer's dS^T is one m64 tile of the dQ product, "
                                                       "or (own keys) each of its 64-column segments is");
  static_assert(kD == 64 || kD == 128, "dK and dV are one m64n64 / n128 wgmma per k16 step");
  static_assert(kStages >= 2, "the producer fills a slot while the consumers read another");

  // Shared-memory addresses of one CTA's tiles and barriers.
  struct Smem {
    uint32_t k, v, ring, ds, dq;
    uint32_t kv_full, full, empty;  // barriers; per stage 8 bytes apart
    __device__ __forceinline__ explicit Smem(uint32_t base)
        : k(base),
          v(base + kKVBytes),
          ring(base + kRingOffset),
          ds(base + kDsOffset),
          dq(base + kDqOffset),
          kv_full(base + kBarrierOffset),
          full(kv_full + 8),
          empty(full + 8 * kStages) {}
  };

  // The CTA's key block and its jobs: (query head h0 + u / per_head, query block first_block + u % per_head).
  struct Jobs {
    int b, hk, bhk, k0, h0, first_block, per_head, count;
    __device__ __forceinline__ explicit Jobs(const BackwardParams& p) {
      const int seq_q = static_cast<int>(p.seq_q), seq_k = static_cast<int>(p.seq_k);
      const int heads_kv = static_cast<int>(p.heads_kv);
      const int group = static_cast<int>(p.heads_q) / heads_kv;
      const int key_blocks = (seq_k + kBKV - 1) / kBKV;
      bhk = static_cast<int>(blockIdx.x) / key_blocks;
      k0 = (static_cast<int>(blockIdx.x) - bhk * key_blocks) * kBKV;
      b = bhk / heads_kv;
      hk = bhk - b * heads_kv;
      h0 = hk * group;
      const int query_blocks = (seq_q + kBQ - 1) / kBQ;
      first_block = p.causal ? min(k0 / kBQ, query_blocks) : 0;
      per_head = query_blocks - first_block;
      count = group * per_head;
    }
    __device__ __forceinline__ int head(int u) const { return h0 + u / per_head; }
    __device__ __forceinline__ int q0(int u) const { return (first_block + u % per_head) * kBQ; }
  };

  // A tensor map indexes a dimension of stride 0 with 0 (attention_tma.h).
  static __device__ __forceinline__ int32_t index(int64_t stride, int i) { return stride ? i : 0; }

  // The producer thread: K and V, then every job's slot once its previous use was released.
  static __device__ __forceinline__ void produce(const BackwardParams& p, const BackwardTmaMaps& maps, const Smem& sm,
                                                 const Jobs& jobs) {
    ptx::tma_prefetch_map(&maps.q);
    ptx::tma_prefetch_map(&maps.grad_out);
    if constexpr (kDqAtomic) ptx::tma_prefetch_map(&maps.dq);
    ptx::mbarrier_arrive_expect_tx(sm.kv_full, 2 * kKVBytes);  // whole boxes, zero-filled ones too
#pragma unroll
    for (int seg = 0; seg < kSegments; ++seg) {
      ptx::tma_load_4d(sm.k + seg * kBKV * 128, &maps.k, seg * kTmaBoxColumns, jobs.k0, index(p.k_head_stride, jobs.hk),
                       index(p.k_batch_stride, jobs.b), sm.kv_full);
      ptx::tma_load_4d(sm.v + seg * kBKV * 128, &maps.v, seg * kTmaBoxColumns, jobs.k0, index(p.v_head_stride, jobs.hk),
                       index(p.v_batch_stride, jobs.b), sm.kv_full);
    }
    const int64_t vector_blocks = backward_vector_blocks(p.seq_q);
    for (int u = 0; u < jobs.count; ++u) {
      const int stage = u % kStages;
      const uint32_t full = sm.full + 8 * stage;
      ptx::mbarrier_wait(sm.empty + 8 * stage, ((u / kStages) & 1) ^ 1);
      ptx::mbarrier_arrive_expect_tx(full, kSlotLoadBytes);
      const uint32_t q_tile = sm.ring + stage * kSlotBytes, do_tile = q_tile + kQBytes;
      const int h = jobs.head(u), q0 = jobs.q0(u);
#pragma unroll
      for (int seg = 0; seg < kSegments; ++seg) {
        ptx::tma_load_4d(q_tile + seg * kBQ * 128, &maps.q, seg * kTmaBoxColumns, q0, index(p.q_head_stride, h),
                         index(p.q_batch_stride, jobs.b), full);
        ptx::tma_load_4d(do_tile + seg * kBQ * 128, &maps.grad_out, seg * kTmaBoxColumns, q0,
                         index(p.grad_out_head_stride, h), index(p.grad_out_batch_stride, jobs.b), full);
      }
      const int64_t block = (static_cast<int64_t>(jobs.b) * p.heads_q + h) * vector_blocks + q0 / kVectorRows;
      ptx::bulk_load(do_tile + kQBytes, p.vectors + block * 2 * kVectorRows, kVectorBytes, full);
    }
  }

  // A consumer warpgroup: keys [64 wg, 64 wg + 64) of the block (warp w of it: 16 of them).
  static __device__ __forceinline__ void consume(const BackwardParams& p, const BackwardTmaMaps& maps, const Smem& sm,
                                                 const unsigned char* smem, const Jobs& jobs, int wg) {
    const int lane = threadIdx.x & 31;
    const int warp = (threadIdx.x >> 5) & 3;  // within the warpgroup
    const int g = lane >> 2;
    const int t = lane & 3;
    const int seq_q = static_cast<int>(p.seq_q), seq_k = static_cast<int>(p.seq_k);
    const int warp_key0 = 64 * wg + 16 * warp;  // within the block

    float dk[1][kDT][4], dv[1][kDT][4];
    zero_fragments(dk);
    zero_fragments(dv);
    float(&dk_acc)[kDT * 4] = reinterpret_cast<float(&)[kDT * 4]>(dk);
    float(&dv_acc)[kDT * 4] = reinterpret_cast<float(&)[kDT * 4]>(dv);
    float st[1][kNQ][4], dpt[1][kNQ][4];
    float(&st_acc)[kNQ * 4] = reinterpret_cast<float(&)[kNQ * 4]>(st);
    float(&dpt_acc)[kNQ * 4] = reinterpret_cast<float(&)[kNQ * 4]>(dpt);
    typename Op::A pa[kKQ], dsa[kKQ];  // P^T and dS^T as A fragments

    const float c = p.scale * kLog2e;
    const uint32_t k_rows = sm.k + wg * 64 * 128, v_rows = sm.v + wg * 64 * 128;

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

    const int key0 = kOwnKeys ? 64 * wg : 0;
    const int col0 = kOwnKeys ? 0 : 64 * wg;
    const uint32_t dq_staging = sm.dq + wg * kDqStagingBytes;
    const bool leader = threadIdx.x % 128 == 0;

    if (jobs.count > 0) ptx::mbarrier_wait(sm.kv_full, 0);
    for (int u = 0; u < jobs.count; ++u) {
      const int stage = u % kStages;
      ptx::mbarrier_wait(sm.full + 8 * stage, (u / kStages) & 1);
      const uint32_t q_tile = sm.ring + stage * kSlotBytes, do_tile = q_tile + kQBytes;
      // Query column col's lse * log2(e) and delta: block col / kVectorRows of the slot's vectors.
      const float* vectors = reinterpret_cast<const float*>(smem + (do_tile + kQBytes - sm.k));
      auto lse_log2 = [&](int col) { return vectors[(col / kVectorRows) * 2 * kVectorRows + col % kVectorRows]; };
      auto delta = [&](int col) { return vectors[(col / kVectorRows) * 2 * kVectorRows + kVectorRows + col % kVectorRows]; };
      const int q0 = jobs.q0(u);

      ptx::wgmma_fence();
      issue_nk(st_acc, k_rows, q_tile);    // S^T = K Q^T
      issue_nk(dpt_acc, v_rows, do_tile);  // dP^T = V dO^T
      ptx::wgmma_wait<1>();
      ptx::wgmma_keep(st_acc);

      // P^T; masked: rows past seq_q and (causal) rows before the key.
      const bool needs_mask = q0 + kBQ > seq_q || (p.causal && q0 < jobs.k0 + kBKV - 1);
#pragma unroll
      for (int nt = 0; nt < kNQ; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int col = nt * 8 + 2 * t + (i & 1);
          float pt = ptx::ex2_approx(fmaf(st[0][nt][i], c, -lse_log2(col)));
          if (needs_mask) {
            const int row = q0 + col;
            const int key = jobs.k0 + warp_key0 + g + ((i >> 1) << 3);
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
        for (int i = 0; i < 4; ++i) dpt[0][nt][i] = st[0][nt][i] * (dpt[0][nt][i] - delta(nt * 8 + 2 * t + (i & 1)));
      }
      [[maybe_unused]] const uint32_t ds_tile = sm.ds + (kDsBuffers == 2 ? (u & 1) * kDsBytes : 0);
      if constexpr (kDqAtomic) stage_wgmma_rows_16bit<kBQ, kBf16>(dpt_acc, ds_tile + wg * kDsConsumerBytes);
      to_fragments(pa, st);
      to_fragments(dsa, dpt);
      ptx::wgmma_fence();
      issue_kn(dv_acc, pa, do_tile);  // dV += P^T dO
      ptx::wgmma_commit();
      if constexpr (kDqAtomic) {
        // FlashAttention-3's order: dV, then dQ (once dS^T is staged), then dK, so that dQ's sums go to
        // the staging area while dK runs.
        ptx::fence_proxy_async_shared();  // the staged dS^T, visible to wgmma ...
        if constexpr (kOwnKeys) {
          ptx::named_barrier_sync(kDsBarrier + wg, 128);  // ... of this warpgroup
        } else {
          ptx::named_barrier_sync(kDsBarrier, 128 * kConsumers);  // ... of both
        }
        float dq[kDqRowTiles][kDqColumns / 2];
        issue_dq_product<kDqColumns, kDqKeys, kBKV, kBf16>(dq, ds_tile + (kOwnKeys ? wg * kDsConsumerBytes : 0),
                                                           sm.k + (col0 / 64) * (kBKV * 128) + key0 * 128);
        ptx::wgmma_commit();
        issue_kn(dk_acc, dsa, q_tile);  // dK += dS^T Q
        ptx::wgmma_commit();
        ptx::wgmma_wait<1>();  // dV and dQ are done
#pragma unroll
        for (int r = 0; r < kDqRowTiles; ++r) ptx::wgmma_keep(dq[r]);
        // dQ's sums through the staging area, once the previous job's reduction has read it: the copy
        // engine adds them to dq_accum while the warpgroup goes on (rows past seq_q are skipped).
        if (leader) ptx::tma_store_wait_read<0>();
        ptx::named_barrier_sync(kDqBarrier + wg, 128);
#pragma unroll
        for (int r = 0; r < kDqRowTiles; ++r) stage_wgmma_rows_fp32<kDqColumns>(dq[r], dq_staging + r * kDqTileBytes);
        ptx::fence_proxy_async_shared();
        ptx::named_barrier_sync(kDqBarrier + wg, 128);
        if (leader) {
          const int32_t bh = static_cast<int32_t>(jobs.b * p.heads_q) + jobs.head(u);
#pragma unroll
          for (int r = 0; r < kDqRowTiles; ++r)
#pragma unroll
            for (int box = 0; box < kDqColumns / kDqBoxColumns; ++box)
              ptx::tma_reduce_add_3d(&maps.dq, dq_staging + r * kDqTileBytes + box * kDqBoxColumns * 4 * 64,
                                     col0 + kDqBoxColumns * box, q0 + 64 * r, bh);
          ptx::tma_store_commit();
        }
      } else {
        issue_kn(dk_acc, dsa, q_tile);  // dK += dS^T Q
        ptx::wgmma_commit();
      }
      ptx::wgmma_wait<0>();
      // Every thread's reads of the slot (lse and delta; its wgmma) are done.
      ptx::mbarrier_arrive(sm.empty + 8 * stage);
      ptx::wgmma_keep(dv_acc);
      ptx::wgmma_keep(dk_acc);
    }
    // Shared memory must outlive the reductions reading it.
    if (kDqAtomic && leader) ptx::tma_store_wait<0>();

    // Epilogue: scale dK; keys no query row sees keep zero gradients.
    float k_scale[1][2] = {{p.scale, p.scale}}, v_scale[1][2] = {{1.0f, 1.0f}};
    const int64_t head_rows = static_cast<int64_t>(jobs.bhk) * seq_k;
    const int head_dim = static_cast<int>(p.head_dim);
    store_rows<T>(static_cast<T*>(p.grad_k) + head_rows * p.grad_row_stride, p.grad_row_stride, dk, k_scale,
                  jobs.k0 + warp_key0, seq_k, 0, head_dim, g, t);
    store_rows<T>(static_cast<T*>(p.grad_v) + head_rows * p.grad_row_stride, p.grad_row_stride, dv, v_scale,
                  jobs.k0 + warp_key0, seq_k, 0, head_dim, g, t);
  }

  __device__ __forceinline__ static void run(const BackwardParams& p, const BackwardTmaMaps& maps) {
    extern __shared__ __align__(1024) unsigned char backward_key_ws_dynamic_smem[];
    const Smem sm(ptx::shared_address(backward_key_ws_dynamic_smem));
    const Jobs jobs(p);

    if (threadIdx.x == 0) {
      ptx::mbarrier_init(sm.kv_full, 1);
      for (int st = 0; st < kStages; ++st) {
        ptx::mbarrier_init(sm.full + 8 * st, 1);
        ptx::mbarrier_init(sm.empty + 8 * st, 128 * kConsumers);
      }
      ptx::fence_mbarrier_init();
    }
    __syncthreads();

    const int warpgroup = threadIdx.x / 128;
    if (warpgroup == 0) {
      ptx::setmaxnreg_dec<kProducerRegisters>();
      if (threadIdx.x == 0 && jobs.count > 0) produce(p, maps, sm, jobs);
    } else {
      ptx::setmaxnreg_inc<kConsumerRegisters>();
      consume(p, maps, sm, backward_key_ws_dynamic_smem, jobs, warpgroup - 1);
    }
  }
};

template <int kConfig>
__global__ void __launch_bounds__(BackwardKeyWsKernel<kConfig>::kThreads, 1)
    backward_key_ws_kernel(const BackwardParams p, const __grid_constant__ BackwardTmaMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  BackwardKeyWsKernel<kConfig>::run(p, maps);
#endif
}

}  // namespace tilekernels::attention::detail
