#pragma once
// Host entry point of the CUDA attention backward: runs one compiled configuration (its three
// kernels) on a stream. Torch-free.
#include <cuda_runtime.h>

#include "kernels/attention/backward/backward_params.h"
#include "kernels/common/launcher_registry.h"

namespace tilekernels::attention {

struct BackwardFamily {
  using LaunchFn = cudaError_t (*)(const BackwardParams&, cudaStream_t);
};
using BackwardRegistry = LauncherRegistry<BackwardFamily>;

inline cudaError_t launch_backward(const BackwardParams& params, int config, cudaStream_t stream) {
  auto fn = BackwardRegistry::instance().find(config, 0);
  return fn ? fn(params, stream) : cudaErrorInvalidValue;
}

inline bool backward_is_compiled(int config) { return BackwardRegistry::instance().find(config, 0) != nullptr; }

}  // namespace tilekernels::attention
