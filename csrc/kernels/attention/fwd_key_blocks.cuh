#pragma once
// kKeyBlocks: fp32-accurate attention for large head dims at the fp16 tensor rate (MathMode::kFp16x3,
// Hopper wgmma, sm_90a).
//
// Every fp32 operand element is split into two fp16 pieces (common/fp16_pieces.cuh) and each product
// runs as three m64n256k16 wgmma (lo * hi, hi * lo, hi * hi), twice the TF32 rate of 3xTF32 with the
// same 22 significant bits. fp32 P needs 4 bytes per element, so P of a whole 512-key row block (256 KB
// at 128 rows) no longer fits next to a pipeline as in kTwoPhase. Instead the CTA runs kTwoPhase's two
// phases once per block of kBKV keys: S for the block (Q, K streamed in kDK-column pieces), its
// softmax into P (one block, 128 KB), then O chunk by chunk, each chunk added to what the earlier
// blocks left in the output (unnormalized, relative to their row maxima) and stored back; the last
// block scales by 1 / l. K and V are read once per CTA, Q once per block, O read and written once per
// block after the first.
//
// Splitting: Q and P are split in registers as they are loaded as the A operand; K and V pieces are
// split in place in their pipeline slot, each fp32 K row group into wgmma's 64-byte K-major layout and
// each pair of fp32 V column segments into a 128-byte MN-major segment (hi rows, then lo rows), before
// a barrier publishes them to the tensor cores. Q, K and V are not scaled: hi keeps 11 bits of every
// value from 2^-14 to 65504, lo the next 11 down to 2^-25 absolute. P (in [0, 1]) is scaled by 2^8.
// A value beyond fp16's range (or inf / NaN) makes every sum it enters NaN; the tile then flags itself
// (attention_params.h) for the exact rerun.
//
// Warp w owns rows [16 w, 16 w + 16) (two_phase_wgmma.cuh's warp grid, so the split kernels' softmax
// and stores run unchanged). Each pipeline step has two barriers: the ring's (the slot landed) and the
// split's (pieces written, fenced for the async proxy).
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/attention/kernel_common.cuh"
#include "kernels/attention/smem_layout.cuh"
#include "kernels/attention/split_common.cuh"
#include "kernels/attention/tile_io.cuh"
#include "kernels/common/fp16_pieces.cuh"
#include "kernels/ptx/ld_shared.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/st_shared.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

template <int kConfig>
struct KeyBlocksShape {
  static constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using T = float;
  static constexpr int kD = kCfg.head_dim;
  static constexpr int kBQ = kCfg.blocks.block_q;
  static constexpr int kBKV = kCfg.blocks.block_kv;
  static constexpr int kThreads = kCfg.threads();
  static constexpr int kWarps = kCfg.warps();
  static constexpr int kStages = kCfg.blocks.stages;
  static constexpr int kDK = kCfg.blocks.d_chunk;
  static constexpr int kDO = kCfg.blocks.o_chunk;
  static constexpr int kKB = kCfg.blocks.pv_keys;
  // The split kernels' shape names for a warps x 1 grid (softmax_block, finish_rows, store_rows).
  static constexpr int kWM = kWarps, kWN = 1, kRS = 16, kMS = 1;
  static constexpr int kNS = kBKV, kNTS = kBKV / 8, kCO = kDO, kNTO = kDO / 8;
  static constexpr int kE = 4;
  static constexpr float kPScale = 256.0f;  // P's pieces: 2^8 p keeps 22 bits down to p = 2^-10

  // fp32 tiles of 128-byte rows (or segments), chunk ^ (row % 8): conflict-free for the float2
  // fragment loads of Q and P, the splits' 16-byte reads, and cp.async.
  using QL = TileLayout<kBQ, kDK, 4, Access::kLdmatrix>;
  using KL = TileLayout<kBKV, kDK, 4, Access::kLdmatrix>;
  using VL = TileLayout<kKB, kDO, 4, Access::kSegments128>;
  using PL = TileLayout<kBQ, kBKV, 4, Access::kLdmatrix>;
  static constexpr int kSlotBytes = QL::kBytes + KL::kBytes > VL::kBytes ? QL::kBytes + KL::kBytes : VL::kBytes;
  static constexpr int kPOffset = kStages * kSlotBytes;
  static constexpr int kRedOffset = kPOffset + PL::kBytes;  // float [kBQ]
  static constexpr int kSmemBytes = kRedOffset + 4 * kBQ;

