#pragma once
// Tensor maps (CUtensorMap) for the bulk tensor copies of sm_90 kernels. They are encoded on the host
// by the driver's cuTensorMapEncodeTiled, reached through the runtime's entry-point lookup so that the
// extension needs no link against libcuda (it loads where no driver is installed). Torch-free.
#include <cuda.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>

#include <cstdint>

namespace tilekernels {

inline constexpr int kMaxTensorMapRank = 5;

// A tensor of 16-bit elements (fp16 or bf16; or fp32) of `rank` dimensions, innermost (contiguous)
// first, seen as boxes of box[0] x box[1] x ... elements in the 128-byte swizzle (box[0] elements: at
// most 128 bytes). strides_bytes[i] is the distance
// between consecutive indices of dimension i + 1; a dimension of extent 1 may have any stride (the
// kernels index it with 0). Elements outside the tensor read as zero.
struct TensorMapDesc {
  const void* base = nullptr;
  bool bf16 = false;
  bool fp32 = false;  // fp32 elements (bf16 is then ignored)
  int rank = 0;
  uint64_t dims[kMaxTensorMapRank] = {};
  uint64_t strides_bytes[kMaxTensorMapRank - 1] = {};
  uint32_t box[kMaxTensorMapRank] = {};
};

// Whether a tensor map can describe it: a 16-byte aligned base, strides multiples of 16 bytes below
// 2^40, dims below 2^31 (kernels address boxes with 32-bit signed coordinates).
inline bool tensor_map_describes(const TensorMapDesc& t) {
  if (t.rank < 1 || t.rank > kMaxTensorMapRank || reinterpret_cast<uintptr_t>(t.base) % 16 != 0) return false;
  for (int i = 0; i < t.rank; ++i) {
    if (t.dims[i] < 1 || t.dims[i] >= (uint64_t{1} << 31)) return false;
  }
  for (int i = 0; i + 1 < t.rank; ++i) {
    if (t.strides_bytes[i] % 16 != 0 || t.strides_bytes[i] >= (uint64_t{1} << 40)) return false;
  }
  return true;
}

inline cudaError_t encode_tensor_map(const TensorMapDesc& t, CUtensorMap* map) {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  static const cudaError_t lookup = [] {
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    const cudaError_t err = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", reinterpret_cast<void**>(&encode),
                                                             12000, cudaEnableDefault, &found);
    return err != cudaSuccess ? err : found == cudaDriverEntryPointSuccess ? cudaSuccess : cudaErrorNotSupported;
  }();
  if (lookup != cudaSuccess) return lookup;
  if (!tensor_map_describes(t)) return cudaErrorInvalidValue;
  // The driver encodes in the calling thread's current context. A thread whose first CUDA work is this
  // call (autograd's backward threads) has none until the runtime makes the current device's primary
  // context current, which cudaSetDevice does.
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaSetDevice(device);
  if (err != cudaSuccess) return err;
  cuuint64_t dims[kMaxTensorMapRank], strides[kMaxTensorMapRank - 1];
  cuuint32_t box[kMaxTensorMapRank], element_strides[kMaxTensorMapRank];
  for (int i = 0; i < t.rank; ++i) {
    dims[i] = t.dims[i];
    box[i] = t.box[i];
    element_strides[i] = 1;
    if (i + 1 < t.rank) strides[i] = t.strides_bytes[i];
  }
  const CUresult result =
      encode(map,
             t.fp32   ? CU_TENSOR_MAP_DATA_TYPE_FLOAT32
             : t.bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                      : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
             static_cast<cuuint32_t>(t.rank), const_cast<void*>(t.base), dims, strides, box, element_strides,
             CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
             CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result == CUDA_ERROR_INVALID_CONTEXT || result == CUDA_ERROR_NOT_INITIALIZED) return cudaErrorInitializationError;
  return result == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

}  // namespace tilekernels
