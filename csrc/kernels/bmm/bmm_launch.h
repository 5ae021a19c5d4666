#pragma once
// Host entry point of the CUDA bmm family: runs one compiled configuration. Torch-free.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/bmm/bmm_tma_operands.h"
#include "kernels/common/launcher_registry.h"

namespace tilekernels::bmm {

struct Family {
  using LaunchFn = cudaError_t (*)(const Params&, cudaStream_t);
};
using Registry = LauncherRegistry<Family>;

// Runs configuration `config` (an index into kTileConfigs) for params.math and the params' layout.
// Returns cudaErrorInvalidValue when that pair was not compiled; otherwise the launch's status.
inline cudaError_t launch(const Params& params, int config, cudaStream_t stream) {
  auto fn = Registry::instance().find(config, layout_variant(params.a_k_major, params.b_k_major));
  return fn ? fn(params, stream) : cudaErrorInvalidValue;
}

// gridDim.y and gridDim.z limits (CUDA constants on every architecture).
inline constexpr int64_t kMaxGridYZ = 65535;

// Whether the launch grid of `config` can cover the problem `p` (in the frame the row runs in): wgmma
// rows walk all batch items' tiles with 32-bit indices; the others put a batch item's tiles on
// grid.x and the batch on grid.y x grid.z.
inline bool grid_fits(const TileConfig& config, const Params& p) {
  const bool transposed = config.runs_transposed(p.b_k_major);
  const int64_t m = transposed ? p.n : p.m, n = transposed ? p.m : p.n;
  const int64_t tiles_m = (m + config.block_m - 1) / config.block_m;
  const int64_t tiles_n = (n + config.block_n - 1) / config.block_n;
  if (tiles_m * tiles_n > INT_MAX || config.group_m * tiles_n > INT_MAX) return false;
  if (config.is_wgmma()) return tiles_m * tiles_n * p.batch <= INT_MAX;
  const int64_t grid_y = p.batch < kMaxGridYZ ? p.batch : kMaxGridYZ;
  return grid_y == 0 || (p.batch + grid_y - 1) / grid_y <= kMaxGridYZ;
}

// Whether a row can run this problem: its launch grid fits, it serves k, and for TMA rows tensor maps
// describe both operands.
inline bool serves_problem(const TileConfig& config, const Params& p) {
  return config.serves_k(p.k) && grid_fits(config, p) && (!config.uses_tma() || tma_serves(config, p));
}

inline bool is_compiled(int config, bool a_k_major, bool b_k_major) {
  return Registry::instance().find(config, layout_variant(a_k_major, b_k_major)) != nullptr;
}

// Threads and shared memory of a compiled (configuration, layout), from its kernel's layout; false if
// that pair was not compiled.
inline bool compiled_resources(int config, bool a_k_major, bool b_k_major, KernelResources* out) {
  return Registry::instance().resources(config, layout_variant(a_k_major, b_k_major), out);
}

}  // namespace tilekernels::bmm
