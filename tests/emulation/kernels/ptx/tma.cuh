#pragma once
// Emulated bulk tensor copies (TMA) of 16-bit tensors in the 128-byte swizzle, and fp32 reductions. The drivers put an
// emu::TensorMap (what common/tensor_map.h would encode) into the CUtensorMap's bytes. A load copies
// the box at once, zero outside the tensor, and completes its bytes on the mbarrier.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/ptx/mbarrier.cuh"
#include "kernels/ptx/shared_address.cuh"

namespace emu {
struct TensorMap {
  const unsigned char* base;
  int rank;
  uint64_t dims[5];
  uint64_t strides_bytes[4];  // of dims 1..rank-1
  uint32_t box[5];
  int element_bytes;  // 2 (fp16 / bf16) or 4 (fp32)
};
static_assert(sizeof(TensorMap) <= 128, "fits a CUtensorMap");

// The 128-byte swizzle on a shared address: 16-byte chunk bits [4:6] XOR row bits [7:9].
inline uint32_t swizzle128(uint32_t addr) { return addr ^ (((addr >> 7) & 7u) << 4); }
}  // namespace emu

namespace tilekernels::ptx {
inline void tma_load(uint32_t dst, const void* map, const int32_t* coords, uint32_t bar) {
  emu::TensorMap m;
  std::memcpy(&m, map, sizeof(m));
  if (m.element_bytes != 2 || m.box[0] * 2 != 128 || dst % 1024 != 0) std::abort();  // one swizzle row per box row
  uint32_t rows = 1;
  for (int i = 1; i < m.rank; ++i) rows *= m.box[i];
  for (uint32_t r = 0; r < rows; ++r) {
    // Box row r: coordinates of dims 1.. (innermost first), then its 64 elements.
    int64_t offset = 0;
    bool inside = true;
    uint32_t rest = r;
    for (int i = 1; i < m.rank; ++i) {
      const int64_t c = coords[i] + static_cast<int64_t>(rest % m.box[i]);
      rest /= m.box[i];
      inside &= c >= 0 && c < static_cast<int64_t>(m.dims[i]);
      offset += c * static_cast<int64_t>(m.strides_bytes[i - 1]);
    }
    for (uint32_t e = 0; e < 64; ++e) {
      const int64_t x = coords[0] + e;
      uint16_t v = 0;
      if (inside && x >= 0 && x < static_cast<int64_t>(m.dims[0])) std::memcpy(&v, m.base + offset + 2 * x, 2);
      std::memcpy(shared_pointer(emu::swizzle128(dst + r * 128 + 2 * e)), &v, 2);
    }
  }
  mbarrier_complete_tx(bar, rows * 128);
}
inline void tma_load_3d(uint32_t dst, const void* map, int32_t x, int32_t y, int32_t z, uint32_t bar) {
  const int32_t c[3] = {x, y, z};
  tma_load(dst, map, c, bar);
}
inline void tma_load_4d(uint32_t dst, const void* map, int32_t x, int32_t y, int32_t z, int32_t w, uint32_t bar) {
  const int32_t c[4] = {x, y, z, w};
  tma_load(dst, map, c, bar);
}
inline void tma_load_3d_multicast(uint32_t, const void*, int32_t, int32_t, int32_t, uint32_t, uint16_t) { std::abort(); }
inline void bulk_load(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
  if (dst % 16 != 0 || reinterpret_cast<uintptr_t>(src) % 16 != 0 || bytes % 16 != 0) std::abort();
  std::memcpy(shared_pointer(dst), src, bytes);
  mbarrier_complete_tx(bar, bytes);
}
// Calls visit(global element, shared address of its box element) for each element of the box at `src`
// (rows of 128 bytes in the 128-byte swizzle, kElementBytes each) that lies inside the tensor at
// `coords` (innermost first; boxes one deep beyond dimension 1).
template <int kElementBytes, class Visit>
inline void for_each_box_element(const emu::TensorMap& m, uint32_t src, const int32_t* coords, Visit&& visit) {
  constexpr uint32_t kRowElements = 128 / kElementBytes;
  if (m.element_bytes != kElementBytes || m.rank < 2 || m.box[0] != kRowElements || src % 1024 != 0) std::abort();
  int64_t outer = 0;  // the offset of dimensions 2..
  for (int i = 2; i < m.rank; ++i) {
    if (m.box[i] != 1) std::abort();
    if (coords[i] < 0 || coords[i] >= static_cast<int64_t>(m.dims[i])) return;
    outer += coords[i] * static_cast<int64_t>(m.strides_bytes[i - 1]);
  }
  for (uint32_t r = 0; r < m.box[1]; ++r) {
    const int64_t row = coords[1] + r;
    if (row < 0 || row >= static_cast<int64_t>(m.dims[1])) continue;
    for (uint32_t e = 0; e < kRowElements; ++e) {
      const int64_t col = coords[0] + e;
      if (col < 0 || col >= static_cast<int64_t>(m.dims[0])) continue;
      visit(const_cast<unsigned char*>(m.base) + outer + row * m.strides_bytes[0] + kElementBytes * col,
            emu::swizzle128(src + r * 128 + kElementBytes * e));
    }
  }
}
// Stores a 16-bit box; elements outside the tensor are skipped.
inline void tma_store_now(const emu::TensorMap& m, uint32_t src, const int32_t* coords) {
  for_each_box_element<2>(m, src, coords, [](unsigned char* dst, uint32_t from) {
    std::memcpy(dst, shared_pointer(from), 2);
  });
}
// Adds an fp32 box; elements outside the tensor are skipped.
inline void tma_reduce_add_now(const emu::TensorMap& m, uint32_t src, const int32_t* coords) {
  for_each_box_element<4>(m, src, coords, [](unsigned char* dst, uint32_t from) {
    float x;
    std::memcpy(&x, shared_pointer(from), 4);
    std::atomic_ref<float>(*reinterpret_cast<float*>(dst)).fetch_add(x);  // other threads reduce here too
  });
}
// The store or reduction reads shared memory now or at the wait_group that covers it (emu::late).
template <void (*kWork)(const emu::TensorMap&, uint32_t, const int32_t*)>
inline void issue_bulk(const void* map, uint32_t src, const int32_t* coords) {
  emu::TensorMap m;
  std::memcpy(&m, map, sizeof(m));
  std::array<int32_t, 5> c{};
  for (int i = 0; i < m.rank; ++i) c[i] = coords[i];
  emu::bulk_stores.issue([m, src, c] { kWork(m, src, c.data()); });
}
inline void tma_store(const void* map, uint32_t src, const int32_t* coords) { issue_bulk<tma_store_now>(map, src, coords); }
inline void tma_store_3d(const void* map, uint32_t src, int32_t x, int32_t y, int32_t z) {
  const int32_t c[3] = {x, y, z};
  tma_store(map, src, c);
}
inline void tma_store_4d(const void* map, uint32_t src, int32_t x, int32_t y, int32_t z, int32_t w) {
  const int32_t c[4] = {x, y, z, w};
  tma_store(map, src, c);
}
inline void tma_reduce_add(const void* map, uint32_t src, const int32_t* coords) {
  issue_bulk<tma_reduce_add_now>(map, src, coords);
}
inline void tma_reduce_add_3d(const void* map, uint32_t src, int32_t x, int32_t y, int32_t z) {
  const int32_t c[3] = {x, y, z};
  tma_reduce_add(map, src, c);
}
inline void tma_store_commit() { emu::bulk_stores.commit(); }
template <int kPending>
inline void tma_store_wait_read() {
  emu::bulk_stores.wait(kPending);
}
template <int kPending>
inline void tma_store_wait() {
  emu::bulk_stores.wait(kPending);
}
inline void tma_prefetch_map(const void*) {}
}  // namespace tilekernels::ptx
