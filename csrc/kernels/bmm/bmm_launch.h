#pragma once
// Host entry point of the CUDA bmm family: runs one compiled configuration. Torch-free.
#include <cuda_runtime.h>

#include "kernels/bmm/bmm_params.h"
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

inline bool is_compiled(int config, bool a_k_major, bool b_k_major) {
  return Registry::instance().find(config, layout_variant(a_k_major, b_k_major)) != nullptr;
}

}  // namespace tilekernels::bmm