  // A K piece splits per eight-row group: [hi: 8 rows x 64 bytes][lo: 8 rows x 64 bytes] in place of
  // the group's 8 x 128 fp32 bytes. A V piece splits per 64-column segment s: [hi: kKB rows x 128
  // bytes][lo: kKB rows x 128 bytes] in place of fp32 segments 2 s and 2 s + 1.
  static constexpr uint32_t kKGroupBytes = 1024, kKLoOffset = 512;
  static constexpr uint32_t kVSegmentBytes = 2 * kKB * 128, kVLoOffset = kKB * 128;
  // Row units a lane splits between two __syncwarp (each unit's bytes are read before written, and
  // units are disjoint): more loads in flight against fewer registers.
  static constexpr int kSplitBatch = 2;

  static_assert(kCfg.kernel == Kernel::kKeyBlocks && kCfg.is_wgmma() && kCfg.math == MathMode::kFp16x3,
                "not a kKeyBlocks row");
  static_assert(kWarps * 16 == kBQ && kWarps % 4 == 0, "one warp per 16 query rows, whole warpgroups");
  static_assert(kBKV == 256 && kDO == 256 && kDK == 32 && kKB % 16 == 0, "m64n256k16 products, 32-column pieces");
  static_assert(kD % kDO == 0, "O chunks tile the head dimension");
  static_assert((kBKV / 8) % kWarps == 0 && ((kDO / 64) * kKB / 4) % kWarps == 0, "splits spread evenly");
  static_assert(QL::kBytes % 1024 == 0 && kSlotBytes % 1024 == 0, "K and V pieces on their swizzle period");
  static_assert(kStages >= 2, "the ring needs two slots");
};

// The A operand of one k16 step as hi and lo pieces (the m16n8k16 A layout per warp).
struct PieceFragment {
  uint32_t hi[4], lo[4];
};

// Loads rows row0 + g, + 8 and columns col0 + 2t, + 1, + 8, + 9 of an fp32 tile and splits them.
template <class L>
__device__ __forceinline__ void load_pieces(PieceFragment& f, const unsigned char* tile, int row0, int col0, int g,
                                            int t, float scale) {
  float2 x[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    x[i] = *reinterpret_cast<const float2*>(tile + L::offset(row0 + g + 8 * (i & 1), col0 + 2 * t + 8 * (i >> 1)));
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) split_pieces(x[i].x, x[i].y, scale, f.hi[i], f.lo[i]);
}

// Splits the K piece at `k_tile` in place (KeyBlocksShape: kKGroupBytes). Each warp converts whole
// eight-row groups, all reads before its writes.
template <class S>
__device__ __forceinline__ void split_k_piece(uint32_t k_tile, int warp, int lane) {
  constexpr int kPerWarp = S::kBKV / 8 / S::kWarps;
  const int r8 = lane >> 2, q = lane & 3;
#pragma unroll
  for (int i0 = 0; i0 < kPerWarp; i0 += S::kSplitBatch) {
    uint32_t v[S::kSplitBatch][2][4];
#pragma unroll
    for (int i = 0; i < S::kSplitBatch; ++i) {
      const int row = (warp * kPerWarp + i0 + i) * 8 + r8;
      ptx::ld_shared_v4(v[i][0], k_tile + S::KL::chunk_offset(row, 2 * q));
      ptx::ld_shared_v4(v[i][1], k_tile + S::KL::chunk_offset(row, 2 * q + 1));
    }
    __syncwarp();
#pragma unroll
    for (int i = 0; i < S::kSplitBatch; ++i) {
      uint32_t hi[4], lo[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        split_pieces(__uint_as_float(v[i][j / 2][(j % 2) * 2]), __uint_as_float(v[i][j / 2][(j % 2) * 2 + 1]), 1.0f,
                     hi[j], lo[j]);
      }
      // fp16 columns 8q .. 8q + 7 of the group's row r8 under wgmma's 64-byte swizzle.
      const uint32_t dst =
          k_tile + (warp * kPerWarp + i0 + i) * S::kKGroupBytes + r8 * 64 + ((q ^ ((r8 >> 1) & 3)) << 4);
      ptx::st_shared_v4(dst, hi[0], hi[1], hi[2], hi[3]);
      ptx::st_shared_v4(dst + S::kKLoOffset, lo[0], lo[1], lo[2], lo[3]);
    }
  }
}

