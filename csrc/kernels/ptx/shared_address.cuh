#pragma once
// cvta.to.shared: 32-bit shared-window addresses, as ldmatrix / cp.async / ld.shared expect them.
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ uint32_t shared_address(const void* ptr) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(ptr));
}

}  // namespace tilekernels::ptx
