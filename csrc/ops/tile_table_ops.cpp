// Private ops that expose the compiled tile tables to Python and let it fill the tuned table.
#include <torch/csrc/stable/library.h>

#include <string>
#include <vector>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/backward/backward_configs.h"
#include "kernels/bmm/bmm_configs.h"
#include "ops/errors.h"
#include "ops/json_writer.h"
#include "tuning/tuned_table.h"

#ifdef TILEKERNELS_WITH_CUDA
#include "kernels/attention/attention_launch.h"
#include "kernels/attention/backward/backward_launch.h"
#include "kernels/bmm/bmm_launch.h"
#include "kernels/bmm/bmm_params.h"
#endif

namespace tilekernels {
namespace {

// The shared memory a compiled bmm row's kernel asks for (the same in every layout it runs), as JSON:
// null for rows this build did not compile.
std::string bmm_smem_json(int id) {
#ifdef TILEKERNELS_WITH_CUDA
  for (bool a_k_major : {true, false}) {
    for (bool b_k_major : {true, false}) {
      KernelResources resources;
      if (bmm::compiled_resources(id, a_k_major, b_k_major, &resources)) return std::to_string(resources.smem_bytes);
    }
  }
#else
  (void)id;
#endif
  return "null";
}

std::vector<std::string> compiled_bmm_layouts(int id) {
  std::vector<std::string> layouts;
#ifdef TILEKERNELS_WITH_CUDA
  for (bool a_k_major : {true, false}) {
    for (bool b_k_major : {true, false}) {
      if (bmm::is_compiled(id, a_k_major, b_k_major)) {
        layouts.push_back(json_quote(str_cat("a", a_k_major ? "k" : "m", "b", b_k_major ? "k" : "n")));
      }
    }
  }
#else
  (void)id;
#endif
  return layouts;
}

// The shared memory a compiled attention row's kernel asks for (from the registry), as JSON: null for
// rows this build did not compile.
std::string attention_smem_json(int id) {
#ifdef TILEKERNELS_WITH_CUDA
  KernelResources resources;
  if (attention::compiled_resources(id, &resources)) return std::to_string(resources.smem_bytes);
#else
  (void)id;
#endif
  return "null";
}

bool attention_compiled(int id) {
#ifdef TILEKERNELS_WITH_CUDA
  return attention::is_compiled(id);
#else
  (void)id;
  return false;
#endif
}

const char* bmm_engine_name(const bmm::TileConfig& c) {
  if (c.math == MathMode::kFfma) return "ffma";
  if (c.holds_whole_k()) return "wgmma whole-k";
  if (c.uses_tma()) return "wgmma tma";
  return c.is_wgmma() ? "wgmma" : "mma.sync";
}

std::string bmm_table() {
  std::vector<std::string> rows;
  for (int id = 0; id < bmm::kNumTileConfigs; ++id) {
    const bmm::TileConfig& c = bmm::kTileConfigs[id];
    rows.push_back(JsonObject()
                       .add("id", id)
                       .add("name", c.name)
                       .add("math", math_mode_name(c.math))
                       .add("block_m", c.block_m)
                       .add("block_n", c.block_n)
                       .add("block_k", c.block_k)
                       .add("warps_m", c.warps_m)
                       .add("warps_n", c.warps_n)
                       .add("stages", c.stages)
                       .add("group_m", c.group_m)
                       .add("min_arch", c.min_arch)
                       .add("max_arch", c.max_arch)
                       .add("engine", bmm_engine_name(c))
                       .add("persistent", c.persistent)
                       .add("store_via_tma", c.store_via_tma)
                       .add("threads", c.threads())
                       .raw("smem_bytes", bmm_smem_json(id))
                       .raw("compiled_layouts", json_array(compiled_bmm_layouts(id)))
                       .str());
  }
  return json_array(rows);
}

std::string attention_table() {
  std::vector<std::string> rows;
  for (int id = 0; id < attention::kNumTileConfigs; ++id) {
    const attention::TileConfig& c = attention::kTileConfigs[id];
    rows.push_back(JsonObject()
                       .add("id", id)
                       .add("name", c.name)
                       .add("math", math_mode_name(c.math))
                       .add("kernel", attention::kernel_name(c.kernel))
                       .add("head_dim", c.head_dim)
                       .add("block_q", c.block_q())
                       .add("block_kv", c.block_kv())
                       .add("warps", c.warps())
                       .add("stages", c.stages())
                       .add("max_seq_k", c.max_seq_k())
                       .add("wgmma", c.is_wgmma())
                       .add("engine", c.is_wgmma() ? "wgmma" : "mma.sync")
                       .add("preference", c.preference)
                       .add("min_arch", c.min_arch)
                       .add("max_arch", c.max_arch)
                       .add("threads", c.threads())
                       .raw("smem_bytes", attention_smem_json(id))
                       .add("compiled", attention_compiled(id))
                       .str());
  }
  return json_array(rows);
}

bool backward_compiled(int id) {
#ifdef TILEKERNELS_WITH_CUDA
  return attention::backward_is_compiled(id);
#else
  (void)id;
  return false;
#endif
}

// The attention backward's rows (not tuned: the binding takes the best-ranked row that serves a call).
std::string attention_backward_table() {
  std::vector<std::string> rows;
  for (int id = 0; id < attention::kNumBackwardConfigs; ++id) {
    const attention::BackwardConfig& c = attention::kBackwardConfigs[id];
    rows.push_back(JsonObject()
                       .add("id", id)
                       .add("name", c.name)
                       .add("math", math_mode_name(c.math))
                       .add("head_dim", c.head_dim)
                       .add("preference", c.preference)
                       .add("min_arch", c.min_arch)
                       .add("max_arch", c.max_arch)
                       .add("key_engine", c.keys.wgmma ? "wgmma" : "mma.sync")
                       .add("key_split_products", c.keys.split_products)
                       .add("key_warp_specialized", c.keys.warp_specialized)
                       .add("key_block_kv", c.keys.block_kv)
                       .add("key_block_q", c.keys.block_q)
                       .add("query_block_q", c.queries.block_q)
                       .add("query_block_kv", c.queries.block_kv)
                       .add("dq_atomic", c.dq_atomic)
                       .add("compiled", backward_compiled(id))
                       .str());
  }
  return json_array(rows);
}

void check_family(const std::string& family, const char* op) {
  TK_CHECK_ARG(family == "bmm" || family == "attention", op, ": unknown kernel family '", family,
               "' (known: bmm, attention)");
}

std::string tile_configs(std::string family) {
  TK_CHECK_ARG(family == "bmm" || family == "attention" || family == "attention_backward",
               "kernels._tile_configs: unknown kernel family '", family, "' (known: bmm, attention, attention_backward)");
  if (family == "attention_backward") return attention_backward_table();
  return family == "bmm" ? bmm_table() : attention_table();
}

void tile_table_set(std::string family, std::string key, int64_t config) {
  check_family(family, "kernels._tile_table_set");
  const int count = family == "bmm" ? bmm::kNumTileConfigs : attention::kNumTileConfigs;
  TK_CHECK_ARG(config >= 0 && config < count, "kernels._tile_table_set: no ", family, " configuration ", config);
  TunedTable::instance().set(family, key, static_cast<int>(config));
}

void tile_table_clear(std::string family) {
  check_family(family, "kernels._tile_table_clear");
  TunedTable::instance().clear(family);
}

std::string tile_table_entries(std::string family) {
  check_family(family, "kernels._tile_table_entries");
  JsonObject entries;
  for (const auto& [key, config] : TunedTable::instance().entries(family)) entries.add(key, config);
  return entries.str();
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CompositeExplicitAutograd, m) {
  m.impl("_tile_configs", TORCH_BOX(&tile_configs));
  m.impl("_tile_table_set", TORCH_BOX(&tile_table_set));
  m.impl("_tile_table_clear", TORCH_BOX(&tile_table_clear));
  m.impl("_tile_table_entries", TORCH_BOX(&tile_table_entries));
}

}  // namespace tilekernels
