#pragma once
// Launchers of the bmm kernels, one per (configuration, layout), and the registration an instance file
// (instances/*.cu) makes: every kTileConfigs row of one math mode, for one (A, B) layout. The table
// alone decides what gets compiled. Torch-free.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_ffma.cuh"
#include "kernels/bmm/bmm_launch.h"
#include "kernels/bmm/bmm_mma_sm80.cuh"

namespace tilekernels::bmm::detail {

// Dynamic shared memory a kernel may use without opting in (a CUDA constant on every architecture).
inline constexpr int kDefaultDynamicSmemLimit = 48 * 1024;
// gridDim.y and gridDim.z limits (CUDA constants on every architecture).
inline constexpr int64_t kMaxGridYZ = 65535;

// Opts kKernel into `bytes` of dynamic shared memory on the current device, once per device.
template <auto kKernel>
cudaError_t allow_dynamic_smem(int bytes) {
  if (bytes <= kDefaultDynamicSmemLimit) return cudaSuccess;
  static std::mutex mutex;
  static std::vector<bool> done;  // indexed by device ordinal
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return err;
  std::lock_guard<std::mutex> lock(mutex);
  if (device < static_cast<int>(done.size()) && done[device]) return cudaSuccess;
  err = cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (err != cudaSuccess) return err;
  if (static_cast<int>(done.size()) <= device) done.resize(device + 1, false);
  done[device] = true;
  return cudaSuccess;
}

// The one kernel entry point: the row's math mode picks the FFMA or the tensor-core kernel body.
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
  else
    mma_sm80::Kernel<kConfig, kAKMajor, kBKMajor>::run(p);
}

// Runs configuration kConfig on `params` (whose math and layout must be the instance's).
template <int kConfig, bool kAKMajor, bool kBKMajor>
cudaError_t launch_instance(const Params& params, cudaStream_t stream) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  constexpr auto kKernel = &bmm_kernel<kConfig, kAKMajor, kBKMajor>;
  if (params.math != kCfg.math || params.a_k_major != kAKMajor || params.b_k_major != kBKMajor)
    return cudaErrorInvalidValue;
  if (params.batch < 0 || params.m < 0 || params.n < 0 || params.k < 0) return cudaErrorInvalidValue;
  if (params.batch == 0 || params.m == 0 || params.n == 0) return cudaSuccess;  // nothing to write

  const int64_t tiles_m = (params.m + kCfg.block_m - 1) / kCfg.block_m;
  const int64_t tiles_n = (params.n + kCfg.block_n - 1) / kCfg.block_n;
  // The raster computes in 32 bits: tiles per batch item and one group's width must fit.
  if (tiles_m * tiles_n > INT_MAX || kCfg.group_m * tiles_n > INT_MAX) return cudaErrorInvalidValue;
  const int64_t grid_y = params.batch < kMaxGridYZ ? params.batch : kMaxGridYZ;
  const int64_t grid_z = (params.batch + grid_y - 1) / grid_y;
  if (grid_z > kMaxGridYZ) return cudaErrorInvalidValue;

  cudaError_t err = allow_dynamic_smem<kKernel>(kCfg.smem_bytes());
  if (err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>(tiles_m * tiles_n), static_cast<unsigned>(grid_y),
                  static_cast<unsigned>(grid_z));
  kKernel<<<grid, kCfg.threads(), kCfg.smem_bytes(), stream>>>(params);
  return cudaGetLastError();
}

template <int kConfig, MathMode kMath, bool kAKMajor, bool kBKMajor>
void register_if_math() {
  if constexpr (kTileConfigs[kConfig].math == kMath)
    Registry::instance().add(kConfig, layout_variant(kAKMajor, kBKMajor), &launch_instance<kConfig, kAKMajor, kBKMajor>);
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
