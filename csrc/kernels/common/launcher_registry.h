#pragma once
// Compiled kernel instances register their launchers here from static initializers, so a build that
// compiles only some instance files (TILEKERNELS_INSTANCES) still links, and the dispatcher can say
// exactly which (configuration, variant) pairs exist. Torch-free.
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace tilekernels {

// `Family` provides `using LaunchFn = ...;` (a plain function pointer type).
template <typename Family>
class LauncherRegistry {
 public:
  using LaunchFn = typename Family::LaunchFn;

  static LauncherRegistry& instance() {
    static LauncherRegistry registry;
    return registry;
  }

  bool add(int config, int variant, LaunchFn fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    launchers_[{config, variant}] = fn;
    return true;
  }

  // nullptr when that pair was not compiled into this build.
  LaunchFn find(int config, int variant) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = launchers_.find({config, variant});
    return it == launchers_.end() ? nullptr : it->second;
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
  std::map<std::pair<int, int>, LaunchFn> launchers_;
};

}  // namespace tilekernels
