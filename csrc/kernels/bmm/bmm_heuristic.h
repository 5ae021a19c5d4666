#pragma once
// First-call choice of a bmm configuration, before (or without) autotuning: a cost model of waves
// over the SMs, tile waste on the edges, and whether the problem is bound by memory or arithmetic.
// Torch-free.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_launch.h"
#include "kernels/bmm/bmm_params.h"
#include "kernels/common/device_spec.h"

namespace tilekernels::bmm {

// Arithmetic intensity (FLOP per byte of device memory) at which each math mode stops being memory
// bound on current datacenter GPUs; only the ratio between the two cost terms depends on it, and the
// autotuner corrects what this rough model gets wrong.
inline double machine_balance(MathMode math) {
  switch (math) {
    case MathMode::kFp16:
    case MathMode::kBf16: return 200.0;
    case MathMode::kTf32: return 100.0;
    case MathMode::kTf32x3: return 35.0;
    case MathMode::kFp16x3: return 70.0;
    case MathMode::kFfma: return 20.0;
  }
  return 100.0;
}

// A tile computes at full rate once its per-k-step intensity bm*bn/(bm+bn) reaches this.
inline constexpr double kSaturatingTileIntensity = 64.0;

// CTAs of a configuration that fit on an SM at once, by its kernel's shared memory for the call's
// layout (from the registry; an uncompiled pair counts as using none).
inline int resident_ctas(int id, const Params& p, const DeviceSpec& device) {
  const TileConfig& config = kTileConfigs[id];
  KernelResources resources;
  const int smem = compiled_resources(id, p.a_k_major, p.b_k_major, &resources) ? resources.smem_bytes : 0;
  const int by_smem = smem > 0 ? device.smem_per_sm / smem : 32;
  const int by_threads = device.max_threads_per_sm / config.threads();
  return std::max(1, std::min(by_smem, by_threads));
}

// Tensor-core rate of a row's engine relative to mma.sync: wgmma issues twice the products per cycle.
// The fp16 / bf16 TMA rows measured 1.36-1.7x the mma.sync rows on long k (H200: kb3, sq4k). Those
// that store C directly lost on k <= 128 (q k^T, skinny), where their stores are most of the work:
// rated 1.35x from four k tiles on, 1.0x (no better than mma.sync) below. Those that store via TMA
// won there too (q k^T 1.6x, skinny 1.4x the best mma.sync row): 1.35x at any k.
inline double engine_speedup(const TileConfig& config, const Params& p) {
  if (config.uses_tma()) return config.store_via_tma || p.k >= 4 * config.block_k ? 1.35 : 1.0;
  return config.is_wgmma() ? 2.0 : 1.0;
}

// CTAs of one launch: output tiles over all batch items (in the transposed frame where the row runs so).
inline double tile_count(const TileConfig& config, const Params& p) {
  const bool transposed = config.runs_transposed(p.b_k_major);
  const int64_t m = transposed ? p.n : p.m, n = transposed ? p.m : p.n;
  return static_cast<double>(p.batch) * ((m + config.block_m - 1) / config.block_m) *
         ((n + config.block_n - 1) / config.block_n);
}

// The two terms of a configuration's estimated time, in arbitrary units (lower is better).
struct CostTerms {
  double compute, memory;
  double total() const { return std::max(compute, memory); }
  bool memory_bound() const { return memory >= compute; }
};

inline CostTerms cost_terms(int id, const Params& p, const DeviceSpec& device) {
  const TileConfig& config = kTileConfigs[id];
  const double tiles = tile_count(config, p);
  const double k_padded = std::ceil(static_cast<double>(p.k) / config.block_k) * config.block_k;

  // Arithmetic: each SM works through its share of tiles; a partial last wave costs a full one.
  const int resident = resident_ctas(id, p, device);  // one registry lookup per row
  const double slots = static_cast<double>(device.sm_count) * resident;
  const double waves = std::ceil(tiles / slots);
  const double intensity = double(config.block_m) * config.block_n / (config.block_m + config.block_n);
  const double efficiency = std::min(1.0, intensity / kSaturatingTileIntensity);
  // FLOPs one SM must get through, at the full rate of this math mode.
  const double compute = waves * resident * 2.0 * config.block_m * config.block_n * k_padded /
                         (efficiency * engine_speedup(config, p));

  // Memory, in the same FLOP units: every tile streams its A and B panels once, C is written once,
  // all spread over the SMs.
  const double element = math_mode_element_bytes(config.math);
  const double bytes =
      tiles * (config.block_m + config.block_n) * k_padded * element + double(p.batch) * p.m * p.n * element;
  const double memory = bytes * machine_balance(config.math) / device.sm_count;

  return {compute, memory};
}

inline double estimated_cost(int id, const Params& p, const DeviceSpec& device) {
  return cost_terms(id, p, device).total();
}

// The model does not see what a persistent row saves (its next tile's loads under this tile's
// stores), nor what storing via TMA adds (the stores under the next tile's products), so among rows of
// one engine and equal cost the higher rank wins: on the H100 fp32 suite keys that a wgmma row won,
// the tuner picked the persistent one 7 times out of 10.
inline int overlap_rank(const TileConfig& config) {
  return (config.persistent ? 1 : 0) + (config.store_via_tma ? 1 : 0);
}

// Picks the cheapest candidate; `reason` says why.
inline int choose_config(const Params& p, const DeviceSpec& device, const std::vector<int>& candidates,
                         std::string* reason) {
  // A whole-k row keeps two CTAs per SM, so one's stores of C run under the other's loads, which the
  // model does not see: on the write-bound q k^T (k = 64) it took 0.239 ms against 0.273 for the
  // cheapest pipelined row. Where one serves a memory-bound call, only whole-k rows compete.
  std::vector<int> whole_k;
  for (int id : candidates) {
    const TileConfig& config = kTileConfigs[id];
    if (config.holds_whole_k() && cost_terms(id, p, device).memory_bound()) whole_k.push_back(id);
  }
  const std::vector<int>& competing = whole_k.empty() ? candidates : whole_k;

  int best = -1;
  double best_cost = 0.0;
  for (int id : competing) {
    const double cost = estimated_cost(id, p, device);
    const bool preferred_twin = best >= 0 && cost == best_cost &&
                                kTileConfigs[id].engine == kTileConfigs[best].engine &&
                                overlap_rank(kTileConfigs[id]) > overlap_rank(kTileConfigs[best]);
    if (best < 0 || cost < best_cost || preferred_twin) {
      best = id;
      best_cost = cost;
    }
  }
  if (reason && best >= 0) {
    const TileConfig& c = kTileConfigs[best];
    const double tiles = tile_count(c, p);
    *reason = std::string(whole_k.empty() ? "heuristic: " : "heuristic: whole-k rows first (memory bound): ") +
              "lowest estimated cost of " + std::to_string(competing.size()) + " candidates (" +
              std::to_string(static_cast<int64_t>(tiles)) + " tiles over " + std::to_string(device.sm_count) +
              " SMs x " + std::to_string(resident_ctas(best, p, device)) + " CTAs/SM)";
  }
  return best;
}

}  // namespace tilekernels::bmm
