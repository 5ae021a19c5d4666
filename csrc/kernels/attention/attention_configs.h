#pragma once
// The attention family's compiled tile configurations: one table, one named row each. A
// configuration's index in kTileConfigs is its id everywhere. Torch-free, plain C++ (the binding
// includes it); the kernels derive every template parameter from their row.
//
// Five kernels (README.md in this folder explains them):
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
//   kWarpSpecialized  FlashAttention-3 style on Hopper: a producer warpgroup streams Q, K and V with
//              bulk tensor copies (TMA) into mbarrier rings; one consumer warpgroup per 64 query rows
//              runs kRegister's wgmma step. fp16 / bf16, head_dim 64, 128, 256.
#include <cstdint>

#include "kernels/attention/attention_params.h"
#include "kernels/common/math_mode.h"

namespace tilekernels::attention {

enum class Kernel : int32_t { kRegister = 0, kSplitD = 1, kTwoPhase = 2, kKeyBlocks = 3, kWarpSpecialized = 4 };

inline constexpr const char* kernel_name(Kernel kernel) {
  switch (kernel) {
    case Kernel::kRegister: return "register";
    case Kernel::kSplitD: return "split_d";
    case Kernel::kTwoPhase: return "two_phase";
    case Kernel::kKeyBlocks: return "key_blocks";
    case Kernel::kWarpSpecialized: return "warp_specialized";
  }
  return "?";
}

// Which instructions a row's products use, the arch policy bmm uses too: mma.sync runs on every
// architecture from the row's min_arch on; Hopper wgmma exists on sm_90a alone (no later target has
// it), so wgmma rows have min_arch = max_arch = 90 and code only in builds that include sm_90a.
enum class Engine : int32_t { kMmaSync = 0, kWgmma = 1 };

// kRegister: each warp owns block_q / warps query rows (wgmma: 16, whole warpgroups of 64) and the
// whole head dimension; K and V stream through a `stages`-deep ring of block_kv-key tiles.
struct RegisterTiles {
  int block_q;             // query rows per CTA
  int block_kv;            // keys per pipeline step
  int warps;               // warps per CTA
  int stages;              // pipeline depth
  bool q_in_regs = false;  // mma.sync: Q's fragments loaded into registers once
};

// kSplitD and kTwoPhase: the warps form a warps_m x (warps / warps_m) grid (wgmma: warps x 1, each
// warp 16 rows with every key of S and every column of an O chunk).
struct SplitTiles {
  int block_q;        // query rows per CTA
  int block_kv;       // keys per S = Q K^T block
  int warps;          // warps per CTA
  int warps_m;        // warp-grid rows (mma.sync)
  int stages;         // pipeline depth (slots of a (Q, K) piece pair or a V piece)
  int d_chunk;        // head-dim columns of Q and K per slot
  int pv_keys;        // keys of V per slot
  int o_chunk;        // kTwoPhase: head-dim columns of O per pass (kSplitD: head_dim)
  int max_seq_k = 0;  // kTwoPhase: the longest seq_k its P row block holds (the binding must filter)
};

// kKeyBlocks (wgmma, warps = block_q / 16, each warp 16 rows with every key of S and every column
// of an O chunk).
struct KeyBlocksTiles {
  int block_q;   // query rows per CTA (kFlagRows)
  int block_kv;  // keys per block (P of one block lives in shared memory)
  int stages;    // pipeline depth
  int d_chunk;   // head-dim columns of Q and K per slot
  int o_chunk;   // head-dim columns of O per pass
  int pv_keys;   // keys of V per slot
};

// kWarpSpecialized (wgmma): a producer warpgroup and block_q / 64 consumer warpgroups of 64 query rows,
// K and V tiles of block_kv keys in rings of `stages` slots each.
struct WarpSpecializedTiles {
  int block_q;            // query rows per CTA: 128 or 192
  int block_kv;           // keys per K / V tile
  int stages;             // slots of each ring
  bool pingpong = false;    // the consumers take turns issuing their wgmma (FlashAttention-3's ping-pong)
  bool persistent = false;  // one CTA per resident slot, each walking several query tiles
  bool store_via_tma = false;  // O leaves through shared memory and bulk tensor stores (the output's map)
};

// What every row states besides its tiles.
struct RowInfo {
  const char* name;
  Kernel kernel;
  Engine engine;
  MathMode math;
  int head_dim;    // compiled head dimension; serves every head_dim up to it
  // Rank of the row among the rows that can serve the same calls (its head_dim, and its math mode; fp32
  // "highest" calls see fp16x3 and tf32x3 rows together): the heuristic tries rows from rank 0 up and
  // takes the first that can run the call and fills the GPU (ties: table order).
  int preference;
  int min_arch;    // lowest SM architecture it may run on (e.g. 80)
  int max_arch;    // highest SM architecture it may run on
};

struct TileConfig : RowInfo {
  // The kernel's tiles: `reg` for kRegister, `split` for kSplitD and kTwoPhase, `blocks` for
  // kKeyBlocks, `ws` for kWarpSpecialized (reading another member is a compile error in constant
  // expressions).
  union {
    RegisterTiles reg;
    SplitTiles split;
    KeyBlocksTiles blocks;
    WarpSpecializedTiles ws;
  };
  // C++17 (torch < 2.12 builds in it) cannot switch a union member in a constant expression: each
  // constructor starts the row with its kernel's member.
  constexpr TileConfig(const RowInfo& row, RegisterTiles tiles) : RowInfo(row), reg(tiles) {}
  constexpr TileConfig(const RowInfo& row, SplitTiles tiles) : RowInfo(row), split(tiles) {}
  constexpr TileConfig(const RowInfo& row, KeyBlocksTiles tiles) : RowInfo(row), blocks(tiles) {}
  constexpr TileConfig(const RowInfo& row, WarpSpecializedTiles tiles) : RowInfo(row), ws(tiles) {}

