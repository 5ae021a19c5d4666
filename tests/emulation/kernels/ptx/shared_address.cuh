#pragma once
// Emulated: shared-window addresses are offsets into emu::shared_memory.
#include <cstdint>

namespace tilekernels::ptx {
inline uint32_t shared_address(const void* ptr) {
  return static_cast<uint32_t>(static_cast<const unsigned char*>(ptr) - emu::shared_memory);
}
inline unsigned char* shared_pointer(uint32_t addr) { return emu::shared_memory + addr; }
}  // namespace tilekernels::ptx
