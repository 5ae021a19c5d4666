#pragma once
// Launchers of the bmm kernels, one per (configuration, layout), and the registration an instance file
// (instances/*.cu) makes: every kTileConfigs row of one math mode, for one (A, B) layout. The table
// alone decides what gets compiled. Torch-free.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_ffma.cuh"
#include "kernels/bmm/bmm_launch.h"
#include "kernels/bmm/bmm_mma_sm80.cuh"
#include "kernels/bmm/bmm_tma_operands.h"
#include "kernels/bmm/bmm_wgmma_sm90.cuh"
#include "kernels/bmm/bmm_wgmma_tma.cuh"
#include "kernels/bmm/bmm_wgmma_whole_k.cuh"
#include "kernels/common/build_archs.h"
#include "kernels/common/per_device.h"

namespace tilekernels::bmm::detail {

// A launch of `grid` CTAs in clusters of `cluster` along x; `attribute` holds the cluster size and must
// outlive the returned configuration.
inline cudaLaunchConfig_t cluster_launch(dim3 grid, int threads, int smem_bytes, cudaStream_t stream, int cluster,
                                         cudaLaunchAttribute* attribute) {
  *attribute = cudaLaunchAttribute{};
  attribute->id = cudaLaunchAttributeClusterDimension;
  attribute->val.clusterDim.x = cluster;
  attribute->val.clusterDim.y = 1;
  attribute->val.clusterDim.z = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = smem_bytes;
  config.stream = stream;
  config.attrs = attribute;
  config.numAttrs = 1;
  return config;
}

// Clusters of `cluster` CTAs of kKernel that the current device holds at once, once per device.
template <auto kKernel>
cudaError_t resident_clusters(int threads, int smem_bytes, int cluster, int64_t* clusters) {
  static PerDevice<int64_t> resident;
  return resident.get(
      [&](int, int64_t* count) {
        cudaLaunchAttribute attribute;
        const cudaLaunchConfig_t config = cluster_launch(dim3(cluster), threads, smem_bytes, nullptr, cluster, &attribute);
        int found = 0;
        const cudaError_t err = cudaOccupancyMaxActiveClusters(&found, kKernel, &config);
        if (err != cudaSuccess) return err;
        if (found < 1) return cudaErrorInvalidConfiguration;
        *count = found;
        return cudaSuccess;
      },
      clusters);
}

// The one kernel entry point: the row's math mode and engine pick the kernel body. wgmma rows get
// their kernel-frame params (kernel_frame): with B n-contiguous they compute C^T = B^T A^T.
template <int kConfig, bool kAKMajor, bool kBKMajor>
__global__ void __launch_bounds__(kTileConfigs[kConfig].threads(), kTileConfigs[kConfig].min_ctas_per_sm)
    bmm_kernel(const Params p) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
#if defined(__CUDA_ARCH__)
  constexpr bool kRunsHere = kCfg.min_arch * 10 <= __CUDA_ARCH__;
#else
  constexpr bool kRunsHere = true;
#endif
  if constexpr (!kRunsHere)
    __trap();  // a row for newer architectures only: no code (and no compile time) here
  else if constexpr (kCfg.math == MathMode::kFfma)
    ffma::Kernel<kConfig, kAKMajor, kBKMajor>::run(p);
  else if constexpr (kCfg.holds_whole_k()) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    wgmma_whole_k::Kernel<kConfig>::run(p);
#else
    __trap();
#endif
  } else if constexpr (kCfg.is_wgmma()) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    wgmma_sm90::Kernel<kConfig, kBKMajor ? kAKMajor : false, !kBKMajor>::run(p);
#else
    __trap();  // sm_90a code only; the host never picks these rows elsewhere (max_arch)
#endif
  } else
    mma_sm80::Kernel<kConfig, kAKMajor, kBKMajor>::run(p);
}

// The entry point of TMA rows: their tensor maps travel as a __grid_constant__ parameter, where the
// copy engine reads them.
template <int kConfig, bool kAKMajor, bool kBKMajor>
__global__ void __launch_bounds__(kTileConfigs[kConfig].threads(), 1)
    bmm_tma_kernel(const Params p, const __grid_constant__ TmaOperands maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  wgmma_tma::Kernel<kConfig, kAKMajor, kBKMajor>::run(p, maps);
#else
  __trap();  // sm_90a code only; the host never picks these rows elsewhere (max_arch)
#endif
}

