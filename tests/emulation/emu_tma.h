// The emulated TMA's tensor maps (kernels/ptx/tma.cuh): what the library's host code describes
// (common/tensor_map.h), put into a CUtensorMap's bytes instead of the driver's encoding.
#pragma once
#include <cstdlib>
#include <cstring>

#include "kernels/common/tensor_map.h"
#include "kernels/ptx/tma.cuh"

namespace emu {
inline CUtensorMap emulated_map(const tilekernels::TensorMap3d& desc) {
  TensorMap m{static_cast<const unsigned char*>(desc.base), 3, {desc.dims[0], desc.dims[1], desc.dims[2]},
              {desc.row_stride_bytes, desc.batch_stride_bytes}, {desc.box_x, desc.box_y, 1}};
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  std::memcpy(&map, &m, sizeof(m));
  return map;
}
}  // namespace emu
