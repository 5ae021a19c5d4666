#pragma once
// Named barriers (bar.sync id, count): synchronize a subset of a CTA's warps, e.g. one warpgroup of a
// warp-specialized kernel, without stopping the others. Barrier 0 is __syncthreads'.
#include <cstdint>

namespace tilekernels::ptx {

__device__ __forceinline__ void named_barrier_sync(uint32_t id, uint32_t threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// Arrives on barrier `id` without waiting: with `threads` counting the arriving and the syncing warps,
// one warpgroup signals another that waits in named_barrier_sync.
__device__ __forceinline__ void named_barrier_arrive(uint32_t id, uint32_t threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

}  // namespace tilekernels::ptx
