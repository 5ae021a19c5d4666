#pragma once
// Tuned configuration choices per kernel family: key (op, device, arch, dtype, precision, layout,
// shape) -> configuration id. Filled from Python (bundled tables, the user's cache, the autotuner);
// read by the bindings before they fall back to the heuristic. Torch-free, thread-safe.
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace tilekernels {

class TunedTable {
 public:
  static TunedTable& instance();

  void set(const std::string& family, const std::string& key, int config);
  std::optional<int> find(const std::string& family, const std::string& key) const;
  void clear(const std::string& family);
  std::map<std::string, int> entries(const std::string& family) const;

 private:
  TunedTable() = default;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, int>> families_;
};

}  // namespace tilekernels
