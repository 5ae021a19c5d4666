#pragma once
// First-call choice of an attention configuration: the smallest compiled head dim that serves the
// call, then the largest query tile that still gives every SM work. Torch-free.
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
  int best = -1;
  int64_t best_ctas = 0;
  bool best_fills = false;
  for (int id : candidates) {
    const TileConfig& c = kTileConfigs[id];
    if (c.head_dim != smallest_dim) continue;
    const int64_t ctas = p.batch * p.heads_q * ((p.seq_q + c.block_q - 1) / c.block_q);
    const bool fills = ctas >= device.sm_count;
    // Prefer tiles that fill the GPU; among those the largest (most K/V reuse), else the most CTAs.
    const bool better = best < 0 || (fills && !best_fills) ||
                        (fills == best_fills && (fills ? c.block_q > kTileConfigs[best].block_q
                                                       : ctas > best_ctas));
    if (better) {
      best = id;
      best_ctas = ctas;
      best_fills = fills;
    }
  }
  if (reason && best >= 0) {
    *reason = "heuristic: head dim " + std::to_string(smallest_dim) + " kernel, " + std::to_string(best_ctas) +
              " CTAs over " + std::to_string(device.sm_count) + " SMs" +
              (best_fills ? " (largest query tile that fills the GPU)" : " (most CTAs; the GPU is not full)");
  }
  return best;
}

}  // namespace tilekernels::attention
