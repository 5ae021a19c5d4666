#pragma once
// The building blocks of the two large-head-dim kernels (kSplitD, kTwoPhase).
//
// The CTA's warps form a kWM x kWN grid. For S = Q K^T over a block of kBKV keys, warp (wm, wn) owns
// rows [wm * kRS, (wm + 1) * kRS) and keys [wn * kNS, (wn + 1) * kNS); Q and K arrive in kDK-column
// pieces, one pipeline slot per piece. The row softmax needs the max over all kWN warps of a row:
// each warp posts its row maxima to `red` and a barrier later every warp reads all of them, so all
// warps of a row agree bit for bit on the max. p = exp2(s - max) goes to shared memory (P, 16-bit for
// fp16 / bf16, fp32 for the TF32 modes), and O += P V reads P as the A operand, with warp (wm, wn)
// owning the same rows and O columns [wn * kCO, (wn + 1) * kCO) of the current kDO-column O chunk. Each
// lane keeps the running max and its partial sum (over its own columns) for the rows it owns.
#include <cstdint>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/operand.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/ptx/cp_async.cuh"
#include "kernels/ptx/ex2.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct SplitShape {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using Op = Operand<kCfg.math>;
  using ScoreOp = ScoreOperand<kCfg.math>;
  using T = typename Op::Elem;

  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.split.block_q;
  static constexpr int kBKV = kCfg.split.block_kv;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kWM = kCfg.split.warps_m;
  static constexpr int kWN = kCfg.split.warps / kCfg.split.warps_m;
  static constexpr int kStages = kCfg.split.stages;
  static constexpr int kDK = kCfg.split.d_chunk;
  static constexpr int kDO = kCfg.split.o_chunk;
  static constexpr int kKB = kCfg.split.pv_keys;
  static constexpr int kPCols = kCfg.kernel == Kernel::kTwoPhase ? kCfg.split.max_seq_k : kBKV;  // P columns

  static constexpr int kRS = kBQ / kWM;   // rows per warp
  static constexpr int kMS = kRS / 16;    // m16 tiles per warp
  static constexpr int kNS = kBKV / kWN;  // S columns (keys) per warp
  static constexpr int kNTS = kNS / 8;    // n8 tiles of S per warp
  static constexpr int kCO = kDO / kWN;   // O columns per warp
  static constexpr int kNTO = kCO / 8;    // n8 tiles of O per warp
  static constexpr int kE = Op::kElemBytes;

  using QL = TileLayout<kBQ, kDK, kE, Op::kAccessA>;
  using KL = TileLayout<kBKV, kDK, kE, Op::kAccessNK>;
  // wgmma rows read V as an MN-major shared-memory operand, the others with ldmatrix.trans.
  using VL = TileLayout<kKB, kDO, kE, kCfg.is_wgmma() ? Access::kSegments128 : Op::kAccessKN>;
  using PL = TileLayout<kBQ, kPCols, kE, Op::kAccessA>;
  static constexpr int kSlotBytes =
      QL::kBytes + KL::kBytes > VL::kBytes ? QL::kBytes + KL::kBytes : VL::kBytes;
  static constexpr int kPOffset = kStages * kSlotBytes;
  static constexpr int kRedOffset = kPOffset + PL::kBytes;  // float [kWN][kBQ]

  static_assert(ScoreOp::kElemBytes == kE && ScoreOp::kK == Op::kK && ScoreOp::kAccessA == Op::kAccessA &&
                    ScoreOp::kAccessNK == Op::kAccessNK,
                "the score operand reads the same Q and K tiles");
  static_assert(kCfg.kernel == Kernel::kSplitD || kCfg.kernel == Kernel::kTwoPhase, "not a split configuration");
  static_assert(kCfg.split.warps % kWM == 0 && kBQ % kWM == 0 && kRS % 16 == 0, "warp rows must be whole m16 tiles");
  static_assert(kBKV % kWN == 0 && kNTS % 2 == 0, "each warp needs an even number of S n8 tiles");
  static_assert(kDO % kWN == 0 && kNTO % 2 == 0, "each warp needs an even number of O n8 tiles");
  static_assert(kDK % Op::kK == 0 && kKB % Op::kK == 0, "pipeline pieces must be whole mma k steps");
  static_assert(kBKV % kKB == 0 && kPCols % kBKV == 0, "P blocks must be whole PV steps");
  static_assert(kD % kDO == 0, "O chunks must tile the head dimension");
  static_assert(kStages >= 2, "the ring needs at least two stages");
};

