#pragma once
// Thread block clusters (sm_90): the CTAs of a cluster run at once on one GPC and reach each other's
// shared memory. Addresses of another CTA's shared memory are shared::cluster addresses (mapa);
// barrier.cluster synchronizes every thread of every CTA of the cluster.
#include <cstdint>

namespace tilekernels::ptx {

// This CTA's rank in its cluster.
__device__ __forceinline__ uint32_t cluster_cta_rank() {
  uint32_t rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(rank));
  return rank;
}

// Every thread of the cluster's CTAs: returns once all have arrived; shared-memory writes (barrier
// initializations included) before it are visible to the whole cluster after it.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

// The shared::cluster address of the variable at this CTA's shared address `addr` in CTA `rank`.
__device__ __forceinline__ uint32_t map_shared_to_cta(uint32_t addr, uint32_t rank) {
  uint32_t mapped;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(mapped) : "r"(addr), "r"(rank));
  return mapped;
}

// One arrival on the mbarrier at shared::cluster address `bar` (this or another CTA's). Default
// (CTA-scope) semantics: it orders no memory accesses for the other CTA, which is all that releasing a
// stage needs once wgmma.wait_group has retired the reads of it (a cluster-scope release costs a
// GPU-wide memory barrier per arrival).
__device__ __forceinline__ void mbarrier_arrive_cluster(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cluster.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

}  // namespace tilekernels::ptx
