#pragma once
// Values a launcher computes once per CUDA device and keeps: a kernel's shared-memory opt-in (a
// per-device function attribute), its resident CTAs, a device's L2 size. Shared by both kernel families.
// Torch-free.
#include <cuda_runtime.h>

#include <mutex>
#include <vector>

namespace tilekernels {

// Dynamic shared memory a kernel may use without opting in (a CUDA constant on every architecture).
inline constexpr int kDefaultDynamicSmemLimit = 48 * 1024;

// A value per CUDA device (by ordinal), computed the first time the current device asks:
// `compute(device, &value)` runs under the lock; a failure is returned and not kept, so the next call
// tries again. (T other than bool: vector<bool> has no element pointers.)
template <class T>
class PerDevice {
 public:
  template <class Compute>
  cudaError_t get(Compute compute, T* value) {
    int device = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess) return err;
    std::lock_guard<std::mutex> lock(mutex_);
    if (device >= static_cast<int>(known_.size())) {
      known_.resize(device + 1, false);
      values_.resize(device + 1);
    }
    if (!known_[device]) {
      err = compute(device, &values_[device]);
      if (err != cudaSuccess) return err;
      known_[device] = true;
    }
    *value = values_[device];
    return cudaSuccess;
  }

 private:
  std::mutex mutex_;
  std::vector<bool> known_;
  std::vector<T> values_;
};

// Opts kKernel into `bytes` of dynamic shared memory on the current device, once per device.
template <auto kKernel>
cudaError_t allow_dynamic_smem(int bytes) {
  if (bytes <= kDefaultDynamicSmemLimit) return cudaSuccess;
  static PerDevice<int> opted_in;  // the bytes kKernel was opted into
  int opted_bytes = 0;
  return opted_in.get(
      [&](int, int* value) {
        *value = bytes;
        return cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
      },
      &opted_bytes);
}

// CTAs of kKernel that the current device holds at once (SMs x resident CTAs per SM), once per device:
// the grid of a persistent launch.
template <auto kKernel>
cudaError_t resident_ctas(int threads, int smem_bytes, int64_t* ctas) {
  static PerDevice<int64_t> resident;
  return resident.get(
      [&](int device, int64_t* count) {
        int sms = 0, per_sm = 0;
        cudaError_t err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
        if (err != cudaSuccess) return err;
        err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kKernel, threads, smem_bytes);
        if (err != cudaSuccess) return err;
        if (per_sm < 1) return cudaErrorInvalidConfiguration;
        *count = static_cast<int64_t>(sms) * per_sm;
        return cudaSuccess;
      },
      ctas);
}

// The current device's L2 bytes, looked up once per device.
inline cudaError_t l2_cache_bytes(int* bytes) {
  static PerDevice<int> l2;
  return l2.get([](int device, int* value) { return cudaDeviceGetAttribute(value, cudaDevAttrL2CacheSize, device); },
                bytes);
}

}  // namespace tilekernels