// What both split kernels know about their CTA: the thread's place in the kWM x kWN warp grid, the
// head and query tile it works on, the keys that tile sees, and the copiers of its Q, K and V pieces.
template <class S>
struct SplitCta {
  using T = typename S::T;
  struct Tile {
    int bh, q_tile;
  };
  static __device__ __forceinline__ Tile tile_of(const KernelArgs& args) {
    Tile tile;
    args.map.tile(blockIdx.x, tile.bh, tile.q_tile);
    return tile;
  }

  int tid, lane, wm, wn, g, t;
  int bh;  // batch * heads_q + head
  HeadPointers<T> head;
  int seq_q, seq_k, head_dim;
  int q0;          // the tile's first query row
  int kv_end;      // keys the tile sees: [0, kv_end)
  int num_blocks;  // kBKV-key blocks over them
  int num_d;       // (Q, K) pieces of kDK columns per block
  TileCopy<typename S::QL, S::kThreads, T> q_copy;
  TileCopy<typename S::KL, S::kThreads, T> k_copy;
  TileCopy<typename S::VL, S::kThreads, T> v_copy;

  __device__ __forceinline__ explicit SplitCta(const KernelArgs& args, Tile tile)
      : tid(threadIdx.x),
        lane(tid & 31),
        wm((tid >> 5) / S::kWN),
        wn((tid >> 5) - wm * S::kWN),
        g(lane >> 2),
        t(lane & 3),
        bh(tile.bh),
        head(args.p, tile.bh),
        seq_q(static_cast<int>(args.p.seq_q)),
        seq_k(static_cast<int>(args.p.seq_k)),
        head_dim(static_cast<int>(args.p.head_dim)),
        q0(tile.q_tile * S::kBQ),
        // Causal (top-left): row i sees keys j <= i, so this tile needs keys < q0 + kBQ only.
        kv_end(args.p.causal ? min(seq_k, q0 + S::kBQ) : seq_k),
        num_blocks((kv_end + S::kBKV - 1) / S::kBKV),
        num_d((head_dim + S::kDK - 1) / S::kDK),
        q_copy(tid, args.p.q_row_stride),
        k_copy(tid, args.p.k_row_stride),
        v_copy(tid, args.p.v_row_stride) {}
  __device__ __forceinline__ explicit SplitCta(const KernelArgs& args) : SplitCta(args, tile_of(args)) {}
};

// Index of a ring slot, advanced without divisions.
template <int kStages>
struct RingSlot {
  int index = 0;
  __device__ __forceinline__ void advance() { index = index + 1 == kStages ? 0 : index + 1; }
};

// The split kernels' cp.async pipeline: kStages slots of kSlotBytes, filled in job order by
// `issue(slot)` (one job per slot; past the last job it issues nothing, and the empty commit group
// keeps "group i holds job i") and consumed in the same order. The constructor puts the first
// kStages - 1 jobs in flight.
template <class S, class Issue>
struct SlotRing {
  unsigned char* smem;
  Issue issue;
  RingSlot<S::kStages> produced, consumed;

  __device__ __forceinline__ SlotRing(unsigned char* smem_, Issue issue_) : smem(smem_), issue(issue_) {
#pragma unroll
    for (int s = 0; s < S::kStages - 1; ++s) issue_next();
  }

  __device__ __forceinline__ void issue_next() {
    issue(smem + produced.index * S::kSlotBytes);
    produced.advance();
    ptx::cp_async_commit();
  }

  // The oldest outstanding job has landed for everyone (wait + barrier), and the slot consumed in
  // the previous step is free again, so the next job refills it. Returns this step's slot.
  // kAsyncProxyReads: wgmma reads the slot, so each thread fences its copies for the async proxy.
  template <bool kAsyncProxyReads = false>
  __device__ __forceinline__ unsigned char* begin_step() {
    ptx::cp_async_wait<S::kStages - 2>();
    if constexpr (kAsyncProxyReads) ptx::fence_proxy_async_shared();
    __syncthreads();
    issue_next();
    return smem + consumed.index * S::kSlotBytes;
  }
  __device__ __forceinline__ void end_step() { consumed.advance(); }
};

template <class S, class Issue>
__device__ __forceinline__ SlotRing<S, Issue> make_slot_ring(unsigned char* smem, Issue issue) {
  return SlotRing<S, Issue>(smem, issue);
}

