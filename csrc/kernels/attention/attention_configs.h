#pragma once
// The attention family's compiled tile configurations: one table, one named row each. A
// configuration's index in kTileConfigs is its id everywhere. Torch-free, plain C++ (the binding
// includes it); the kernels derive every template parameter from their row.
//
// Four kernels (README.md in this folder explains them):
//   kRegister  FlashAttention-2 style: each warp owns 16 * (block_q / 16 / warps) query rows and the
//              whole head dimension; P stays in registers as the A operand of P V. head_dim <= 256.
//   kSplitD    large head dims, any seq_k: the warps form a warps_m x (warps / warps_m) grid; S = Q K^T
//              is streamed in d_chunk-column pieces, the row softmax is reduced across warps through
//              shared memory, P goes through shared memory, and O (block_q x head_dim) stays resident
//              in registers, split by columns across the warp grid.
//   kTwoPhase  large head dims, seq_k <= max_seq_k: the CTA first computes the whole P row block
//              (block_q x seq_k, in shared memory), then produces O in o_chunk-column passes, so K and V
//              are each read once per CTA and O never has to be resident (kb97: D = 1024, S = 512).
//   kKeyBlocks fp32-accurate large head dims on Hopper wgmma with 3xFP16 (fp32 split into two fp16
//              pieces): both phases of kTwoPhase per block of block_kv keys, P of one block in shared
//              memory, and O carried from block to block through the output.
#include <cstdint>

#include "kernels/attention/attention_params.h"
#include "kernels/common/math_mode.h"

namespace tilekernels::attention {

enum class Kernel : int32_t { kRegister = 0, kSplitD = 1, kTwoPhase = 2, kKeyBlocks = 3 };

inline constexpr const char* kernel_name(Kernel kernel) {
  switch (kernel) {
    case Kernel::kRegister: return "register";
    case Kernel::kSplitD: return "split_d";
    case Kernel::kTwoPhase: return "two_phase";
    case Kernel::kKeyBlocks: return "key_blocks";
  }
  return "?";
}

struct TileConfig {
  const char* name;
  Kernel kernel;
  MathMode math;
  int head_dim;   // compiled head dimension; serves every head_dim up to it
  int block_q;    // query rows per CTA
  int block_kv;   // keys per S = Q K^T block (kRegister: per pipeline step)
  int warps;      // warps per CTA
  int warps_m;    // split kernels: warp-grid rows (kRegister: = warps)
  int stages;     // shared-memory pipeline depth
  int d_chunk;    // split kernels: head-dim columns of Q and K per pipeline step (kRegister: head_dim)
  int o_chunk;    // kTwoPhase: head-dim columns of O per pass (others: head_dim)
  int pv_keys;    // split kernels: keys of V per pipeline step (kRegister: block_kv)
  int max_seq_k;  // 0: any seq_k; kTwoPhase: the largest seq_k it can run (the binding must filter)
  bool q_in_regs; // kRegister: Q fragments loaded into registers once
  int min_arch;   // lowest SM architecture it may run on (e.g. 80)
  int smem_bytes; // dynamic shared memory the kernel asks for (exactly)
  // Hopper wgmma (sm_90a builds, arch 90 only). kRegister: warp w owns rows [16 w, 16 w + 16) and
  // both products are warpgroup wgmma. kTwoPhase, kKeyBlocks: warp w owns rows [16 w, 16 w + 16) with
  // all block_kv keys of S (phase 1) and all o_chunk columns of O (phase 2); warps_m is unused.
  bool wgmma = false;

