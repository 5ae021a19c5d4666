#ifdef TILEKERNELS_WITH_CUDA

#include "ops/cuda_context.h"

#include <dlfcn.h>
#include <torch/csrc/inductor/aoti_torch/c/shim.h>

#include <array>
#include <memory>
#include <mutex>

#include "ops/errors.h"

namespace tilekernels {
namespace {

// The stable ABI's current-stream accessor lives in libtorch_cuda, which CPU builds of torch lack.
// Resolving it at run time keeps one extension loadable under CPU and CUDA builds alike.
using GetCurrentCudaStream = AOTITorchError (*)(int32_t, void**);

GetCurrentCudaStream resolve_stream_getter() {
  void* library = dlopen("libtorch_cuda.so", RTLD_NOLOAD | RTLD_LAZY);
  TK_CHECK_RUNTIME(library != nullptr,
                   "tilekernels: CUDA tensors need a CUDA build of torch (libtorch_cuda.so is not loaded)");
  auto fn = reinterpret_cast<GetCurrentCudaStream>(dlsym(library, "aoti_torch_get_current_cuda_stream"));
  TK_CHECK_RUNTIME(fn != nullptr, "tilekernels: this torch does not export aoti_torch_get_current_cuda_stream");
  return fn;
}

constexpr int kMaxDevices = 64;

}  // namespace

void check_cuda(cudaError_t status, const char* what) {
  TK_CHECK_RUNTIME(status == cudaSuccess, "tilekernels: ", what, " failed: ", cudaGetErrorName(status), " (",
                   cudaGetErrorString(status), ")");
}

cudaStream_t current_cuda_stream(int device_index) {
  static const GetCurrentCudaStream getter = resolve_stream_getter();
  void* stream = nullptr;
  TK_CHECK_RUNTIME(getter(device_index, &stream) == AOTI_TORCH_SUCCESS,
                   "tilekernels: could not get the current CUDA stream of device ", device_index);
  return static_cast<cudaStream_t>(stream);
}

const DeviceSpec& device_spec(int device_index) {
  static std::array<std::unique_ptr<DeviceSpec>, kMaxDevices> specs;
  static std::mutex mutex;
  TK_CHECK_RUNTIME(device_index >= 0 && device_index < kMaxDevices, "tilekernels: device index ", device_index,
                   " out of range");
  std::lock_guard<std::mutex> lock(mutex);
  if (!specs[device_index]) {
    cudaDeviceProp prop{};
    check_cuda(cudaGetDeviceProperties(&prop, device_index), "cudaGetDeviceProperties");
    auto spec = std::make_unique<DeviceSpec>();
    spec->name = prop.name;
    spec->arch = prop.major * 10 + prop.minor;
    spec->sm_count = prop.multiProcessorCount;
    spec->max_smem_per_block = static_cast<int>(prop.sharedMemPerBlockOptin);
    spec->smem_per_sm = static_cast<int>(prop.sharedMemPerMultiprocessor);
    spec->max_threads_per_sm = prop.maxThreadsPerMultiProcessor;
    spec->l2_bytes = prop.l2CacheSize;
    specs[device_index] = std::move(spec);
  }
  return *specs[device_index];
}

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
