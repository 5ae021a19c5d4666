#pragma once
// Launchers of the attention configurations and their registration. An instance file compiles every
// row of kTileConfigs with one (math, head_dim) through TILEKERNELS_ATTENTION_INSTANCES; template
// parameters come from the row, so the table stays the single source of truth.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/attention_launch.h"
#include "kernels/attention/fwd_key_blocks.cuh"
#include "kernels/attention/fwd_register.cuh"
#include "kernels/attention/fwd_register_wgmma.cuh"
#include "kernels/attention/fwd_split_d.cuh"
#include "kernels/attention/fwd_two_phase.cuh"
#include "kernels/attention/fwd_warp_specialized.cuh"
#include "kernels/attention/kernel_common.cuh"
#include "kernels/common/build_archs.h"
#include "kernels/common/per_device.h"

namespace tilekernels::attention::detail {

template <int kConfig>
constexpr auto kernel_function() {
  constexpr Kernel kind = kTileConfigs[kConfig].kernel;
  if constexpr (kind == Kernel::kWarpSpecialized) {
    return &warp_specialized_fwd_kernel<kConfig>;
  } else if constexpr (kind == Kernel::kRegister && kTileConfigs[kConfig].is_wgmma()) {
    return &register_wgmma_fwd_kernel<kConfig>;
  } else if constexpr (kind == Kernel::kRegister) {
    return &register_fwd_kernel<kConfig>;
  } else if constexpr (kind == Kernel::kSplitD) {
    return &split_d_fwd_kernel<kConfig>;
  } else if constexpr (kind == Kernel::kKeyBlocks) {
    return &key_blocks_fwd_kernel<kConfig>;
  } else {
    return &two_phase_fwd_kernel<kConfig>;
  }
}

// The kernel struct of a configuration: its layout (kThreads, kSmemBytes).
template <int kConfig, Kernel kKind = kTileConfigs[kConfig].kernel>
using KernelOf = std::conditional_t<
    kKind == Kernel::kRegister,
    std::conditional_t<kTileConfigs[kConfig].is_wgmma(), RegisterWgmmaKernel<kConfig>, RegisterKernel<kConfig>>,
    std::conditional_t<
        kKind == Kernel::kSplitD, SplitDKernel<kConfig>,
        std::conditional_t<kKind == Kernel::kTwoPhase, TwoPhaseKernel<kConfig>,
                           std::conditional_t<kKind == Kernel::kKeyBlocks, KeyBlocksKernel<kConfig>,
                                              WarpSpecializedKernel<kConfig>>>>>;

// What the configuration's kernel needs, from its own layout (the registry hands it to the planner).
template <int kConfig>
constexpr KernelResources kernel_resources() {
  using K = KernelOf<kConfig>;
  static_assert(K::kThreads == kTileConfigs[kConfig].threads(), "the kernel's CTA is not its row's");
  static_assert(K::kSmemBytes <= (kTileConfigs[kConfig].min_arch <= 89 ? kSmemLimitSm89 : kSmemLimitSm90),
                "the kernel needs more shared memory than its row's min_arch offers");
  return {K::kThreads, K::kSmemBytes};
}

// Raises the kernel's dynamic shared-memory limit once per device (the attribute is per device).
template <int kConfig>
cudaError_t ensure_smem_limit() {
  return allow_dynamic_smem<kernel_function<kConfig>()>(kernel_resources<kConfig>().smem_bytes);
}

// The current device's L2 bytes, 0 when unknown (not fatal: the launch only loses its L2-aware
// ordering).
inline int l2_bytes_or_zero() {
  int bytes = 0;
  if (l2_cache_bytes(&bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return bytes > 0 ? bytes : 0;
}

// Causal launches walk query tiles last-first inside groups of heads whose K and V fit in half the
// L2; other launches walk one head at a time (its query tiles share K and V in L2).
inline TileMap make_tile_map(const Params& p, int block_q) {
  TileMap map;
  map.num_bh = p.batch * p.heads_q;
  map.num_q_tiles = static_cast<int>((p.seq_q + block_q - 1) / block_q);
  map.reverse = p.causal;
  map.group_heads = 1;
  if (p.causal) {
    const int64_t kv_bytes = 2 * p.seq_k * p.head_dim * math_mode_element_bytes(p.math);
    const int64_t q_heads_per_kv = p.heads_q / p.heads_kv;
    const int64_t per_q_head = kv_bytes / q_heads_per_kv > 0 ? kv_bytes / q_heads_per_kv : 1;
    int64_t heads = (static_cast<int64_t>(l2_bytes_or_zero()) / 2) / per_q_head;
    if (heads < 1) heads = 1;
    if (heads > map.num_bh) heads = map.num_bh;
    map.group_heads = static_cast<int>(heads);
  }
  return map;
}

// The kSplitD row with the same (math, head_dim) (it serves every seq_k), or -1.
template <int kConfig>
constexpr int split_d_sibling() {
  for (int i = 0; i < kNumTileConfigs; ++i) {
    const TileConfig& c = kTileConfigs[i];
    if (c.kernel == Kernel::kSplitD && c.math == kTileConfigs[kConfig].math &&
        c.head_dim == kTileConfigs[kConfig].head_dim) {
      return i;
    }
  }
  return -1;
}

template <int kConfig>
cudaError_t launch_config(const Params& p, cudaStream_t stream) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  if constexpr (kCfg.kernel == Kernel::kTwoPhase && split_d_sibling<kConfig>() >= 0) {
    // A kTwoPhase row holds the whole P row block in shared memory. Longer key sequences run on the
    // kSplitD row of the same (math, head_dim), compiled in the same instance file. The binding filters
    // on supports_seq_k, so this is only a safety net.
    if (!kCfg.supports_seq_k(p.seq_k)) return launch_config<split_d_sibling<kConfig>()>(p, stream);
  }
  if (p.math != kCfg.math) return cudaErrorInvalidValue;
  if (p.batch < 0 || p.heads_q < 0 || p.seq_q < 0) return cudaErrorInvalidValue;
  if (p.batch == 0 || p.heads_q == 0 || p.seq_q == 0) return cudaSuccess;  // empty output
  if (p.head_dim < 1 || p.head_dim > kCfg.head_dim) return cudaErrorInvalidValue;
  if (p.heads_kv < 1 || p.heads_q % p.heads_kv != 0) return cudaErrorInvalidValue;
  if (p.seq_k < 1 || p.seq_q > INT_MAX || p.seq_k > INT_MAX) return cudaErrorInvalidValue;
  if (!kCfg.supports_seq_k(p.seq_k)) return cudaErrorInvalidValue;
  if (p.tile_flags == nullptr && (p.redo_flagged || kCfg.math == MathMode::kFp16x3)) return cudaErrorInvalidValue;
  if (p.redo_flagged && kCfg.math == MathMode::kFp16x3) return cudaErrorInvalidValue;

  const TileMap map = make_tile_map(p, kCfg.block_q());
  const int64_t num_blocks = map.num_bh * map.num_q_tiles;
  if (num_blocks > INT_MAX) return cudaErrorInvalidConfiguration;
  cudaError_t err = ensure_smem_limit<kConfig>();
  if (err != cudaSuccess) return err;

  const KernelArgs args{p, map, p.scale * kLog2e};
  constexpr KernelResources kResources = kernel_resources<kConfig>();
  dim3 grid(static_cast<unsigned>(num_blocks));
  if constexpr (kCfg.kernel == Kernel::kWarpSpecialized) {
    if (!tma_serves(kCfg, p)) return cudaErrorInvalidValue;  // the planner never picks it then
    TmaMaps maps;
    err = make_tma_maps(kCfg, p, &maps);
    if (err != cudaSuccess) return err;
    if constexpr (kCfg.ws.persistent) {  // at most one CTA per resident slot, each walking several tiles
      int64_t resident = 0;
      err = resident_ctas<kernel_function<kConfig>()>(kResources.threads, kResources.smem_bytes, &resident);
      if (err != cudaSuccess) return err;
      if (resident < num_blocks) grid.x = static_cast<unsigned>(resident);
    }
    kernel_function<kConfig>()<<<grid, kResources.threads, kResources.smem_bytes, stream>>>(args, maps);
  } else {
    kernel_function<kConfig>()<<<grid, kResources.threads, kResources.smem_bytes, stream>>>(args);
  }
  err = cudaGetLastError();
  if (err != cudaSuccess || kCfg.math != MathMode::kFp16x3) return err;
  // The tiles the fp16x3 kernel flagged run again on the exact row (registered by its own instance
  // file; the binding offers fp16x3 rows only where that row is compiled).
  Params redo = p;
  redo.math = MathMode::kTf32x3;
  redo.redo_flagged = true;
  return launch(redo, exact_fallback(kConfig, p.seq_k), stream);
}

// wgmma rows have code only in builds that include sm_90a.
template <int kConfig, MathMode kMath, int kHeadDim>
void register_if_matching() {
  if constexpr (kTileConfigs[kConfig].math == kMath && kTileConfigs[kConfig].head_dim == kHeadDim &&
                (kBuiltForSm90a || !kTileConfigs[kConfig].is_wgmma())) {
    Registry::instance().add(kConfig, kDefaultVariant, &launch_config<kConfig>, kernel_resources<kConfig>());
  }
}

template <MathMode kMath, int kHeadDim, int... kConfigs>
bool register_instances(std::integer_sequence<int, kConfigs...>) {
  (register_if_matching<kConfigs, kMath, kHeadDim>(), ...);
  return true;
}

}  // namespace tilekernels::attention::detail

// Compiles and registers every configuration with this (math, head_dim).
#define TILEKERNELS_ATTENTION_INSTANCES(MATH, HEAD_DIM)                                                       \
  namespace {                                                                                                 \
  [[maybe_unused]] const bool kAttentionInstancesRegistered =                                                 \
      ::tilekernels::attention::detail::register_instances<MATH, HEAD_DIM>(                                   \
          std::make_integer_sequence<int, ::tilekernels::attention::kNumTileConfigs>{});                      \
  }