// Splits the V piece at `v_tile` in place (KeyBlocksShape: kVSegmentBytes). Eight lanes convert one
// key row of a 64-column segment: lane (h, c) reads fp32 chunks 2c, 2c + 1 of segment 2 s + h and
// writes fp16 chunk 4 h + c of the hi and lo rows; the row's bytes are its own, read before written.
template <class S>
__device__ __forceinline__ void split_v_piece(uint32_t v_tile, int warp, int lane) {
  constexpr int kPerWarp = (S::kDO / 64) * S::kKB / 4 / S::kWarps;  // passes of four key rows
  const int h = (lane >> 2) & 1, c = lane & 3;
#pragma unroll
  for (int i0 = 0; i0 < kPerWarp; i0 += S::kSplitBatch) {
    uint32_t v[S::kSplitBatch][2][4];
#pragma unroll
    for (int i = 0; i < S::kSplitBatch; ++i) {
      const int id = (warp * kPerWarp + i0 + i) * 4 + (lane >> 3);
      const int seg = id / S::kKB, key = id % S::kKB;
      ptx::ld_shared_v4(v[i][0], v_tile + S::VL::chunk_offset(key, (2 * seg + h) * 8 + 2 * c));
      ptx::ld_shared_v4(v[i][1], v_tile + S::VL::chunk_offset(key, (2 * seg + h) * 8 + 2 * c + 1));
    }
    __syncwarp();
#pragma unroll
    for (int i = 0; i < S::kSplitBatch; ++i) {
      const int id = (warp * kPerWarp + i0 + i) * 4 + (lane >> 3);
      const int seg = id / S::kKB, key = id % S::kKB;
      uint32_t hi[4], lo[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        split_pieces(__uint_as_float(v[i][j / 2][(j % 2) * 2]), __uint_as_float(v[i][j / 2][(j % 2) * 2 + 1]), 1.0f,
                     hi[j], lo[j]);
      }
      const uint32_t dst = v_tile + seg * S::kVSegmentBytes + key * 128 + (((4 * h + c) ^ (key & 7)) << 4);
      ptx::st_shared_v4(dst, hi[0], hi[1], hi[2], hi[3]);
      ptx::st_shared_v4(dst + S::kVLoOffset, lo[0], lo[1], lo[2], lo[3]);
    }
  }
}

// acc += A B for the warpgroup: three m64n256k16 per k16 step, smallest first, then waits (the slot
// may be refilled after the next barrier).
template <int kSteps, int kTransB, class Desc>
__device__ __forceinline__ void piece_products(float (&acc)[128], PieceFragment (&a)[kSteps], Desc b_desc,
                                               uint32_t lo_offset) {
  ptx::wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    const uint64_t hi = b_desc(kk, 0u), lo = b_desc(kk, lo_offset);
    ptx::wgmma_m64k16_f16_rs<256, false, kTransB>(acc, a[kk].lo, hi, 1);
    ptx::wgmma_m64k16_f16_rs<256, false, kTransB>(acc, a[kk].hi, lo, 1);
    ptx::wgmma_m64k16_f16_rs<256, false, kTransB>(acc, a[kk].hi, hi, 1);
  }
  ptx::wgmma_commit();
  ptx::wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < 128; ++i) ptx::wgmma_keep(acc[i]);
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      ptx::wgmma_keep(a[kk].hi[i]);
      ptx::wgmma_keep(a[kk].lo[i]);
    }
  }
}

// S += Q_piece K_piece^T for the slot (Q piece, then K piece) and the warp's 16 rows.
template <class S>
__device__ __forceinline__ void s_step_pieces(float (&s)[1][S::kNTS][4], unsigned char* slot, int warp, int lane) {
  constexpr int kSteps = S::kDK / 16;
  PieceFragment a[kSteps];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) load_pieces<typename S::QL>(a[kk], slot, warp * 16, kk * 16, lane >> 2, lane & 3, 1.0f);
  const uint32_t k_tile = ptx::shared_address(slot + S::QL::kBytes);
  split_k_piece<S>(k_tile, warp, lane);
  ptx::fence_proxy_async_shared();
  __syncthreads();
  // k step kk is 16 elements = 32 bytes into each 64-byte row.
  piece_products<kSteps, 0>(reinterpret_cast<float(&)[128]>(s), a,
                            [&](int kk, uint32_t piece) {
                              return ptx::wgmma_sw64_desc(k_tile + piece + 32 * kk, S::kKGroupBytes);
                            },
                            S::kKLoOffset);
}

