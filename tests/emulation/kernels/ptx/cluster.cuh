#pragma once
// Emulated clusters of one CTA (the emulator runs no multi-CTA clusters).
#include <cstdint>
#include <cstdlib>

namespace tilekernels::ptx {
inline uint32_t cluster_cta_rank() { return 0; }
inline void cluster_sync() { std::abort(); }
inline uint32_t map_shared_to_cta(uint32_t, uint32_t) { std::abort(); }
inline void mbarrier_arrive_cluster(uint32_t) { std::abort(); }
}  // namespace tilekernels::ptx
