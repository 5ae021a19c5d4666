#pragma once
// Emulated red.global.add.f32 (scalar and .v2): atomic fp32 additions (CTAs of one launch may run on
// several host threads).
#include <atomic>

namespace tilekernels::ptx {
inline void red_add_f32(float* address, float value) { std::atomic_ref<float>(*address).fetch_add(value); }

inline void red_add_f32x2(float* address, float first, float second) {
  red_add_f32(address, first);
  red_add_f32(address + 1, second);
}
}  // namespace tilekernels::ptx