// O += 2^8 P[:, p_col0 .. p_col0 + kKB) V_piece for the warp's 16 rows and the kDO columns of the slot.
template <class S>
__device__ __forceinline__ void pv_step_pieces(float (&o)[1][S::kNTO][4], const unsigned char* p_tile, int p_col0,
                                               unsigned char* v_slot, int warp, int lane) {
  constexpr int kSteps = S::kKB / 16;
  PieceFragment a[kSteps];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    load_pieces<typename S::PL>(a[kk], p_tile, warp * 16, p_col0 + kk * 16, lane >> 2, lane & 3, S::kPScale);
  }
  const uint32_t v_tile = ptx::shared_address(v_slot);
  split_v_piece<S>(v_tile, warp, lane);
  ptx::fence_proxy_async_shared();
  __syncthreads();
  // k step kk is 16 keys = two 1024-byte eight-key groups further.
  piece_products<kSteps, 1>(reinterpret_cast<float(&)[128]>(o), a,
                            [&](int kk, uint32_t piece) {
                              return ptx::wgmma_sw128_mn_desc(v_tile + piece + 2048 * kk, S::kVSegmentBytes, 1024);
                            },
                            S::kVLoOffset);
}

// What the earlier key blocks left of one O chunk in the output (unnormalized, at this thread's own
// fragment positions, as store_block_partial wrote them) times f per row: the start of this block's
// chain, loaded straight into the accumulators.
template <class S>
__device__ __forceinline__ void load_block_partial(float (&o)[1][S::kNTO][4], const float* out, int64_t row_stride,
                                                   const float (&f)[2], int row0, int seq_q, int col0, int head_dim,
                                                   int g, int t) {
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int row = row0 + g + 8 * hf;
    const float* src = out + static_cast<int64_t>(row < seq_q ? row : 0) * row_stride;
#pragma unroll
    for (int nt = 0; nt < S::kNTO; ++nt) {
      const int col = col0 + nt * 8 + 2 * t;
      float2 x = make_float2(0.0f, 0.0f);
      if (row < seq_q && col + 1 < head_dim) {
        x = *reinterpret_cast<const float2*>(src + col);
      } else if (row < seq_q && col < head_dim) {
        x.x = src[col];
      }
      o[0][nt][2 * hf] = x.x * f[hf];
      o[0][nt][2 * hf + 1] = x.y * f[hf];
    }
  }
}

template <class S>
__device__ __forceinline__ void store_block_partial(float* out, int64_t row_stride, const float (&o)[1][S::kNTO][4],
                                                    float f, int row0, int seq_q, int col0, int head_dim, int g,
                                                    int t) {
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int row = row0 + g + 8 * hf;
    if (row >= seq_q) continue;
    float* dst = out + static_cast<int64_t>(row) * row_stride;
#pragma unroll
    for (int nt = 0; nt < S::kNTO; ++nt) {
      const int col = col0 + nt * 8 + 2 * t;
      const float2 x = make_float2(o[0][nt][2 * hf] * f, o[0][nt][2 * hf + 1] * f);
      if (col + 1 < head_dim) {
        *reinterpret_cast<float2*>(dst + col) = x;
      } else if (col < head_dim) {
        dst[col] = x.x;
      }
    }
  }
}

template <int kConfig>
struct KeyBlocksKernel {
  using S = KeyBlocksShape<kConfig>;
  static constexpr int kThreads = S::kThreads;
  static constexpr int kSmemBytes = S::kSmemBytes;