  constexpr bool is_wgmma() const { return engine == Engine::kWgmma; }
  constexpr bool supports_arch(int arch) const { return min_arch <= arch && arch <= max_arch; }
  constexpr int block_q() const {
    switch (kernel) {
      case Kernel::kRegister: return reg.block_q;
      case Kernel::kKeyBlocks: return blocks.block_q;
      case Kernel::kWarpSpecialized: return ws.block_q;
      default: return split.block_q;
    }
  }
  constexpr int warps() const {
    switch (kernel) {
      case Kernel::kRegister: return reg.warps;
      case Kernel::kKeyBlocks: return blocks.block_q / 16;
      case Kernel::kWarpSpecialized: return 4 * (ws.block_q / 64 + 1);
      default: return split.warps;
    }
  }
  constexpr int threads() const { return 32 * warps(); }
  constexpr int block_kv() const {
    switch (kernel) {
      case Kernel::kRegister: return reg.block_kv;
      case Kernel::kKeyBlocks: return blocks.block_kv;
      case Kernel::kWarpSpecialized: return ws.block_kv;
      default: return split.block_kv;
    }
  }
  constexpr int stages() const {
    switch (kernel) {
      case Kernel::kRegister: return reg.stages;
      case Kernel::kKeyBlocks: return blocks.stages;
      case Kernel::kWarpSpecialized: return ws.stages;
      default: return split.stages;
    }
  }
  // 0: any seq_k.
  constexpr int max_seq_k() const { return kernel == Kernel::kTwoPhase ? split.max_seq_k : 0; }
  // Whether this configuration can run a problem with these sizes (head_dim and the device aside).
  constexpr bool supports_seq_k(int64_t seq_k) const { return max_seq_k() == 0 || seq_k <= max_seq_k(); }
};

namespace config_detail {

inline constexpr int kAnyArch = 1000;

// What a row of `kernel` on `engine` states besides its tiles.
inline constexpr RowInfo row(const char* name, Kernel kernel, Engine engine, MathMode math, int d, int preference,
                             int min_arch) {
  const bool wgmma = engine == Engine::kWgmma;
  return {name, kernel, engine, math, d, preference, wgmma ? 90 : min_arch, wgmma ? 90 : kAnyArch};
}

// kRegister with mma.sync (fwd_register.cuh), and on Hopper wgmma (fwd_register_wgmma.cuh: one
// warpgroup per 64 query rows).
inline constexpr TileConfig reg(const char* name, MathMode math, int d, int preference, int min_arch,
                                RegisterTiles t) {
  return {row(name, Kernel::kRegister, Engine::kMmaSync, math, d, preference, min_arch), t};
}
inline constexpr TileConfig reg_wgmma(const char* name, MathMode math, int d, int preference, RegisterTiles t) {
  return {row(name, Kernel::kRegister, Engine::kWgmma, math, d, preference, 90), t};
}

// kSplitD: O chunks are the whole head dim.
inline constexpr TileConfig split_d(const char* name, MathMode math, int d, int preference, int min_arch, SplitTiles t) {
  t.o_chunk = d;
  return {row(name, Kernel::kSplitD, Engine::kMmaSync, math, d, preference, min_arch), t};
}

// kTwoPhase with mma.sync, and on Hopper wgmma (two_phase_wgmma.cuh: the warp grid is warps x 1).
inline constexpr TileConfig two_phase(const char* name, MathMode math, int d, int preference, int min_arch,
                                      SplitTiles t) {
  return {row(name, Kernel::kTwoPhase, Engine::kMmaSync, math, d, preference, min_arch), t};
}
inline constexpr TileConfig two_phase_wgmma(const char* name, MathMode math, int d, int preference, SplitTiles t) {
  return {row(name, Kernel::kTwoPhase, Engine::kWgmma, math, d, preference, 90), t};
}

// kWarpSpecialized (fwd_warp_specialized.cuh, Hopper only).
inline constexpr TileConfig warp_specialized(const char* name, MathMode math, int d, int preference,
                                             WarpSpecializedTiles t) {
  return {row(name, Kernel::kWarpSpecialized, Engine::kWgmma, math, d, preference, 90), t};
}

inline constexpr TileConfig key_blocks_wgmma(const char* name, MathMode math, int d, int preference, KeyBlocksTiles t) {
  return {row(name, Kernel::kKeyBlocks, Engine::kWgmma, math, d, preference, 90), t};
}

}  // namespace config_detail

// Shared memory one block may use: RTX 4090 (sm_89) 99 KB, H100 (sm_90) 227 KB. A row's kernel must fit
// its min_arch's (instance.cuh checks the layout each kernel computes for itself).
inline constexpr int kSmemLimitSm89 = 101376;
inline constexpr int kSmemLimitSm90 = 232448;

// Rows are grouped by (math, head_dim): every group has at least one row with max_seq_k == 0 and
// min_arch <= 89 (runs anywhere). Each row states its rank in its group
// (`preference`): the heuristic takes the best-ranked row that can run the call and fills the GPU
// (Hopper-only rows rank first, so sm_89 skips them). A row's index is its id; buckets a row is meant
// to win are noted.
// clang-format off
inline constexpr TileConfig kTileConfigs[] = {
#define TK_HALF_CONFIGS(P, M)                                                                                      \
    /* register on wgmma (H100 only): name, math, head dim, rank, tiles */                                        \
    config_detail::reg_wgmma(P "_d128_wgmma_q128_kv128_s3", M, 128, 4,                                            \
                             {.block_q = 128, .block_kv = 128, .warps = 8,  .stages = 3}), /* d128c, long8k_c */   \
    config_detail::reg_wgmma(P "_d128_wgmma_q192_kv64_s2",  M, 128, 5,                                            \
                             {.block_q = 192, .block_kv = 64,  .warps = 12, .stages = 2}), /* d128 */             \
    config_detail::reg_wgmma(P "_d128_wgmma_q128_kv128_s2", M, 128, 6,                                            \
                             {.block_q = 128, .block_kv = 128, .warps = 8,  .stages = 2}),                        \
    config_detail::reg_wgmma(P "_d128_wgmma_q128_kv64_s2",  M, 128, 7,                                            \
                             {.block_q = 128, .block_kv = 64,  .warps = 8,  .stages = 2}),                        \
    config_detail::reg_wgmma(P "_d256_wgmma_q128_kv64_s2",  M, 256, 1,                                            \
                             {.block_q = 128, .block_kv = 64,  .warps = 8,  .stages = 2}), /* d256 */             \
    /* register (mma.sync): name, math, head dim, rank, min arch, tiles */                                        \
    config_detail::reg(P "_d64_q128_kv64_w4_s2",  M, 64,  3, 80,                                                   \
                       {.block_q = 128, .block_kv = 64, .warps = 4, .stages = 2, .q_in_regs = true}), /* d64 */    \
    config_detail::reg(P "_d64_q256_kv64_w8_s2",  M, 64,  4, 80,                                                   \
                       {.block_q = 256, .block_kv = 64, .warps = 8, .stages = 2, .q_in_regs = true}), /* d64: K/V shared by 8 */ \
    /* d64 on wgmma: short products next to the softmax (one exponential per 128 multiply-adds); slower */   \
    config_detail::reg_wgmma(P "_d64_wgmma_q128_kv128_s2",  M, 64,  5,                                            \
                             {.block_q = 128, .block_kv = 128, .warps = 8,  .stages = 2}),                        \
    config_detail::reg_wgmma(P "_d64_wgmma_q128_kv64_s3",   M, 64,  6,                                            \
                             {.block_q = 128, .block_kv = 64,  .warps = 8,  .stages = 3}),                        \
    config_detail::reg_wgmma(P "_d64_wgmma_q192_kv64_s3",   M, 64,  7,                                            \
                             {.block_q = 192, .block_kv = 64,  .warps = 12, .stages = 3}),                        \
    config_detail::reg(P "_d80_q128_kv64_w4_s2",  M, 80,  0, 80, {.block_q = 128, .block_kv = 64, .warps = 4, .stages = 2}), \
    config_detail::reg(P "_d96_q128_kv64_w4_s2",  M, 96,  0, 80, {.block_q = 128, .block_kv = 64, .warps = 4, .stages = 2}), \
    config_detail::reg(P "_d128_q128_kv64_w4_s2", M, 128, 8, 80,                                                   \
                       {.block_q = 128, .block_kv = 64, .warps = 4, .stages = 2}), /* d128 (FA2's tile) */         \
    config_detail::reg(P "_d128_q128_kv32_w4_s2", M, 128, 9, 80,                                                   \
                       {.block_q = 128, .block_kv = 32, .warps = 4, .stages = 2}), /* d128: shorter S tiles */     \
    config_detail::reg(P "_d128_q128_kv64_w8_s2", M, 128, 10, 80,                                                  \
                       {.block_q = 128, .block_kv = 64, .warps = 8, .stages = 2, .q_in_regs = true}), /* d128: 16 rows a warp */ \
    config_detail::reg(P "_d128_q256_kv32_w8_s2", M, 128, 11, 80,                                                  \
                       {.block_q = 256, .block_kv = 32, .warps = 8, .stages = 2}), /* d128: K/V shared by 8 */     \
    config_detail::reg(P "_d160_q128_kv32_w8_s2", M, 160, 0, 80,                                                   \
                       {.block_q = 128, .block_kv = 32, .warps = 8, .stages = 2, .q_in_regs = true}),             \
    config_detail::reg(P "_d192_q128_kv32_w8_s2", M, 192, 0, 80, {.block_q = 128, .block_kv = 32, .warps = 8, .stages = 2}), \
    config_detail::reg(P "_d256_q128_kv64_w8_s2", M, 256, 2, 90,                                                   \
                       {.block_q = 128, .block_kv = 64, .warps = 8, .stages = 2}), /* d256 on H100 */              \
    config_detail::reg(P "_d256_q64_kv32_w4_s2",  M, 256, 3, 80, {.block_q = 64, .block_kv = 32, .warps = 4, .stages = 2}), \
    /* two_phase (seq_k <= 512, ranked before split_d there); the wgmma rows (both products on Hopper    */       \
    /* wgmma; kb97) rank first, with 4 stages (smaller reduction).                                        */       \
    config_detail::two_phase_wgmma(P "_d512_2p_wgmma_q128_s4", M, 512, 0,                                         \
        {.block_q = 128, .block_kv = 256, .warps = 8, .warps_m = 2, .stages = 4, .d_chunk = 32, .pv_keys = 32,     \
         .o_chunk = 256, .max_seq_k = 512}),                                                                        \
    config_detail::two_phase(P "_d512_2p_q128_k512",  M, 512, 1, 90,                                              \
        {.block_q = 128, .block_kv = 256, .warps = 8, .warps_m = 2, .stages = 3, .d_chunk = 32, .pv_keys = 32,     \
         .o_chunk = 256, .max_seq_k = 512}),                                                                        \
    config_detail::two_phase(P "_d512_2p_q64_k512",   M, 512, 2, 80,                                              \
        {.block_q = 64, .block_kv = 128, .warps = 8, .warps_m = 2, .stages = 2, .d_chunk = 32, .pv_keys = 32,      \
         .o_chunk = 256, .max_seq_k = 512}),                                                                        \
    config_detail::two_phase_wgmma(P "_d1024_2p_wgmma_q128_s4", M, 1024, 0,                                       \
        {.block_q = 128, .block_kv = 256, .warps = 8, .warps_m = 2, .stages = 4, .d_chunk = 32, .pv_keys = 32,     \
         .o_chunk = 256, .max_seq_k = 512}),                                                                        \
    config_detail::two_phase(P "_d1024_2p_q128_k512", M, 1024, 1, 90,                                             \
        {.block_q = 128, .block_kv = 256, .warps = 8, .warps_m = 2, .stages = 3, .d_chunk = 32, .pv_keys = 32,     \
         .o_chunk = 256, .max_seq_k = 512}),                                                                        \
    config_detail::two_phase(P "_d1024_2p_q64_k512",  M, 1024, 2, 80,                                             \
        {.block_q = 64, .block_kv = 128, .warps = 8, .warps_m = 2, .stages = 2, .d_chunk = 32, .pv_keys = 32,      \
         .o_chunk = 256, .max_seq_k = 512}),                                                                        \
    /* split_d: name, math, head dim, rank, min arch, tiles */                                                    \
    config_detail::split_d(P "_d512_splitd_q64_w8",   M, 512,  3, 80,                                             \
        {.block_q = 64, .block_kv = 64,  .warps = 8, .warps_m = 2, .stages = 3, .d_chunk = 64, .pv_keys = 16}),    \
    config_detail::split_d(P "_d1024_splitd_q32_w8",  M, 1024, 3, 80,                                             \
        {.block_q = 32, .block_kv = 128, .warps = 8, .warps_m = 1, .stages = 2, .d_chunk = 64, .pv_keys = 16})

// fp32 "highest" calls see these rows (as tf32x3) beside the fp16x3 ones, which rank first (0) at d512 /
// d1024; the ranks below 1 there are shared with tf32.
#define TK_FP32_CONFIGS(P, M)                                                                                      \
    config_detail::split_d(P "_d128_splitd_q64_w2x2", M, 128,  0, 80,                                             \
        {.block_q = 64, .block_kv = 64,  .warps = 4, .warps_m = 2, .stages = 3, .d_chunk = 32, .pv_keys = 16}), /* d128, d64 */ \
    config_detail::split_d(P "_d128_splitd_q64_w4",   M, 128,  1, 80,                                             \
        {.block_q = 64, .block_kv = 64,  .warps = 4, .warps_m = 4, .stages = 3, .d_chunk = 32, .pv_keys = 16}),    \
    config_detail::split_d(P "_d256_splitd_q64_w8",   M, 256,  0, 80,                                             \
        {.block_q = 64, .block_kv = 64,  .warps = 8, .warps_m = 4, .stages = 3, .d_chunk = 32, .pv_keys = 16}),    \
    config_detail::split_d(P "_d512_splitd_q32_w8",   M, 512,  1, 80,                                             \
        {.block_q = 32, .block_kv = 128, .warps = 8, .warps_m = 1, .stages = 3, .d_chunk = 32, .pv_keys = 8}),     \
    config_detail::two_phase(P "_d1024_2p_q64_k512",  M, 1024, 1, 90,                                             \
        {.block_q = 64, .block_kv = 256, .warps = 8, .warps_m = 2, .stages = 2, .d_chunk = 32, .pv_keys = 32,      \
         .o_chunk = 256, .max_seq_k = 512}), /* kb97 */                                                             \
    config_detail::split_d(P "_d1024_splitd_q16_w8",  M, 1024, 2, 80,                                             \
        {.block_q = 16, .block_kv = 128, .warps = 8, .warps_m = 1, .stages = 2, .d_chunk = 32, .pv_keys = 8})

// 3xFP16 (H100 only): first in the fp32 d512 / d1024 groups, so the heuristic prefers them there. Any
// seq_k; tiles whose values leave fp16's range rerun on the exact (tf32x3) row (exact_fallback).
#define TK_FP16X3_CONFIGS(P, M)                                                                                    \
    config_detail::key_blocks_wgmma(P "_d512_blocks_wgmma_q128",  M, 512,  0,                                     \
        {.block_q = 128, .block_kv = 256, .stages = 2, .d_chunk = 32, .o_chunk = 256, .pv_keys = 32}),             \
    config_detail::key_blocks_wgmma(P "_d1024_blocks_wgmma_q128", M, 1024, 0,                                     \
        {.block_q = 128, .block_kv = 256, .stages = 2, .d_chunk = 32, .o_chunk = 256, .pv_keys = 32}) /* kb97 */

// warp_specialized (H100 only; ranked first in their groups, measured on the H200 2026-12-03 at 1.3-1.4x
// the kRegister wgmma rows: benchmarks/RESULTS.md): name, math, head dim, rank, tiles. Persistent rows
// lead: at d128 the one storing O through TMA (d128, d128c, short, GQA: 1.02-1.10x the persistent row
// without, fourteenth session), at d64 the one without (the TMA-store row measured even); long causal
// rows (long8k_c) still prefer the non-persistent ping-pong row.
#define TK_WARP_SPECIALIZED_CONFIGS(P, M)                                                                          \
    config_detail::warp_specialized(P "_d128_ws_q128_kv128_s2_pp", M, 128, 1,                                     \
        {.block_q = 128, .block_kv = 128, .stages = 2, .pingpong = true}),                                         \
    config_detail::warp_specialized(P "_d128_ws_q128_kv128_s2",    M, 128, 2,                                     \
        {.block_q = 128, .block_kv = 128, .stages = 2}),                                                           \
    config_detail::warp_specialized(P "_d128_ws_q128_kv64_s3",     M, 128, 3,                                     \
        {.block_q = 128, .block_kv = 64, .stages = 3}),                                                            \
    config_detail::warp_specialized(P "_d64_ws_q192_kv128_s2_pp",  M, 64,  1,                                     \
        {.block_q = 192, .block_kv = 128, .stages = 2, .pingpong = true}),                                         \
    config_detail::warp_specialized(P "_d64_ws_q128_kv128_s3",     M, 64,  2,                                     \
        {.block_q = 128, .block_kv = 128, .stages = 3}),                                                           \
    config_detail::warp_specialized(P "_d256_ws_q128_kv64_s2",     M, 256, 0,                                     \
        {.block_q = 128, .block_kv = 64, .stages = 2}),                                                            \
    config_detail::warp_specialized(P "_d128_ws_q128_kv128_s2_pp_persistent", M, 128, 12,                         \
        {.block_q = 128, .block_kv = 128, .stages = 2, .pingpong = true, .persistent = true}),                     \
    config_detail::warp_specialized(P "_d64_ws_q192_kv128_s2_pp_persistent",  M, 64,  0,                          \
        {.block_q = 192, .block_kv = 128, .stages = 2, .pingpong = true, .persistent = true}),                     \
    /* O through TMA stores */                                                                                     \
    config_detail::warp_specialized(P "_d128_ws_q128_kv128_s2_pp_persistent_tma_store", M, 128, 0,                \
        {.block_q = 128, .block_kv = 128, .stages = 2, .pingpong = true, .persistent = true,                       \
         .store_via_tma = true}),                                                                                  \
    config_detail::warp_specialized(P "_d64_ws_q192_kv128_s2_pp_persistent_tma_store",  M, 64,  8,                \
        {.block_q = 192, .block_kv = 128, .stages = 2, .pingpong = true, .persistent = true,                       \
         .store_via_tma = true}),                                                                                  \
    /* d64 with 128-row tiles (sequences of 1024 leave no partial 192-row tile; kv256 spilled): 0.89x SDPA */   \
    config_detail::warp_specialized(P "_d64_ws_q128_kv128_s2_pp_persistent", M, 64, 9,                            \
        {.block_q = 128, .block_kv = 128, .stages = 2, .pingpong = true, .persistent = true})

    TK_HALF_CONFIGS("fp16", MathMode::kFp16),
    TK_HALF_CONFIGS("bf16", MathMode::kBf16),
    TK_FP16X3_CONFIGS("fp16x3", MathMode::kFp16x3),
    TK_FP32_CONFIGS("tf32", MathMode::kTf32),
    TK_FP32_CONFIGS("tf32x3", MathMode::kTf32x3),
    TK_WARP_SPECIALIZED_CONFIGS("fp16", MathMode::kFp16),
    TK_WARP_SPECIALIZED_CONFIGS("bf16", MathMode::kBf16),
#undef TK_WARP_SPECIALIZED_CONFIGS
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

// Some row of (math, head_dim) runs on every supported GPU and for every seq_k (its kernel's shared
// memory fits its min_arch: instance.cuh checks each compiled row).
inline constexpr bool has_universal_row(MathMode math, int head_dim) {
  for (const TileConfig& c : kTileConfigs) {
    if (c.math == math && c.head_dim == head_dim && c.min_arch <= 89 && c.max_seq_k() == 0) return true;
  }
  return false;
}

// fp16x3 rows flag per kFlagRows query rows, and their exact fallbacks' tiles divide that.
inline constexpr bool has_exact_fallback(int id) {
  const int any_seq_k = exact_fallback(id, int64_t{1} << 40);
  const int short_seq_k = exact_fallback(id, 1);
  return kTileConfigs[id].block_q() == kFlagRows && any_seq_k >= 0 && short_seq_k >= 0 &&
         kFlagRows % kTileConfigs[any_seq_k].block_q() == 0 && kFlagRows % kTileConfigs[short_seq_k].block_q() == 0;
}

// fp16x3 rows are Hopper accelerators of fp32 "highest": elsewhere the kTf32x3 rows serve it.
inline constexpr bool table_is_consistent() {
  for (int i = 0; i < kNumTileConfigs; ++i) {
    const TileConfig& c = kTileConfigs[i];
    if (c.math == MathMode::kFp16x3 ? !has_exact_fallback(i) : !has_universal_row(c.math, c.head_dim)) return false;
  }
  return true;
}

}  // namespace config_detail

static_assert(config_detail::table_is_consistent(),
              "a (math, head_dim) group has no row that runs on sm_89 for any seq_k, or an fp16x3 row has no exact "
              "fallback");

}  // namespace tilekernels::attention
