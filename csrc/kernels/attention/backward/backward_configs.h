#pragma once
// The attention backward's compiled configurations: one table, one named row each (a row's index is
// its id). A row runs three kernels (backward/README.md): the delta pre-pass, the key-block kernel
// (dK, dV) and the query-block kernel (dQ), whose tiles it names; or, with dq_atomic, the delta pre-pass,
// the key-block kernel (dK, dV and dQ's partial sums) and a conversion of dQ. Torch-free, plain C++.
#include <cstdint>

#include "kernels/common/math_mode.h"

namespace tilekernels::attention {

// The key-block kernel: a CTA owns block_kv keys of one kv head (warp w: 16 * (block_kv / 16 / warps)
// of them, with the whole head dimension of their dK and dV) and walks the query blocks of every query
// head sharing that kv head, block_q rows at a time through a `stages`-deep ring.
struct BackwardKeyTiles {
  int block_kv;
  int warps;
  int block_q;
  int stages;
  bool wgmma = false;  // Hopper wgmma (bwd_key_wgmma.cuh, sm_90a; warps a multiple of 4) or mma.sync (bwd_key.cuh)
  // wgmma, two warpgroups sharing block_kv keys and splitting each job's products (S^T, dV / dP^T, dK):
  // bwd_key_wgmma_split.cuh, for head dim 256, whose dK and dV do not fit one warpgroup's registers.
  bool split_products = false;
  // wgmma fed by a TMA producer warpgroup through an mbarrier ring, two consumer warpgroups of 64 keys
  // (bwd_key_ws.cuh; warps counts the consumers'); block_q is kVectorRows or, at head dim 64, 128.
  bool warp_specialized = false;
};

// The query-block kernel: a CTA owns block_q rows of one query head (warp w: 16 * (block_q / 16 /
// warps) of them, with the whole head dimension of their dQ) and walks key blocks of block_kv keys.
struct BackwardQueryTiles {
  int block_q;
  int warps;
  int block_kv;
  int stages;
  bool wgmma = false;  // Hopper wgmma (bwd_query_wgmma.cuh, sm_90a; warps a multiple of 4) or mma.sync (bwd_query.cuh)
};

struct BackwardConfig {
  const char* name;
  MathMode math;
  int head_dim;    // compiled head dimension; serves every head_dim up to it
  int preference;  // rank among the rows serving the same calls (the planner takes the best-ranked)
  int min_arch;    // mma.sync: sm_80 and later; with a wgmma kernel: sm_90 only
  int max_arch;
  BackwardKeyTiles keys;
  BackwardQueryTiles queries;  // unused with dq_atomic
  // dQ accumulated by the key-block kernel (fp32 reductions into scratch, per thread or, warp-specialized,
  // by bulk tensor reductions; then a conversion pass) instead of the query-block kernel: 5 products per
  // block pair instead of 7, in a nondeterministic order.
  bool dq_atomic = false;

  constexpr bool supports_arch(int arch) const { return min_arch <= arch && arch <= max_arch; }
};

// clang-format off
inline constexpr BackwardConfig kBackwardConfigs[] = {
#define TK_HALF_BACKWARD_CONFIGS(P, M)                                                                             \
    {P "_d64_bwd",  M, 64,  5, 80, 1000, {.block_kv = 64, .warps = 4, .block_q = 64, .stages = 2},                 \
                                         {.block_q = 64, .warps = 4, .block_kv = 64, .stages = 2}},                \
    {P "_d128_bwd", M, 128, 5, 80, 1000, {.block_kv = 64, .warps = 4, .block_q = 32, .stages = 2},                 \
                                         {.block_q = 64, .warps = 4, .block_kv = 64, .stages = 2}},                \
    /* on wgmma (sm_90 only): the key-block kernel only, then both (H200, 2026-12-03: the backward */           \
    /* 1.25-1.6x faster than the mma.sync rows, benchmarks/RESULTS.md) */                                       \
    {P "_d64_bwd_wgmma_keys",  M, 64,  4, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,        \
                                                   .wgmma = true},                                                \
                                                  {.block_q = 64, .warps = 4, .block_kv = 64, .stages = 2}},      \
    {P "_d128_bwd_wgmma_keys", M, 128, 4, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,        \
                                                   .wgmma = true},                                                \
                                                  {.block_q = 64, .warps = 4, .block_kv = 64, .stages = 2}},      \
    {P "_d64_bwd_wgmma",  M, 64,  2, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,             \
                                              .wgmma = true},                                                     \
                                             {.block_q = 128, .warps = 8, .block_kv = 128, .stages = 2,           \
                                              .wgmma = true}},                                                    \
    {P "_d128_bwd_wgmma", M, 128, 3, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,             \
                                              .wgmma = true},                                                     \
                                             {.block_q = 128, .warps = 8, .block_kv = 64, .stages = 2,            \
                                              .wgmma = true}},                                                    \
    /* dQ by per-thread fp32 reductions from the key-block kernel (1.05-1.1x the row above at d128) */        \
    {P "_d64_bwd_wgmma_dq_atomic",  M, 64,  3, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,   \
                                                        .wgmma = true}, {}, true},                                \
    {P "_d128_bwd_wgmma_dq_atomic", M, 128, 2, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,   \
                                                        .wgmma = true}, {}, true},                                \
    /* warp-specialized key-block kernel (TMA producer, mbarrier ring), ranked first (H200, 2026-12-04: */    \
    /* with dQ by bulk tensor reductions 1.22-1.27x every row above; deterministic, 1.08-1.10x both-wgmma). */  \
    /* d64 takes jobs of 128 query rows (2026-12-04: 1.12x jobs of 64 with dq_atomic, 1.06x without) */         \
    {P "_d64_bwd_ws",  M, 64,  1, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 128, .stages = 2,               \
                                           .wgmma = true, .warp_specialized = true},                              \
                                          {.block_q = 128, .warps = 8, .block_kv = 128, .stages = 2,              \
                                           .wgmma = true}},                                                       \
    {P "_d128_bwd_ws", M, 128, 1, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 3,                \
                                           .wgmma = true, .warp_specialized = true},                              \
                                          {.block_q = 128, .warps = 8, .block_kv = 64, .stages = 2,               \
                                           .wgmma = true}},                                                       \
    {P "_d64_bwd_ws_dq_atomic",  M, 64,  0, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 128, .stages = 2,     \
                                                     .wgmma = true, .warp_specialized = true}, {}, true},         \
    {P "_d128_bwd_ws_dq_atomic", M, 128, 0, 90, 90, {.block_kv = 128, .warps = 8, .block_q = 64, .stages = 2,      \
                                                     .wgmma = true, .warp_specialized = true}, {}, true},         \
    /* head dim 256: the warpgroups split each job's products; dQ by fp32 reductions (no deterministic row) */  \
    {P "_d256_bwd_wgmma_split_dq_atomic", M, 256, 0, 90, 90, {.block_kv = 64, .warps = 8, .block_q = 64,         \
                                                             .stages = 2, .wgmma = true, .split_products = true}, \
                                                            {}, true}
    TK_HALF_BACKWARD_CONFIGS("fp16", MathMode::kFp16),
    TK_HALF_BACKWARD_CONFIGS("bf16", MathMode::kBf16),
#undef TK_HALF_BACKWARD_CONFIGS
};
// clang-format on

inline constexpr int kNumBackwardConfigs = sizeof(kBackwardConfigs) / sizeof(kBackwardConfigs[0]);

}  // namespace tilekernels::attention
