#pragma once
// Emulated mbarrier: per shared address, the arrivals and transaction bytes the current phase still
// waits for; a phase completes when both reach zero. Waits block until the phase of the given parity
// has completed (a fresh barrier is in phase 0: waiting on parity 1 returns at once).
#include <cstdint>
#include <cstdlib>

namespace tilekernels::ptx {
inline void mbarrier_update(uint32_t bar, int arrivals, int64_t tx_bytes) {
  std::lock_guard<std::mutex> lock(emu::cta->mbarrier_mutex);
  auto it = emu::cta->mbarriers.find(bar);
  if (it == emu::cta->mbarriers.end()) std::abort();  // not initialized
  emu::MBarrier& b = it->second;
  b.pending -= arrivals;
  b.tx += tx_bytes;
  if (b.pending < 0) std::abort();  // more arrivals than the phase expects
  if (b.pending == 0 && b.tx == 0) {
    b.pending = b.expected;
    b.phase ^= 1;
    emu::cta->mbarrier_changed.notify_all();
  }
}
inline void mbarrier_init(uint32_t bar, uint32_t arrivals) {
  std::lock_guard<std::mutex> lock(emu::cta->mbarrier_mutex);
  emu::cta->mbarriers[bar] = emu::MBarrier{static_cast<int>(arrivals), static_cast<int>(arrivals), 0, 0};
}
inline void fence_mbarrier_init() {}
inline void mbarrier_arrive_expect_tx(uint32_t bar, uint32_t bytes) { mbarrier_update(bar, 1, bytes); }
inline void mbarrier_arrive(uint32_t bar) { mbarrier_update(bar, 1, 0); }
inline void mbarrier_complete_tx(uint32_t bar, uint32_t bytes) { mbarrier_update(bar, 0, -static_cast<int64_t>(bytes)); }
inline void mbarrier_wait(uint32_t bar, uint32_t parity) {
  std::unique_lock<std::mutex> lock(emu::cta->mbarrier_mutex);
  emu::cta->mbarrier_changed.wait(lock, [&] {
    auto it = emu::cta->mbarriers.find(bar);
    if (it == emu::cta->mbarriers.end()) std::abort();
    return it->second.phase != parity;
  });
}
}  // namespace tilekernels::ptx
