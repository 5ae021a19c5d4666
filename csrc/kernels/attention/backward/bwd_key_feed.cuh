#pragma once
// The cp.async feed of the key-block kernels (bwd_key.cuh, bwd_key_wgmma.cuh, bwd_key_wgmma_split.cuh):
// the CTA's key block of one kv head, its jobs (query head h0 + u / per_head, query block first_block +
// u % per_head: every query head sharing the kv head, causal from the block holding row k0), K and V
// loaded once, and a ring of slots each holding a job's Q and dO tiles and its rows' lse and delta
// (4-byte cp.async, zero past seq_q). bwd_key_ws.cuh feeds the same jobs through TMA instead.
#include <cstdint>

#include "kernels/attention/backward/backward_params.h"
#include "kernels/attention/tile_io.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/shared_address.cuh"

namespace tilekernels::attention::detail {

// QL / KVL: the layouts of a Q (dO) and a K (V) tile; K then V at the start of shared memory, then
// the ring's slots of kSlotBytes (Q, dO, then kBQ floats of lse and of delta).
template <class QL, class KVL, int kThreads, class T, int kBQ, int kBKV, int kSlotBytes>
struct KeyBlockFeed {
  static constexpr int kVectorBytes = 4 * kBQ;  // lse or delta of a query block

  // Computed in this order, as the kernels once did inline (their SASS stays identical).
  int seq_q, seq_k, head_dim, heads_q, heads_kv, group, key_blocks, bhk, k0, b, hk;
  const T* k_head;
  const T* v_head;
  int query_blocks, first_block, per_head, num_jobs, h0;
  unsigned char* smem;
  TileCopy<QL, kThreads, T> q_copy, do_copy;

  __device__ __forceinline__ KeyBlockFeed(const BackwardParams& p, unsigned char* smem_base, int tid)
      : seq_q(static_cast<int>(p.seq_q)),
        seq_k(static_cast<int>(p.seq_k)),
        head_dim(static_cast<int>(p.head_dim)),
        heads_q(static_cast<int>(p.heads_q)),
        heads_kv(static_cast<int>(p.heads_kv)),
        group(heads_q / heads_kv),
        key_blocks((seq_k + kBKV - 1) / kBKV),
        bhk(static_cast<int>(blockIdx.x) / key_blocks),
        k0((static_cast<int>(blockIdx.x) - bhk * key_blocks) * kBKV),
        b(bhk / heads_kv),
        hk(bhk - b * heads_kv),
        k_head(static_cast<const T*>(p.k) + b * p.k_batch_stride + hk * p.k_head_stride),
        v_head(static_cast<const T*>(p.v) + b * p.v_batch_stride + hk * p.v_head_stride),
        query_blocks((seq_q + kBQ - 1) / kBQ),
        first_block(p.causal ? min(k0 / kBQ, query_blocks) : 0),
        per_head(query_blocks - first_block),
        num_jobs(group * per_head),
        h0(hk * group),
        smem(smem_base),
        q_copy(tid, p.q_row_stride),
        do_copy(tid, p.grad_out_row_stride) {}

  __device__ __forceinline__ unsigned char* k_smem() const { return smem; }
  __device__ __forceinline__ unsigned char* v_smem() const { return smem + KVL::kBytes; }
  __device__ __forceinline__ unsigned char* slot(int stage) const { return smem + 2 * KVL::kBytes + stage * kSlotBytes; }
  __device__ __forceinline__ int head(int u) const { return h0 + u / per_head; }
  __device__ __forceinline__ int q0(int u) const { return (first_block + u % per_head) * kBQ; }

  // Issues job u's copies into slot `stage` (no commit).
  __device__ __forceinline__ void load_job(const BackwardParams& p, int u, int stage, int tid) const {
    const int h = head(u);
    const int q0 = this->q0(u);
    unsigned char* s = slot(stage);
    const T* q_head = static_cast<const T*>(p.q) + b * p.q_batch_stride + h * p.q_head_stride;
    const T* do_head = static_cast<const T*>(p.grad_out) + b * p.grad_out_batch_stride + h * p.grad_out_head_stride;
    q_copy.issue(s, q_head, p.q_row_stride, q0, seq_q, 0, head_dim);
    do_copy.issue(s + QL::kBytes, do_head, p.grad_out_row_stride, q0, seq_q, 0, head_dim);
    if (tid < kBQ) {
      // Rows past seq_q read as 0; their columns are masked.
      const int64_t row = (static_cast<int64_t>(b) * heads_q + h) * seq_q + q0 + tid;
      const bool ok = q0 + tid < seq_q;
      const uint32_t vectors = ptx::shared_address(s + 2 * QL::kBytes) + 4 * tid;
      ptx::cp_async_4(vectors, ok ? p.lse + row : p.lse, ok ? 4 : 0);
      ptx::cp_async_4(vectors + kVectorBytes, ok ? p.delta + row : p.delta, ok ? 4 : 0);
    }
  }

  // Group 0 = K, V and job 0; then one group per stage (empty past the last job), so that before job j
  // exactly kStages - 1 + j groups are committed and group j holds job j. Without jobs (causal keys
  // after every row) nothing is loaded and the gradients stay zero.
  template <int kStages>
  __device__ __forceinline__ void prologue(const BackwardParams& p, int tid) const {
    if (num_jobs > 0) {
      TileCopy<KVL, kThreads, T>(tid, p.k_row_stride).issue(k_smem(), k_head, p.k_row_stride, k0, seq_k, 0, head_dim);
      TileCopy<KVL, kThreads, T>(tid, p.v_row_stride).issue(v_smem(), v_head, p.v_row_stride, k0, seq_k, 0, head_dim);
      load_job(p, 0, 0, tid);
    }
    ptx::cp_async_commit();
#pragma unroll
    for (int s = 1; s < kStages - 1; ++s) {
      if (s < num_jobs) load_job(p, s, s, tid);
      ptx::cp_async_commit();
    }
  }

  // Before job j: waits for its copies (this thread's), then the next job goes into the slot job j - 1
  // used, once the caller's CTA barrier between the two says every thread is done with that slot.
  template <int kStages>
  __device__ __forceinline__ void load_ahead(const BackwardParams& p, int j, int tid) const {
    const int next = j + kStages - 1;
    if (next < num_jobs) load_job(p, next, next % kStages, tid);
    ptx::cp_async_commit();
  }
};

}  // namespace tilekernels::attention::detail