// Combines one value per row over the kWN warps of the row through `red`: lanes t == 0 post the
// (quad-reduced) v of their rows, a barrier, then every lane folds the kWN values of its rows with
// `combine` in warp order, so all warps of a row agree bit for bit. `red` must be free (every earlier
// reader past a barrier).
template <class S, class Combine>
__device__ __forceinline__ void combine_across_warps(float (&v)[S::kMS][2], float* red, int wm, int wn, int g, int t,
                                                     Combine combine) {
#pragma unroll
  for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      if (t == 0) red[wn * S::kBQ + wm * S::kRS + mi * 16 + g + 8 * hf] = v[mi][hf];
    }
  }
  __syncthreads();
#pragma unroll
  for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int row = wm * S::kRS + mi * 16 + g + 8 * hf;
      float x = red[row];
#pragma unroll
      for (int w = 1; w < S::kWN; ++w) x = combine(x, red[w * S::kBQ + row]);
      v[mi][hf] = x;
    }
  }
}

// acc += Q_piece K_piece^T for the pipeline slot `slot` (Q piece, then K piece).
template <class S>
__device__ __forceinline__ void s_step(float (&acc)[S::kMS][S::kNTS][4], const unsigned char* slot, int wm, int wn,
                                       int lane) {
  using Op = typename S::ScoreOp;
  const unsigned char* qs = slot;
  const unsigned char* ks = slot + S::QL::kBytes;
#pragma unroll(Op::kStepUnroll)
  for (int kk = 0; kk < S::kDK / Op::kK; ++kk) {
    typename Op::A a[S::kMS];
#pragma unroll
    for (int mi = 0; mi < S::kMS; ++mi) {
      Op::template load_a<typename S::QL>(a[mi], qs, wm * S::kRS + mi * 16, kk * Op::kK, lane);
    }
#pragma unroll
    for (int np = 0; np < S::kNTS / 2; ++np) {
      typename Op::B b[2];
      Op::template load_b_nk<typename S::KL>(b, ks, wn * S::kNS + np * 16, kk * Op::kK, lane);
#pragma unroll
      for (int mi = 0; mi < S::kMS; ++mi) {
        Op::mma(acc[mi][2 * np], a[mi], b[0]);
        Op::mma(acc[mi][2 * np + 1], a[mi], b[1]);
      }
    }
  }
}

// o += P[:, p_col0 .. p_col0 + kKB) V_piece, V_piece = the kKB x kDO slot.
template <class S>
__device__ __forceinline__ void pv_step(float (&o)[S::kMS][S::kNTO][4], const unsigned char* p_tile, int p_col0,
                                        const unsigned char* v_slot, int wm, int wn, int lane) {
  using Op = typename S::Op;
#pragma unroll(Op::kStepUnroll)
  for (int kk = 0; kk < S::kKB / Op::kK; ++kk) {
    typename Op::A a[S::kMS];
#pragma unroll
    for (int mi = 0; mi < S::kMS; ++mi) {
      Op::template load_a<typename S::PL>(a[mi], p_tile, wm * S::kRS + mi * 16, p_col0 + kk * Op::kK, lane);
    }
#pragma unroll
    for (int np = 0; np < S::kNTO / 2; ++np) {
      typename Op::B b[2];
      Op::template load_b_kn<typename S::VL>(b, v_slot, kk * Op::kK, wn * S::kCO + np * 16, lane);
#pragma unroll
      for (int mi = 0; mi < S::kMS; ++mi) {
        Op::mma(o[mi][2 * np], a[mi], b[0]);
        Op::mma(o[mi][2 * np + 1], a[mi], b[1]);
      }
    }
  }
}

// Two adjacent P elements (columns col, col + 1 of `row`) into the P tile.
template <class S>
__device__ __forceinline__ void store_p_pair(unsigned char* p_tile, int row, int col, float a, float b) {
  unsigned char* dst = p_tile + S::PL::offset(row, col);
  if constexpr (S::kE == 2) {
    *reinterpret_cast<uint32_t*>(dst) = pack2<typename S::T>(a, b);
  } else {
    *reinterpret_cast<float2*>(dst) = make_float2(a, b);
  }
}

// The per-lane row state of the split kernels: rows (mi, hf) = wm * kRS + mi * 16 + g + 8 * hf.
template <class S>
struct RowState {
  float m_run[S::kMS][2];   // running max of the base-2 logits (over all warps of the row)
  float l_part[S::kMS][2];  // running sum of p over this lane's own columns

  __device__ __forceinline__ void init() {
#pragma unroll
    for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        m_run[mi][hf] = -INFINITY;
        l_part[mi][hf] = 0.0f;
      }
    }
  }
};

