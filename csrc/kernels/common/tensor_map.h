#pragma once
// Tensor maps (CUtensorMap) for the bulk tensor copies of sm_90 kernels. They are encoded on the host
// by the driver's cuTensorMapEncodeTiled, reached through the runtime's entry-point lookup so that the
// extension needs no link against libcuda (it loads where no driver is installed). Torch-free.
#include <cuda.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>

#include <cstdint>

namespace tilekernels {

// A 3-D tensor of 16-bit elements (fp16 or bf16) seen as boxes of box_x x box_y x 1 elements in the
// 128-byte swizzle: dims are innermost first (the contiguous one, the rows, the batch), strides the
// bytes between rows and between batch items. Elements outside the tensor read as zero.
struct TensorMap3d {
  const void* base;
  bool bf16;
  uint64_t dims[3];
  uint64_t row_stride_bytes, batch_stride_bytes;
  uint32_t box_x, box_y;
};

// Whether a tensor map can describe it: a 16-byte aligned base, strides multiples of 16 bytes below
// 2^40, dims below 2^31 (kernels address boxes with 32-bit signed coordinates).
inline bool tensor_map_describes(const TensorMap3d& t) {
  const uint64_t limit = uint64_t{1} << 40;
  return reinterpret_cast<uintptr_t>(t.base) % 16 == 0 && t.row_stride_bytes % 16 == 0 &&
         t.batch_stride_bytes % 16 == 0 && t.row_stride_bytes < limit && t.batch_stride_bytes < limit &&
         t.dims[0] < (uint64_t{1} << 31) && t.dims[1] < (uint64_t{1} << 31) && t.dims[2] < (uint64_t{1} << 31);
}

inline cudaError_t encode_tensor_map(const TensorMap3d& t, CUtensorMap* map) {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  static const cudaError_t lookup = [] {
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    const cudaError_t err = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", reinterpret_cast<void**>(&encode),
                                                             12000, cudaEnableDefault, &found);
    return err != cudaSuccess ? err : found == cudaDriverEntryPointSuccess ? cudaSuccess : cudaErrorNotSupported;
  }();
  if (lookup != cudaSuccess) return lookup;
  if (!tensor_map_describes(t)) return cudaErrorInvalidValue;
  const cuuint64_t dims[3] = {t.dims[0], t.dims[1], t.dims[2]};
  const cuuint64_t strides[2] = {t.row_stride_bytes, t.batch_stride_bytes};
  const cuuint32_t box[3] = {t.box_x, t.box_y, 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult result =
      encode(map, t.bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3, const_cast<void*>(t.base),
             dims, strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
             CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return result == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

}  // namespace tilekernels