// The dynamic shared memory a row's kernel asks for in this layout, from the kernel's own layout
// (wgmma rows in the frame they run in, kernel_frame).
template <int kConfig, bool kAKMajor, bool kBKMajor>
constexpr int kernel_smem_bytes() {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  if constexpr (kCfg.math == MathMode::kFfma) {
    return ffma::Traits<kConfig, kAKMajor, kBKMajor>::kSmemBytes;
  } else if constexpr (kCfg.holds_whole_k()) {
    return wgmma_whole_k::Kernel<kConfig>::kSmemBytes;
  } else if constexpr (kCfg.uses_tma()) {
    return wgmma_tma::Kernel<kConfig, kAKMajor, kBKMajor>::kSmemBytes;
  } else if constexpr (kCfg.is_wgmma()) {
    return wgmma_sm90::Kernel<kConfig, kBKMajor ? kAKMajor : false, !kBKMajor>::kSmemBytes;
  } else {
    return mma_sm80::Traits<kConfig, kAKMajor, kBKMajor>::kSmemBytes;
  }
}

// Layouts a row runs: every one, except that TF32 wgmma needs a k-contiguous shared operand (B, or A
// when B is n-contiguous; whole-k rows read both from shared memory, so both); wgmma rows exist only
// in builds that include sm_90a.
constexpr bool supports_layout(const TileConfig& config, bool a_k_major, bool b_k_major) {
  if (!config.is_wgmma()) return true;
  if (config.uses_tma()) return kBuiltForSm90a;
  if (config.holds_whole_k()) return kBuiltForSm90a && a_k_major && b_k_major;
  return kBuiltForSm90a && (a_k_major || b_k_major);
}

// The problem a kernel body sees. wgmma rows with B n-contiguous swap the operands: A' = B^T
// (n-contiguous, so m-contiguous as the new A), B' = A^T (k-contiguous), C' = C^T, stored transposed.
inline Params kernel_frame(const TileConfig& config, const Params& p) {
  if (!config.runs_transposed(p.b_k_major)) return p;
  Params q = p;
  q.a = p.b;
  q.b = p.a;
  q.m = p.n;
  q.n = p.m;
  q.a_batch_stride = p.b_batch_stride;
  q.b_batch_stride = p.a_batch_stride;
  q.lda = p.ldb;
  q.ldb = p.lda;
  q.a_k_major = false;
  q.b_k_major = true;
  return q;
}

// Launches kKernel over the problem's output tiles: for wgmma rows a one-dimensional grid over batch x
// tiles (TileWalk, 32-bit tile indices; cluster rows: units of cluster_m tiles, one per cluster), at
// most what fits at once if persistent; otherwise a batch item's tiles on x and the batch on y x z.
template <int kConfig, auto kKernel, int kSmemBytes, class... Extra>
cudaError_t launch_over_tiles(const Params& params, cudaStream_t stream, const Extra&... extra) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  constexpr int kCluster = kCfg.cluster_m;
  const int64_t tiles_m = (params.m + kCfg.block_m - 1) / kCfg.block_m;
  const int64_t tiles_n = (params.n + kCfg.block_n - 1) / kCfg.block_n;
  cudaError_t err = allow_dynamic_smem<kKernel>(kSmemBytes);
  if (err != cudaSuccess) return err;
  dim3 grid;
  if constexpr (kCfg.is_wgmma()) {
    int64_t units = (tiles_m + kCluster - 1) / kCluster * tiles_n * params.batch;
    if constexpr (kCfg.persistent) {
      int64_t resident = 0;
      err = kCluster == 1 ? ::tilekernels::resident_ctas<kKernel>(kCfg.threads(), kSmemBytes, &resident)
                          : resident_clusters<kKernel>(kCfg.threads(), kSmemBytes, kCluster, &resident);
      if (err != cudaSuccess) return err;
      if (resident < units) units = resident;
    }
    grid = dim3(static_cast<unsigned>(units * kCluster));
    if constexpr (kCluster > 1) {
      cudaLaunchAttribute attribute;
      const cudaLaunchConfig_t config =
          cluster_launch(grid, kCfg.threads(), kSmemBytes, stream, kCluster, &attribute);
      err = cudaLaunchKernelEx(&config, kKernel, params, extra...);
      return err != cudaSuccess ? err : cudaGetLastError();
    }
  } else {
    const int64_t grid_y = params.batch < kMaxGridYZ ? params.batch : kMaxGridYZ;
    const int64_t grid_z = (params.batch + grid_y - 1) / grid_y;
    grid = dim3(static_cast<unsigned>(tiles_m * tiles_n), static_cast<unsigned>(grid_y), static_cast<unsigned>(grid_z));
  }
  kKernel<<<grid, kCfg.threads(), kSmemBytes, stream>>>(params, extra...);
  return cudaGetLastError();
}

