#pragma once
// Compiled kernel instances register their launchers here from static initializers, so a build that
// compiles only some instance files (TILEKERNELS_INSTANCES) still links, and the dispatcher can say
// exactly which (configuration, variant) pairs exist, and what each needs to run. Torch-free.
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace tilekernels {

// What a compiled instance needs from the GPU, taken from the kernel's own layout when it registers.
struct KernelResources {
  int threads = 0;     // per CTA
  int smem_bytes = 0;  // dynamic shared memory per CTA, exactly what the launch asks for
};

// `Family` provides `using LaunchFn = ...;` (a plain function pointer type).
template <typename Family>
class LauncherRegistry {
 public:
  using LaunchFn = typename Family::LaunchFn;

  static LauncherRegistry& instance() {
    static LauncherRegistry registry;
    return registry;
  }

  bool add(int config, int variant, LaunchFn fn, KernelResources resources = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    launchers_[{config, variant}] = {fn, resources};
    return true;
  }

  // nullptr when that pair was not compiled into this build.
  LaunchFn find(int config, int variant) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = launchers_.find({config, variant});
    return it == launchers_.end() ? nullptr : it->second.launch;
  }

  // The resources of that pair as it registered them; false when it was not compiled.
  bool resources(int config, int variant, KernelResources* out) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = launchers_.find({config, variant});
    if (it == launchers_.end()) return false;
    *out = it->second.resources;
    return true;
  }

  std::vector<std::pair<int, int>> compiled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<int, int>> keys;
    for (const auto& entry : launchers_) keys.push_back(entry.first);
    return keys;
  }

 private:
  LauncherRegistry() = default;
  mutable std::mutex mutex_;
  struct Entry {
    LaunchFn launch;
    KernelResources resources;
  };
  std::map<std::pair<int, int>, Entry> launchers_;
};

}  // namespace tilekernels