// Finishes one S block (keys kv0 .. kv0 + kBKV): scale into base 2, mask keys >= seq_k and (causal)
// keys after the row, take the row max across the warps of the row, and write p = exp2(s - max) to
// P columns p_col0 + (0 .. kBKV). Returns per row the factor alpha that rescales what came before
// and the (finite) max p was computed against. Contains a __syncthreads: every thread must call it.
// The caller must separate two calls (and any later reuse of `red`) by at least one other barrier.
template <class S>
__device__ __forceinline__ void softmax_block(float (&s)[S::kMS][S::kNTS][4], RowState<S>& st, float* red,
                                              float (&alpha_out)[S::kMS][2], float (&m_used)[S::kMS][2],
                                              unsigned char* p_tile, int p_col0, int kv0, int q0, int seq_k,
                                              bool causal, float scale_log2, int wm, int wn, int g, int t) {
  // The logits are s * c with c = scale * log2(e); for c > 0 the row max of s * c is c * (max of s) and
  // p = exp2(fma(s, c, -max)). Other scales multiply first and continue with c = 1.
  const bool scale_positive = scale_log2 > 0.0f;
  const float c = scale_positive ? scale_log2 : 1.0f;
  if (!scale_positive) {
#pragma unroll
    for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
      for (int nt = 0; nt < S::kNTS; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) s[mi][nt][i] *= scale_log2;
      }
    }
  }
  if (kv0 + S::kBKV > seq_k || (causal && kv0 + S::kBKV - 1 > q0)) {
#pragma unroll
    for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
      for (int nt = 0; nt < S::kNTS; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = q0 + wm * S::kRS + mi * 16 + g + ((i >> 1) << 3);
          const int col = kv0 + wn * S::kNS + nt * 8 + 2 * t + (i & 1);
          if (col >= seq_k || (causal && col > row)) s[mi][nt][i] = -INFINITY;
        }
      }
    }
  }
  float row_max[S::kMS][2];
#pragma unroll
  for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < S::kNTS; ++nt) mx = fmaxf(mx, fmaxf(s[mi][nt][2 * hf], s[mi][nt][2 * hf + 1]));
      row_max[mi][hf] = quad_max(mx) * c;
    }
  }
  combine_across_warps<S>(row_max, red, wm, wn, g, t, [](float x, float y) { return fmaxf(x, y); });
#pragma unroll
  for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int row = wm * S::kRS + mi * 16 + g + 8 * hf;
      const float m_new = fmaxf(st.m_run[mi][hf], row_max[mi][hf]);
      const float m_use = finite_max(m_new);
      const float alpha = ptx::ex2_approx(st.m_run[mi][hf] - m_use);  // 0 while the row was empty
      st.m_run[mi][hf] = m_new;
      m_used[mi][hf] = m_use;
      alpha_out[mi][hf] = alpha;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < S::kNTS; ++nt) {
        const float p0 = ptx::ex2_approx(fmaf(s[mi][nt][2 * hf], c, -m_use));
        const float p1 = ptx::ex2_approx(fmaf(s[mi][nt][2 * hf + 1], c, -m_use));
        sum += p0 + p1;
        store_p_pair<S>(p_tile, row, p_col0 + wn * S::kNS + nt * 8 + 2 * t, p0, p1);
      }
      st.l_part[mi][hf] = st.l_part[mi][hf] * alpha + sum;
    }
  }
}

// Total row sums: quad sums, then across the kWN warps of the row through `red`. Contains a
// __syncthreads; `red` must be free (every earlier reader past a barrier). Returns 1 / l (0 for an
// empty row) per (mi, hf) and writes lse for the rows < seq_q (lanes of warp column 0).
template <class S>
__device__ __forceinline__ void finish_rows(const RowState<S>& st, float* red, float (&inv_l)[S::kMS][2],
                                            float* lse, int q0, int seq_q, int wm, int wn, int g, int t) {
  float row_sum[S::kMS][2];
#pragma unroll
  for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) row_sum[mi][hf] = quad_sum(st.l_part[mi][hf]);
  }
  combine_across_warps<S>(row_sum, red, wm, wn, g, t, [](float x, float y) { return x + y; });
#pragma unroll
  for (int mi = 0; mi < S::kMS; ++mi) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int row = wm * S::kRS + mi * 16 + g + 8 * hf;
      const float l = row_sum[mi][hf];
      inv_l[mi][hf] = inverse_sum(l);
      if (lse != nullptr && wn == 0 && t == 0 && q0 + row < seq_q) {
        lse[q0 + row] = l > 0.0f ? (st.m_run[mi][hf] + log2f(l)) * kLn2 : -INFINITY;
      }
    }
  }
}

}  // namespace tilekernels::attention::detail
