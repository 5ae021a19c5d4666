#pragma once
// Emulated named barriers: `threads` counts the syncing and the arriving threads.
#include <cstdint>

namespace tilekernels::ptx {
inline void named_barrier_sync(uint32_t id, uint32_t threads) { emu::cta->named[id].arrive(static_cast<int>(threads), true); }
inline void named_barrier_arrive(uint32_t id, uint32_t threads) { emu::cta->named[id].arrive(static_cast<int>(threads), false); }
}  // namespace tilekernels::ptx