// Runs configuration kConfig on `params` (whose math and layout must be the instance's).
template <int kConfig, bool kAKMajor, bool kBKMajor>
cudaError_t launch_instance(const Params& user_params, cudaStream_t stream) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  if (user_params.math != kCfg.math || user_params.a_k_major != kAKMajor || user_params.b_k_major != kBKMajor)
    return cudaErrorInvalidValue;
  const Params params = kernel_frame(kCfg, user_params);
  if (params.batch < 0 || params.m < 0 || params.n < 0 || params.k < 0) return cudaErrorInvalidValue;
  if (params.batch == 0 || params.m == 0 || params.n == 0) return cudaSuccess;  // nothing to write
  if (!serves_problem(kCfg, user_params)) return cudaErrorInvalidValue;  // the planner never picks it then

  if constexpr (kCfg.uses_tma()) {
    TmaOperands maps;
    const cudaError_t err = make_tma_operands(kCfg, params, &maps);
    if (err != cudaSuccess) return err;
    return launch_over_tiles<kConfig, &bmm_tma_kernel<kConfig, kAKMajor, kBKMajor>,
                             kernel_smem_bytes<kConfig, kAKMajor, kBKMajor>()>(params, stream, maps);
  } else {
    return launch_over_tiles<kConfig, &bmm_kernel<kConfig, kAKMajor, kBKMajor>,
                             kernel_smem_bytes<kConfig, kAKMajor, kBKMajor>()>(params, stream);
  }
}

template <int kConfig, MathMode kMath, bool kAKMajor, bool kBKMajor>
void register_if_math() {
  if constexpr (kTileConfigs[kConfig].math == kMath && supports_layout(kTileConfigs[kConfig], kAKMajor, kBKMajor)) {
    constexpr int kSmemBytes = kernel_smem_bytes<kConfig, kAKMajor, kBKMajor>();
    static_assert(kTileConfigs[kConfig].min_arch >= 90 || kSmemBytes <= kSm89MaxSmemPerBlock,
                  "a row with min_arch < 90 needs more than sm_89's 99 KB of shared memory");
    Registry::instance().add(kConfig, layout_variant(kAKMajor, kBKMajor), &launch_instance<kConfig, kAKMajor, kBKMajor>,
                             KernelResources{kTileConfigs[kConfig].threads(), kSmemBytes});
  }
}

template <MathMode kMath, bool kAKMajor, bool kBKMajor, int... kConfigs>
bool register_instances(std::integer_sequence<int, kConfigs...>) {
  (register_if_math<kConfigs, kMath, kAKMajor, kBKMajor>(), ...);
  return true;
}

}  // namespace tilekernels::bmm::detail

// Compiles and registers every kTileConfigs row of math mode MATH for one operand layout. Use once per
// instance file, at namespace scope.
#define TILEKERNELS_BMM_INSTANCES(MATH, A_K_MAJOR, B_K_MAJOR)                                          \
  static const bool tilekernels_bmm_instances_registered =                                            \
      ::tilekernels::bmm::detail::register_instances<MATH, A_K_MAJOR, B_K_MAJOR>(                     \
          std::make_integer_sequence<int, ::tilekernels::bmm::kNumTileConfigs>{})
