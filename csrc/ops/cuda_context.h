#pragma once
// What the CUDA bindings need from the runtime: torch's current stream, device properties, errors.
#ifdef TILEKERNELS_WITH_CUDA

#include <cuda_runtime.h>

#include <string>

#include "kernels/common/device_spec.h"

namespace tilekernels {

// torch's current stream on `device_index` (the stream every launch must use).
cudaStream_t current_cuda_stream(int device_index);

// Cached properties of `device_index`.
const DeviceSpec& device_spec(int device_index);

// Throws RuntimeError naming `what` when status is not cudaSuccess.
void check_cuda(cudaError_t status, const char* what);

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
