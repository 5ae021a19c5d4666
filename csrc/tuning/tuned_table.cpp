#include "tuning/tuned_table.h"

namespace tilekernels {

TunedTable& TunedTable::instance() {
  static TunedTable table;
  return table;
}

void TunedTable::set(const std::string& family, const std::string& key, int config) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[family][key] = config;
}

std::optional<int> TunedTable::find(const std::string& family, const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto family_it = families_.find(family);
  if (family_it == families_.end()) return std::nullopt;
  auto it = family_it->second.find(key);
  if (it == family_it->second.end()) return std::nullopt;
  return it->second;
}

void TunedTable::clear(const std::string& family) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_.erase(family);
}

std::map<std::string, int> TunedTable::entries(const std::string& family) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = families_.find(family);
  return it == families_.end() ? std::map<std::string, int>{} : it->second;
}

}  // namespace tilekernels
