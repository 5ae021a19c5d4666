// Host emulation of the CUDA execution model, enough to run the mma.sync kernels of csrc/kernels on
// the CPU (tests/test_emulation.py): one OS thread per CUDA thread, the CTAs of a launch one after
// another, warp-collective instructions (shuffles, ldmatrix, mma) through per-warp scratch and
// barriers. kernels/ptx/ here replaces csrc's PTX wrappers (include it first); asynchronous copies
// and wgmma complete at once or as late as allowed (emu::late), two schedules a kernel must both allow.
// Shared memory is poisoned (0xff: NaN in every float format) before each CTA.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <map>
#include <mutex>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __shared__
#undef __align__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __restrict__
#define asm(...)

struct EmuDim {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local EmuDim threadIdx, blockIdx, gridDim;

namespace emu {

inline constexpr int kSmemBytes = 1 << 18;
inline unsigned char* shared_memory = nullptr;  // the kernels' extern shared array (drivers set it)

// When asynchronous work completes: at once (false), or as late as the program allows (true):
// cp.async copies land at the wait_group that covers them, wgmma run at the wait that retires them.
// A correct kernel works under both; reading a copy's destination or a wgmma's accumulators before
// the wait, or overwriting their operands before it, shows up under the late one.
inline bool late = false;

// A thread's asynchronous work of one kind, in commit groups (oldest first).
struct AsyncGroups {
  std::vector<std::function<void()>> open;
  std::vector<std::vector<std::function<void()>>> committed;
  void issue(std::function<void()> work) {
    if (late) open.push_back(std::move(work));
    else work();
  }
  void commit() {
    committed.push_back(std::move(open));
    open.clear();
  }
  void wait(size_t pending) {
    while (committed.size() > pending) {
      for (auto& work : committed.front()) work();
      committed.erase(committed.begin());
    }
  }
  void clear() {
    open.clear();
    committed.clear();
  }
};
// Bulk tensor stores and reductions read shared memory when issued or at the wait_group.read that
// covers them (late): overwriting a staging area before that wait shows up under the late schedule.
inline thread_local AsyncGroups copies, wgmmas, bulk_stores;

// A barrier over `count` threads that some arrive at without waiting (named barriers, bar.arrive).
struct CountingBarrier {
  std::mutex mutex;
  std::condition_variable changed;
  int count = 0, arrived = 0;
  uint64_t generation = 0;
  void arrive(int threads, bool wait) {
    std::unique_lock<std::mutex> lock(mutex);
    if (count == 0) count = threads;
    if (count != threads) std::abort();  // the same barrier used with two thread counts at once
    const uint64_t mine = generation;
    if (++arrived == count) {
      arrived = 0;
      count = 0;
      ++generation;
      changed.notify_all();
    } else if (wait) {
      changed.wait(lock, [&] { return generation != mine; });
    }
  }
};

// mbarrier: arrivals and transaction bytes of the current phase.
struct MBarrier {
  int expected = 0, pending = 0;
  int64_t tx = 0;
  uint32_t phase = 0;
};

struct Cta {
  std::unique_ptr<std::barrier<>> all, launch;  // __syncthreads'; the launch loop's, between CTAs
  std::vector<std::unique_ptr<std::barrier<>>> warps, warpgroups;
  uint64_t scratch[32][32][8];            // [warp][lane][words]
  float group_scratch[8][128][136];       // [warpgroup][thread][accumulators, A fragment]
  CountingBarrier named[16];
  std::atomic<int> any_flag{0};  // __syncthreads_or
  std::mutex mbarrier_mutex;
  std::condition_variable mbarrier_changed;
  std::map<uint32_t, MBarrier> mbarriers;  // by shared address
};
inline Cta* cta = nullptr;

inline int warp_id() { return static_cast<int>(threadIdx.x / 32); }
inline int lane_id() { return static_cast<int>(threadIdx.x % 32); }
inline void warp_sync() { cta->warps[warp_id()]->arrive_and_wait(); }
inline uint64_t* my_scratch() { return cta->scratch[warp_id()][lane_id()]; }
inline uint64_t* lane_scratch(int lane) { return cta->scratch[warp_id()][lane]; }
inline int warpgroup_id() { return static_cast<int>(threadIdx.x / 128); }
inline void warpgroup_sync() { cta->warpgroups[warpgroup_id()]->arrive_and_wait(); }
inline float* group_scratch(int thread_in_group) { return cta->group_scratch[warpgroup_id()][thread_in_group]; }

// Runs body() as `threads` CUDA threads of each CTA of a grid of x by y CTAs (blockIdx.y slowest).
template <class Body>
void launch(EmuDim grid, int threads, Body body) {
  auto c = std::make_unique<Cta>();
  c->all = std::make_unique<std::barrier<>>(threads);
  c->launch = std::make_unique<std::barrier<>>(threads);
  for (int w = 0; w < threads / 32; ++w) c->warps.push_back(std::make_unique<std::barrier<>>(32));
  for (int g = 0; g < (threads + 127) / 128; ++g) c->warpgroups.push_back(std::make_unique<std::barrier<>>(std::min(128, threads - 128 * g)));
  cta = c.get();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      threadIdx.x = static_cast<unsigned>(t);
      for (unsigned b = 0; b < grid.x * grid.y; ++b) {
        if (t == 0) {
          std::memset(shared_memory, 0xff, kSmemBytes);
          cta->mbarriers.clear();
        }
        cta->launch->arrive_and_wait();
        blockIdx.x = b % grid.x;
        blockIdx.y = b / grid.x;
        gridDim.x = grid.x;
        gridDim.y = grid.y;
        gridDim.z = 1;
        copies.clear();
        wgmmas.clear();
        bulk_stores.clear();
        body();
        if (!bulk_stores.open.empty() || !bulk_stores.committed.empty()) {
          std::fprintf(stderr, "bulk stores outstanding when a thread left its CTA (no wait_group)\n");
          std::abort();
        }
        cta->launch->arrive_and_wait();
      }
    });
  }
  for (auto& t : pool) t.join();
  cta = nullptr;
}

// A one-dimensional grid.
template <class Body>
void launch(unsigned grid, int threads, Body body) {
  launch(EmuDim{grid, 1, 1}, threads, body);
}

}  // namespace emu

inline void __syncthreads() { emu::cta->all->arrive_and_wait(); }
inline int __syncthreads_or(int predicate) {
  if (predicate) emu::cta->any_flag.fetch_or(1);
  __syncthreads();
  const int any = emu::cta->any_flag.load();
  __syncthreads();
  if (threadIdx.x == 0) emu::cta->any_flag.store(0);
  __syncthreads();
  return any;
}
inline void __syncwarp() { emu::warp_sync(); }

template <class T>
T __shfl_xor_sync(unsigned, T v, int mask) {
  static_assert(sizeof(T) <= 8, "one scratch word per lane");
  std::memcpy(emu::my_scratch(), &v, sizeof(T));
  emu::warp_sync();
  T r;
  std::memcpy(&r, emu::lane_scratch(emu::lane_id() ^ mask), sizeof(T));
  emu::warp_sync();
  return r;
}

inline bool __any_sync(unsigned, bool p) {
  emu::my_scratch()[0] = p;
  emu::warp_sync();
  bool any = false;
  for (int l = 0; l < 32; ++l) any |= emu::lane_scratch(l)[0] != 0;
  emu::warp_sync();
  return any;
}

using std::max;
using std::min;
inline float __fdividef(float a, float b) { return a / b; }
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
