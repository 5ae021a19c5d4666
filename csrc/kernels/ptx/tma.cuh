#pragma once
// Bulk tensor copies (sm_90, "TMA"): one thread asks the copy engine for a box of a tensor that a
// tensor map (CUtensorMap, built on the host) describes. Loads land in shared memory in the map's
// swizzle, elements outside the tensor read as zero, and the bytes are counted on an mbarrier. Stores
// read a box from shared memory (in the map's swizzle) and skip elements outside the tensor; they are
// tracked per thread in bulk groups.
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

// The 4-D form (x, y, z, w), e.g. (column, row, head, batch) of an attention operand.
__device__ __forceinline__ void tma_load_4d(uint32_t dst, const void* map, int32_t x, int32_t y, int32_t z, int32_t w,
                                            uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, "
      "%5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(z), "r"(w), "r"(bar)
      : "memory");
}

// The same box, written at shared address `dst` of every CTA of the cluster in `cta_mask` (bit i: rank
// i), each completing its bytes on its own mbarrier at address `bar`.
__device__ __forceinline__ void tma_load_3d_multicast(uint32_t dst, const void* map, int32_t x, int32_t y, int32_t z,
                                                      uint32_t bar, uint16_t cta_mask) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster [%0], "
      "[%1, {%2, %3, %4}], [%5], %6;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(z), "r"(bar), "h"(cta_mask)
      : "memory");
}

// A plain bulk copy of `bytes` (a multiple of 16) contiguous bytes from global `src` to shared `dst`
// (both 16-byte aligned), completing them on the mbarrier `bar`. No tensor map: nothing is zero-filled.
__device__ __forceinline__ void bulk_load(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
               "l"(reinterpret_cast<uint64_t>(src)), "r"(bytes), "r"(bar)
               : "memory");
}

// Stores the box at shared-memory address `src` to element coordinates (x, y, z) of the tensor that
// `map` describes. Shared-memory writes before it need fence_proxy_async_shared() (wgmma.cuh) first.
__device__ __forceinline__ void tma_store_3d(const void* map, uint32_t src, int32_t x, int32_t y, int32_t z) {
  asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%2, %3, %4}], [%1];\n" ::"l"(
                   reinterpret_cast<uint64_t>(map)),
               "r"(src), "r"(x), "r"(y), "r"(z)
               : "memory");
}

// The 4-D form (x, y, z, w).
__device__ __forceinline__ void tma_store_4d(const void* map, uint32_t src, int32_t x, int32_t y, int32_t z, int32_t w) {
  asm volatile("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group [%0, {%2, %3, %4, %5}], [%1];\n" ::"l"(
                   reinterpret_cast<uint64_t>(map)),
               "r"(src), "r"(x), "r"(y), "r"(z), "r"(w)
               : "memory");
}

// Adds the fp32 box at shared-memory address `src` to element coordinates (x, y, z) of the tensor that
// `map` describes (reductions in L2, atomic per element; elements outside the tensor are skipped).
// Tracked in bulk groups as the stores are.
__device__ __forceinline__ void tma_reduce_add_3d(const void* map, uint32_t src, int32_t x, int32_t y, int32_t z) {
  asm volatile("cp.reduce.async.bulk.tensor.3d.global.shared::cta.add.tile.bulk_group [%0, {%2, %3, %4}], [%1];\n" ::"l"(
                   reinterpret_cast<uint64_t>(map)),
               "r"(src), "r"(x), "r"(y), "r"(z)
               : "memory");
}

// Closes this thread's bulk stores issued since the last commit into one group.
__device__ __forceinline__ void tma_store_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }

// Returns once at most kPending of this thread's committed store groups still read shared memory
// (their sources may be overwritten).
template <int kPending>
__device__ __forceinline__ void tma_store_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(kPending) : "memory");
}

// Returns once at most kPending of this thread's committed store groups are incomplete (written to
// global memory).
template <int kPending>
__device__ __forceinline__ void tma_store_wait() {
  asm volatile("cp.async.bulk.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Fetches a tensor map into the copy engine's cache ahead of its first use.
__device__ __forceinline__ void tma_prefetch_map(const void* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

}  // namespace tilekernels::ptx