  constexpr int threads() const { return 32 * warps; }
  constexpr bool supports_arch(int arch) const { return min_arch <= arch && (!wgmma || arch == 90); }
  constexpr int warps_n() const { return warps / warps_m; }
  // Whether this configuration can run a problem with these sizes (head_dim and the device aside).
  constexpr bool supports_seq_k(int64_t seq_k) const { return max_seq_k == 0 || seq_k <= max_seq_k; }
};

namespace config_detail {

// Shared-memory rows are whole 16-byte chunks. 16-bit tiles read with ldmatrix XOR-swizzle rows of a
// multiple of 8 chunks (or 2 / 4 chunks) and pad other widths to an odd chunk count; 32-bit tiles are
// only used with rows of a multiple of 8 chunks. smem_layout.cuh implements the same rule.
inline constexpr int row_stride_chunks(int chunks, int elem_bytes) {
  if (elem_bytes != 2) return chunks;
  if (chunks % 8 == 0 || chunks == 4 || chunks == 2 || chunks == 1) return chunks;
  return chunks % 2 == 1 ? chunks : chunks + 1;
}

inline constexpr int tile_bytes(int rows, int cols, int elem_bytes) {
  return rows * row_stride_chunks(cols * elem_bytes / 16, elem_bytes) * 16;
}

inline constexpr int max_int(int a, int b) { return a > b ? a : b; }

inline constexpr int register_smem(MathMode math, int d, int bq, int bkv, int stages) {
  const int e = math_mode_element_bytes(math);
  return tile_bytes(bq, d, e) + 2 * stages * tile_bytes(bkv, d, e);
}

// One pipeline slot holds either a (Q, K) d_chunk pair or a pv_keys x v_cols piece of V.
inline constexpr int split_slot(MathMode math, int bq, int bkv, int dk, int pv_keys, int v_cols) {
  const int e = math_mode_element_bytes(math);
  return max_int(tile_bytes(bq, dk, e) + tile_bytes(bkv, dk, e), tile_bytes(pv_keys, v_cols, e));
}

// slots, P [bq][bkv], cross-warp row reduction [warps_n][bq] floats.
inline constexpr int split_d_smem(MathMode math, int d, int bq, int bkv, int warps, int warps_m, int stages,
                                  int dk, int pv_keys) {
  const int e = math_mode_element_bytes(math);
  return stages * split_slot(math, bq, bkv, dk, pv_keys, d) + tile_bytes(bq, bkv, e) + 4 * (warps / warps_m) * bq;
}

// slots, P [bq][max_seq_k], row reduction [warps_n][bq], per-block row maxima [max_seq_k / bkv][bq],
// final row maxima [bq] (floats). On wgmma the row reduction is [1][bq]: each warp owns whole rows.
inline constexpr int two_phase_smem(MathMode math, int bq, int bkv, int warps, int warps_m, int stages, int dk,
                                    int o_chunk, int pv_keys, int max_seq_k, bool wgmma = false) {
  const int e = math_mode_element_bytes(math);
  const int reduction_rows = wgmma ? 1 : warps / warps_m;
  return stages * split_slot(math, bq, bkv, dk, pv_keys, o_chunk) + tile_bytes(bq, max_seq_k, e) +
         4 * (reduction_rows * bq + (max_seq_k / bkv) * bq + bq);
}

inline constexpr TileConfig reg(const char* name, MathMode math, int d, int bq, int bkv, int warps, int stages,
                                bool q_in_regs, int min_arch) {
  return {name, Kernel::kRegister, math, d, bq, bkv, warps, warps, stages, d, d, bkv, 0, q_in_regs, min_arch,
          register_smem(math, d, bq, bkv, stages)};
}

// kRegister on Hopper wgmma (fwd_register_wgmma.cuh): one warpgroup per 64 query rows.
inline constexpr TileConfig reg_wgmma(const char* name, MathMode math, int d, int bq, int bkv, int stages) {
  TileConfig c = reg(name, math, d, bq, bkv, bq / 16, stages, false, 90);
  c.wgmma = true;
  return c;
}

inline constexpr TileConfig split_d(const char* name, MathMode math, int d, int bq, int bkv, int warps, int warps_m,
                                    int stages, int dk, int pv_keys, int min_arch) {
  return {name, Kernel::kSplitD, math, d, bq, bkv, warps, warps_m, stages, dk, d, pv_keys, 0, false, min_arch,
          split_d_smem(math, d, bq, bkv, warps, warps_m, stages, dk, pv_keys)};
}

inline constexpr TileConfig two_phase(const char* name, MathMode math, int d, int bq, int bkv, int warps,
                                      int warps_m, int stages, int dk, int o_chunk, int pv_keys, int max_seq_k,
                                      int min_arch) {
  return {name,    Kernel::kTwoPhase, math, d, bq, bkv, warps, warps_m, stages, dk, o_chunk, pv_keys, max_seq_k,
          false,   min_arch,
          two_phase_smem(math, bq, bkv, warps, warps_m, stages, dk, o_chunk, pv_keys, max_seq_k)};
}

// kKeyBlocks: slots of fp32 (Q, K) pieces or V pieces, P [bq][bkv] fp32, row reduction [bq] floats.
inline constexpr int key_blocks_smem(int bq, int bkv, int stages, int dk, int o_chunk, int pv_keys) {
  return stages * max_int(4 * (bq + bkv) * dk, 4 * pv_keys * o_chunk) + 4 * bq * bkv + 4 * bq;
}

inline constexpr TileConfig key_blocks_wgmma(const char* name, MathMode math, int d, int bq, int bkv, int stages,
                                             int dk, int o_chunk, int pv_keys) {
  TileConfig c{name, Kernel::kKeyBlocks, math, d, bq, bkv, bq / 16, bq / 16, stages, dk, o_chunk, pv_keys, 0,
               false, 90, key_blocks_smem(bq, bkv, stages, dk, o_chunk, pv_keys)};
  c.wgmma = true;
  return c;
}

inline constexpr TileConfig two_phase_wgmma(const char* name, MathMode math, int d, int bq, int bkv, int warps,
                                            int warps_m, int stages, int dk, int o_chunk, int pv_keys,
                                            int max_seq_k) {
  TileConfig c = two_phase(name, math, d, bq, bkv, warps, warps_m, stages, dk, o_chunk, pv_keys, max_seq_k, 90);
  c.wgmma = true;
  c.smem_bytes = two_phase_smem(math, bq, bkv, warps, warps_m, stages, dk, o_chunk, pv_keys, max_seq_k, true);
  return c;
}

}  // namespace config_detail

// Shared memory one block may use: RTX 4090 (sm_89) 99 KB, H100 (sm_90) 227 KB.
inline constexpr int kSmemLimitSm89 = 101376;
inline constexpr int kSmemLimitSm90 = 232448;

// Rows are grouped by (math, head_dim): every group has at least one row with max_seq_k == 0 and
// min_arch <= 89 (runs anywhere), which fits kSmemLimitSm89. Within a group, rows are in order of
// preference: the heuristic takes the first that can run the call and fills the GPU (H100-only rows
// first, so sm_89 skips them). Buckets a row is meant to win are noted.
// clang-format off
inline constexpr TileConfig kTileConfigs[] = {
#define TK_HALF_CONFIGS(P, M)                                                                                      \
    /* register on wgmma (H100 only; first in the d128 / d256 groups): name  math d  bq  bkv st */            \
    config_detail::reg_wgmma(P "_d128_wgmma_q128_kv128_s3", M, 128, 128, 128, 3), /* d128c, long8k_c */           \
    config_detail::reg_wgmma(P "_d128_wgmma_q192_kv64_s2",  M, 128, 192, 64,  2), /* d128 */                      \
    config_detail::reg_wgmma(P "_d128_wgmma_q128_kv128_s2", M, 128, 128, 128, 2),                                 \
    config_detail::reg_wgmma(P "_d128_wgmma_q128_kv64_s2",  M, 128, 128, 64,  2),                                 \
    config_detail::reg_wgmma(P "_d256_wgmma_q128_kv64_s2",  M, 256, 128, 64,  2), /* d256 */                      \
    /* register:  name                       math d    bq   bkv w  st qreg arch */                                  \
    config_detail::reg(P "_d64_q128_kv64_w4_s2",  M, 64,  128, 64, 4, 2, true,  80), /* d64 */                     \
    config_detail::reg(P "_d64_q256_kv64_w8_s2",  M, 64,  256, 64, 8, 2, true,  80), /* d64: K/V shared by 8 */    \
    /* d64 on wgmma: short products next to the softmax (one exponential per 128 multiply-adds); slower */   \
    config_detail::reg_wgmma(P "_d64_wgmma_q128_kv128_s2",  M, 64,  128, 128, 2),                                 \
    config_detail::reg_wgmma(P "_d64_wgmma_q128_kv64_s3",   M, 64,  128, 64,  3),                                 \
    config_detail::reg_wgmma(P "_d64_wgmma_q192_kv64_s3",   M, 64,  192, 64,  3),                                 \
    config_detail::reg(P "_d80_q128_kv64_w4_s2",  M, 80,  128, 64, 4, 2, false, 80),                               \
    config_detail::reg(P "_d96_q128_kv64_w4_s2",  M, 96,  128, 64, 4, 2, false, 80),                               \
    config_detail::reg(P "_d128_q128_kv64_w4_s2", M, 128, 128, 64, 4, 2, false, 80), /* d128 (FA2's tile) */    \
    config_detail::reg(P "_d128_q128_kv32_w4_s2", M, 128, 128, 32, 4, 2, false, 80), /* d128: shorter S tiles */   \
    config_detail::reg(P "_d128_q128_kv64_w8_s2", M, 128, 128, 64, 8, 2, true,  80), /* d128: 16 rows a warp */    \
    config_detail::reg(P "_d128_q256_kv32_w8_s2", M, 128, 256, 32, 8, 2, false, 80), /* d128: K/V shared by 8 */   \
    config_detail::reg(P "_d160_q128_kv32_w8_s2", M, 160, 128, 32, 8, 2, true,  80),                               \
    config_detail::reg(P "_d192_q128_kv32_w8_s2", M, 192, 128, 32, 8, 2, false, 80),                               \
    config_detail::reg(P "_d256_q128_kv64_w8_s2", M, 256, 128, 64, 8, 2, false, 90), /* d256 on H100 */            \
    config_detail::reg(P "_d256_q64_kv32_w4_s2",  M, 256, 64,  32, 4, 2, false, 80),                               \
    /* two_phase (seq_k <= 512, preferred there): name math d bq bkv w wm st dk oc pvk maxk arch; the wgmma   */ \
    /* rows (both products on Hopper wgmma, H100 only; kb97) come first, with 4 stages (smaller reduction).  */ \
    config_detail::two_phase_wgmma(P "_d512_2p_wgmma_q128_s4", M, 512, 128, 256, 8, 2, 4, 32, 256, 32, 512),       \
    config_detail::two_phase(P "_d512_2p_q128_k512",  M, 512,  128, 256, 8, 2, 3, 32, 256, 32, 512, 90),           \
    config_detail::two_phase(P "_d512_2p_q64_k512",   M, 512,  64,  128, 8, 2, 2, 32, 256, 32, 512, 80),           \
    config_detail::two_phase_wgmma(P "_d1024_2p_wgmma_q128_s4", M, 1024, 128, 256, 8, 2, 4, 32, 256, 32, 512),     \
    config_detail::two_phase(P "_d1024_2p_q128_k512", M, 1024, 128, 256, 8, 2, 3, 32, 256, 32, 512, 90),           \
    config_detail::two_phase(P "_d1024_2p_q64_k512",  M, 1024, 64,  128, 8, 2, 2, 32, 256, 32, 512, 80),           \
    /* split_d:      name                           math d     bq  bkv  w  wm st dk  pvk arch */                    \
    config_detail::split_d(P "_d512_splitd_q64_w8",   M, 512,  64, 64,  8, 2, 3, 64, 16, 80),                      \
    config_detail::split_d(P "_d1024_splitd_q32_w8",  M, 1024, 32, 128, 8, 1, 2, 64, 16, 80)

#define TK_FP32_CONFIGS(P, M)                                                                                      \
    /* split_d:      name                           math d     bq  bkv  w  wm st dk  pvk arch */                    \
    config_detail::split_d(P "_d128_splitd_q64_w2x2", M, 128,  64, 64,  4, 2, 3, 32, 16, 80), /* d128, d64 */     \
    config_detail::split_d(P "_d128_splitd_q64_w4",   M, 128,  64, 64,  4, 4, 3, 32, 16, 80),                      \
    config_detail::split_d(P "_d256_splitd_q64_w8",   M, 256,  64, 64,  8, 4, 3, 32, 16, 80),                      \
    config_detail::split_d(P "_d512_splitd_q32_w8",   M, 512,  32, 128, 8, 1, 3, 32, 8,  80),                      \
    /* two_phase:      name                        math d     bq  bkv  w  wm st dk  oc   pvk maxk arch */           \
    config_detail::two_phase(P "_d1024_2p_q64_k512",  M, 1024, 64, 256, 8, 2, 2, 32, 256, 32, 512, 90), /* kb97 */ \
    config_detail::split_d(P "_d1024_splitd_q16_w8",  M, 1024, 16, 128, 8, 1, 2, 32, 8,  80)

// 3xFP16 (H100 only): first in the fp32 d512 / d1024 groups, so the heuristic prefers them there. Any
// seq_k; tiles whose values leave fp16's range rerun on the exact (tf32x3) row (exact_fallback).
#define TK_FP16X3_CONFIGS(P, M)                                                                                    \
    /* key_blocks:            name                            math d     bq   bkv  st dk  oc   pvk */             \
    config_detail::key_blocks_wgmma(P "_d512_blocks_wgmma_q128",  M, 512,  128, 256, 2, 32, 256, 32),             \
    config_detail::key_blocks_wgmma(P "_d1024_blocks_wgmma_q128", M, 1024, 128, 256, 2, 32, 256, 32) /* kb97 */

    TK_HALF_CONFIGS("fp16", MathMode::kFp16),
    TK_HALF_CONFIGS("bf16", MathMode::kBf16),
    TK_FP16X3_CONFIGS("fp16x3", MathMode::kFp16x3),
    TK_FP32_CONFIGS("tf32", MathMode::kTf32),
    TK_FP32_CONFIGS("tf32x3", MathMode::kTf32x3),
#undef TK_HALF_CONFIGS
#undef TK_FP16X3_CONFIGS
#undef TK_FP32_CONFIGS
};
// clang-format on

inline constexpr int kNumTileConfigs = sizeof(kTileConfigs) / sizeof(kTileConfigs[0]);

// The exact row that reruns the tiles an fp16x3 row flags (attention_params.h, kFlagRows): the
// kTf32x3 row of the same head_dim, kTwoPhase where seq_k allows, else kSplitD; -1 for other rows.
inline constexpr int exact_fallback(int id, int64_t seq_k) {
  if (id < 0 || id >= kNumTileConfigs || kTileConfigs[id].math != MathMode::kFp16x3) return -1;
  int split_d = -1;
  for (int i = 0; i < kNumTileConfigs; ++i) {
    const TileConfig& c = kTileConfigs[i];
    if (c.math != MathMode::kTf32x3 || c.head_dim != kTileConfigs[id].head_dim) continue;
    if (c.kernel == Kernel::kTwoPhase && c.supports_seq_k(seq_k)) return i;
    if (c.kernel == Kernel::kSplitD && split_d < 0) split_d = i;
  }
  return split_d;
}

namespace config_detail {

inline constexpr bool fits_its_arch(const TileConfig& c) {
  return c.smem_bytes <= (c.min_arch <= 89 ? kSmemLimitSm89 : kSmemLimitSm90);
}

// Some row of (math, head_dim) runs on every supported GPU and for every seq_k.
inline constexpr bool has_universal_row(MathMode math, int head_dim) {
  for (const TileConfig& c : kTileConfigs) {
    if (c.math == math && c.head_dim == head_dim && c.min_arch <= 89 && c.max_seq_k == 0 &&
        c.smem_bytes <= kSmemLimitSm89) {
      return true;
    }
  }
  return false;
}

// fp16x3 rows flag per kFlagRows query rows, and their exact fallbacks' tiles divide that.
inline constexpr bool has_exact_fallback(int id) {
  const int any_seq_k = exact_fallback(id, int64_t{1} << 40);
  const int short_seq_k = exact_fallback(id, 1);
  return kTileConfigs[id].block_q == kFlagRows && any_seq_k >= 0 && short_seq_k >= 0 &&
         kFlagRows % kTileConfigs[any_seq_k].block_q == 0 && kFlagRows % kTileConfigs[short_seq_k].block_q == 0;
}

// fp16x3 rows are Hopper accelerators of fp32 "highest": elsewhere the kTf32x3 rows serve it.
inline constexpr bool table_is_consistent() {
  for (int i = 0; i < kNumTileConfigs; ++i) {
    const TileConfig& c = kTileConfigs[i];
    if (!fits_its_arch(c)) return false;
    if (c.math == MathMode::kFp16x3 ? !has_exact_fallback(i) : !has_universal_row(c.math, c.head_dim)) return false;
  }
  return true;
}

}  // namespace config_detail

static_assert(config_detail::table_is_consistent(),
              "a configuration exceeds its architecture's shared memory, a (math, head_dim) group has no row "
              "that runs on sm_89 for any seq_k, or an fp16x3 row has no exact fallback");

}  // namespace tilekernels::attention