  __device__ __forceinline__ static void run(const KernelArgs& args) {
    // 1024-byte aligned: wgmma's swizzles see absolute address bits.
    extern __shared__ __align__(1024) unsigned char key_blocks_dynamic_smem[];
    unsigned char* smem = key_blocks_dynamic_smem;
    const Params& p = args.p;
    const SplitCta<S> cta(args);
    const int tid = cta.tid, lane = cta.lane, warp = cta.wm, g = cta.g, t = cta.t;
    const auto& head = cta.head;
    const int seq_q = cta.seq_q, seq_k = cta.seq_k, head_dim = cta.head_dim, q0 = cta.q0;
    const int kv_end = cta.kv_end, num_blocks = cta.num_blocks, num_d = cta.num_d;
    const int num_o = (head_dim + S::kDO - 1) / S::kDO;
    // V pieces of key block b.
    auto v_pieces = [&](int b) { return (min(kv_end - b * S::kBKV, S::kBKV) + S::kKB - 1) / S::kKB; };

    unsigned char* p_tile = smem + S::kPOffset;
    float* red = reinterpret_cast<float*>(smem + S::kRedOffset);

    // Producer: per key block, its (Q, K) pieces, then (O chunk a, V piece b); one slot per job.
    int p_block = 0, p_phase = 0, p_a = 0, p_b = 0, p_kb = v_pieces(0);
    auto issue = [&](unsigned char* dst) {
      if (p_block == num_blocks) return;
      if (p_phase == 0) {
        cta.q_copy.issue(dst, head.q, p.q_row_stride, q0, seq_q, p_b * S::kDK, head_dim);
        cta.k_copy.issue(dst + S::QL::kBytes, head.k, p.k_row_stride, p_block * S::kBKV, seq_k, p_b * S::kDK,
                         head_dim);
        if (++p_b == num_d) {
          p_b = 0;
          p_phase = 1;
        }
      } else {
        cta.v_copy.issue(dst, head.v, p.v_row_stride, p_block * S::kBKV + p_b * S::kKB, seq_k, p_a * S::kDO,
                         head_dim);
        if (++p_b == p_kb) {
          p_b = 0;
          if (++p_a == num_o) {
            p_a = 0;
            p_phase = 0;
            if (++p_block < num_blocks) p_kb = v_pieces(p_block);
          }
        }
      }
    };
    auto ring = make_slot_ring<S>(smem, issue);

    RowState<S> st;
    st.init();
    float inv_l[1][2] = {{0.0f, 0.0f}};
    bool not_finite = false;
    const int row0 = q0 + warp * 16;
    for (int blk = 0; blk < num_blocks; ++blk) {
      float s[1][S::kNTS][4];
      zero_fragments(s);
      for (int dc = 0; dc < num_d; ++dc) {
        s_step_pieces<S>(s, ring.begin_step(), warp, lane);
        ring.end_step();
      }
      float alpha[1][2], m_used[1][2];
      softmax_block<S>(s, st, red, alpha, m_used, p_tile, 0, blk * S::kBKV, q0, seq_k, p.causal, args.scale_log2,
                       warp, 0, g, t);
      const bool last = blk + 1 == num_blocks;
      if (last) {
        __syncthreads();  // every warp is past softmax_block's reads of `red`
        finish_rows<S>(st, red, inv_l, head.lse, q0, seq_q, warp, 0, g, t);
      }
      // P of this block is read after the next ring barrier; the next block rewrites it only after
      // its own first step's barriers.
      const int num_kb = v_pieces(blk);
      const float carry[2] = {alpha[0][0] * S::kPScale, alpha[0][1] * S::kPScale};
      for (int oc = 0; oc < num_o; ++oc) {
        const int col0 = oc * S::kDO;
        float o[1][S::kNTO][4];
        if (blk > 0) {
          load_block_partial<S>(o, head.out, p.out_row_stride, carry, row0, seq_q, col0, head_dim, g, t);
        } else {
          zero_fragments(o);
        }
        for (int kb = 0; kb < num_kb; ++kb) {
          pv_step_pieces<S>(o, p_tile, kb * S::kKB, ring.begin_step(), warp, lane);
          ring.end_step();
        }
        if (last) {
#pragma unroll
          for (int nt = 0; nt < S::kNTO; ++nt) {
#pragma unroll
            for (int i = 0; i < 4; ++i) not_finite |= !(fabsf(o[0][nt][i]) <= 3.402823466e38f);
          }
          const float scale[1][2] = {{inv_l[0][0] / S::kPScale, inv_l[0][1] / S::kPScale}};
          store_rows<float>(head.out, p.out_row_stride, o, scale, row0, seq_q, col0, head_dim, g, t);
        } else {
          store_block_partial<S>(head.out, p.out_row_stride, o, 1.0f / S::kPScale, row0, seq_q, col0, head_dim, g,
                                 t);
        }
      }
    }
    const int flagged = __syncthreads_or(not_finite);
    if (tid == 0) p.tile_flags[cta.bh * ((seq_q + kFlagRows - 1) / kFlagRows) + q0 / kFlagRows] = flagged;
  }
};

template <int kConfig>
__global__ void __launch_bounds__(KeyBlocksKernel<kConfig>::kThreads, 1) key_blocks_fwd_kernel(const KernelArgs args) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  KeyBlocksKernel<kConfig>::run(args);
#endif
}

}  // namespace tilekernels::attention::detail
