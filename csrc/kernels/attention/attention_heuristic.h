#pragma once
// First-call choice of an attention configuration: the smallest compiled head dim that serves the
// call, then the best-ranked row (TileConfig::preference) of that group that gives every SM work.
// Torch-free.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/attention_params.h"
#include "kernels/common/device_spec.h"

namespace tilekernels::attention {

inline int choose_config(const Params& p, const DeviceSpec& device, const std::vector<int>& candidates,
                         std::string* reason) {
  int smallest_dim = 0;
  for (int id : candidates) {
    const int d = kTileConfigs[id].head_dim;
    if (smallest_dim == 0 || d < smallest_dim) smallest_dim = d;
  }
  std::vector<int> ranked;
  for (int id : candidates) {
    if (kTileConfigs[id].head_dim == smallest_dim) ranked.push_back(id);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](int a, int b) { return kTileConfigs[a].preference < kTileConfigs[b].preference; });
  int best = -1;
  int64_t best_ctas = 0;
  for (int id : ranked) {
    const TileConfig& c = kTileConfigs[id];
    const int64_t ctas = p.batch * p.heads_q * ((p.seq_q + c.block_q() - 1) / c.block_q());
    if (ctas >= device.sm_count) {  // the best-ranked row that fills the GPU
      best = id;
      best_ctas = ctas;
      break;
    }
    if (best < 0 || ctas > best_ctas) {  // otherwise the row with the most CTAs
      best = id;
      best_ctas = ctas;
    }
  }
  if (reason && best >= 0) {
    *reason = "heuristic: head dim " + std::to_string(smallest_dim) + " group, " +
              (best_ctas >= device.sm_count ? "best-ranked row that fills the GPU (" : "the row with the most CTAs (") +
              std::to_string(best_ctas) + " CTAs over " + std::to_string(device.sm_count) + " SMs)";
  }
  return best;
}

}  // namespace tilekernels::attention
