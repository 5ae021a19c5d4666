#pragma once
// Host entry point of the CUDA attention family: runs one compiled configuration. Torch-free.
#include <cuda_runtime.h>

#include "kernels/attention/attention_params.h"
#include "kernels/common/launcher_registry.h"

namespace tilekernels::attention {

struct Family {
  using LaunchFn = cudaError_t (*)(const Params&, cudaStream_t);
};
using Registry = LauncherRegistry<Family>;

// Configurations have a single variant today (causal masking is a runtime flag).
inline constexpr int kDefaultVariant = 0;

inline cudaError_t launch(const Params& params, int config, cudaStream_t stream) {
  auto fn = Registry::instance().find(config, kDefaultVariant);
  return fn ? fn(params, stream) : cudaErrorInvalidValue;
}

inline bool is_compiled(int config) { return Registry::instance().find(config, kDefaultVariant) != nullptr; }

// Threads and shared memory of a compiled configuration, from its kernel's layout; false if not compiled.
inline bool compiled_resources(int config, KernelResources* out) {
  return Registry::instance().resources(config, kDefaultVariant, out);
}

}  // namespace tilekernels::attention
