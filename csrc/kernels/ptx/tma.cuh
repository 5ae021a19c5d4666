#pragma once
// Bulk tensor copies (sm_90, "TMA"): one thread asks the copy engine for a box of a tensor that a
// tensor map (CUtensorMap, built on the host) describes; the box lands in shared memory in the map's
// swizzle, elements outside the tensor read as zero, and the bytes are counted on an mbarrier.
#include <cstdint>

namespace tilekernels::ptx {

// Loads the box at element coordinates (x, y, z) (x innermost) of the 3-D tensor map at generic
// address `map` (a __grid_constant__ kernel parameter) into shared memory at `dst`, completing
// its bytes on the mbarrier `bar`.
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const void* map, int32_t x, int32_t y, int32_t z,
                                            uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
      "[%5];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(z), "r"(bar)
      : "memory");
}

// Fetches a tensor map into the copy engine's cache ahead of its first use.
__device__ __forceinline__ void tma_prefetch_map(const void* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

}  // namespace tilekernels::ptx
