// The emulated TMA's tensor maps (kernels/ptx/tma.cuh): what the library's host code describes
// (common/tensor_map.h), put into a CUtensorMap's bytes instead of the driver's encoding.
#pragma once
#include <cstdlib>
#include <cstring>

#include "kernels/common/tensor_map.h"
#include "kernels/ptx/tma.cuh"

namespace emu {
inline CUtensorMap emulated_map(const tilekernels::TensorMapDesc& desc) {
  if (desc.rank == 0) std::abort();
  TensorMap m{static_cast<const unsigned char*>(desc.base), desc.rank, {}, {}, {}, desc.fp32 ? 4 : 2};
  for (int i = 0; i < desc.rank; ++i) {
    m.dims[i] = desc.dims[i];
    m.box[i] = desc.box[i];
    if (i + 1 < desc.rank) m.strides_bytes[i] = desc.strides_bytes[i];
  }
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  std::memcpy(&map, &m, sizeof(m));
  return map;
}
}  // namespace emu
