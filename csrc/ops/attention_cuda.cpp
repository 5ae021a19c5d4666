// kernels::attention on CUDA: operand preparation, configuration choice (tuned table, then heuristic)
// and launch of the fused attention kernel family. Also the private ops behind explain() and tuning.
#ifdef TILEKERNELS_WITH_CUDA

#include <torch/csrc/stable/accelerator.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/attention/attention_configs.h"
#include "kernels/attention/attention_heuristic.h"
#include "kernels/attention/attention_launch.h"
#include "kernels/attention/attention_tma.h"
#include "ops/attention_args.h"
#include "ops/cuda_context.h"
#include "ops/cuda_plan.h"
#include "ops/cuda_operands.h"
#include "ops/python_callbacks.h"

namespace tilekernels {
namespace {

constexpr const char* kFamily = "attention";

struct PreparedCall {
  attention::Params params;
  Tensor q, k, v;  // possibly copies satisfying the kernel contract
  bool copied = false;
  Fp32Precision precision = Fp32Precision::kHighest;
  int64_t out_row_elements = 0;  // the output's rows, padded to 16 bytes (allocated after planning)
};

PreparedCall prepare(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionShape& s, bool is_causal) {
  PreparedCall call;
  if (q.scalar_type() == ScalarType::Float) call.precision = resolve_fp32_precision(std::nullopt, "kernels.attention");
  bool copied_q = false, copied_k = false, copied_v = false;
  call.q = prepare_head_major_operand(q, &copied_q);
  call.k = prepare_head_major_operand(k, &copied_k);
  call.v = prepare_head_major_operand(v, &copied_v);
  call.copied = copied_q || copied_k || copied_v;
  attention::Params& p = call.params;
  p.q = call.q.data_ptr();
  p.k = call.k.data_ptr();
  p.v = call.v.data_ptr();
  set_cuda_sizes(p, s);
  set_strides(call.q, p.q_batch_stride, p.q_head_stride, p.q_row_stride);
  set_strides(call.k, p.k_batch_stride, p.k_head_stride, p.k_row_stride);
  set_strides(call.v, p.v_batch_stride, p.v_head_stride, p.v_row_stride);
  // The output's strides are known before it exists: the planner offers rows storing through TMA only
  // where a map describes it.
  call.out_row_elements = round_up(s.head_dim, vector_elements(q));
  p.out_row_stride = call.out_row_elements;
  p.out_head_stride = s.seq_q * call.out_row_elements;
  p.out_batch_stride = s.heads_q * p.out_head_stride;
  p.causal = is_causal;
  return call;
}

Plan plan_call(const PreparedCall& call, ScalarType dtype, const DeviceSpec& device) {
  const attention::Params& p = call.params;
  Plan plan;
  plan.math_group = math_group(dtype, call.precision);
  plan.key = str_cat(kFamily, "|", device.name, "|sm", device.arch, "|", plan.math_group, "|",
                     p.causal ? "causal" : "full", "|d", p.head_dim, "|b", p.batch, "h", p.heads_q, "kv", p.heads_kv,
                     "q", p.seq_q, "k", p.seq_k);
  ensure_tuned_tables_loaded();
  const std::vector<MathMode> maths = allowed_maths(dtype, call.precision);
  for (int id = 0; id < attention::kNumTileConfigs; ++id) {
    const attention::TileConfig& c = attention::kTileConfigs[id];
    KernelResources resources;
    if (allows(maths, c.math) && c.head_dim >= p.head_dim && c.supports_seq_k(p.seq_k) &&
        c.supports_arch(device.arch) && attention::compiled_resources(id, &resources) &&
        resources.smem_bytes <= device.max_smem_per_block &&
        (c.math != MathMode::kFp16x3 || attention::is_compiled(attention::exact_fallback(id, p.seq_k))) &&
        (c.kernel != attention::Kernel::kWarpSpecialized || attention::tma_serves(c, p))) {
      plan.candidates.push_back(id);
    }
  }
  TK_CHECK_RUNTIME(!plan.candidates.empty(), "kernels.attention: no compiled CUDA configuration serves ",
                   plan.math_group, " with head dim ", p.head_dim, " on ", device.name, " (sm_", device.arch,
                   "); rebuild with this architecture in TILEKERNELS_CUDA_ARCHS and the attention family enabled");
  if (apply_tuned_choice(kFamily, plan)) return plan;
  plan.config = attention::choose_config(p, device, plan.candidates, &plan.reason);
  plan.source = "heuristic";
  return plan;
}

std::tuple<Tensor, Tensor> run_attention_cuda(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal,
                                              std::optional<double> scale, std::optional<int64_t> forced_config) {
  const AttentionShape s = check_attention_args(q, k, v, scale);
  TK_CHECK_ARG(s.head_dim_v == s.head_dim, "kernels.attention: on CUDA, v's head dim must equal q's, got ",
               s.head_dim_v, " and ", s.head_dim);
  const int device_index = q.get_device_index();
  torch::stable::accelerator::DeviceGuard guard(device_index);
  Tensor lse = torch::stable::empty({s.batch, s.heads_q, s.seq_q}, ScalarType::Float, std::nullopt, q.device());
  Tensor out_contiguous =
      torch::stable::empty({s.batch, s.heads_q, s.seq_q, s.head_dim}, q.scalar_type(), std::nullopt, q.device());
  if (s.batch == 0 || s.heads_q == 0 || s.seq_q == 0) return {out_contiguous, lse};
  if (s.seq_k == 0) {
    torch::stable::zero_(out_contiguous);
    torch::stable::fill_(lse, -std::numeric_limits<double>::infinity());
    return {out_contiguous, lse};
  }
  PreparedCall call = prepare(q, k, v, s, is_causal);
  const DeviceSpec& device = device_spec(device_index);
  const Plan plan = plan_call(call, q.scalar_type(), device);
  int config = plan.config;
  if (forced_config.has_value()) {
    config = static_cast<int>(*forced_config);
    TK_CHECK_ARG(std::find(plan.candidates.begin(), plan.candidates.end(), config) != plan.candidates.end(),
                 "kernels._attention_with_config: configuration ", *forced_config, " cannot serve this call (",
                 plan.math_group, ", head dim ", s.head_dim, ", sm_", device.arch, ")");
  }
  // Rows of the output must be 16-byte aligned: pad them when head_dim * element size is not.
  const int64_t padded_dim = call.out_row_elements;
  Tensor out = out_contiguous;
  if (padded_dim != s.head_dim) {
    Tensor buffer = torch::stable::empty({s.batch, s.heads_q, s.seq_q, padded_dim}, q.scalar_type(), std::nullopt,
                                         q.device());
    out = torch::stable::narrow(buffer, 3, 0, s.head_dim);
  }
  attention::Params& p = call.params;
  p.out = out.data_ptr();
  p.lse = static_cast<float*>(lse.data_ptr());
  p.math = attention::kTileConfigs[config].math;
  Tensor tile_flags;  // written by the fp16x3 kernel for every tile, read by its exact rerun
  if (p.math == MathMode::kFp16x3) {
    const int64_t flag_tiles = (s.seq_q + attention::kFlagRows - 1) / attention::kFlagRows;
    tile_flags = torch::stable::empty({s.batch * s.heads_q * flag_tiles}, ScalarType::Int, std::nullopt, q.device());
    p.tile_flags = static_cast<int*>(tile_flags.data_ptr());
  }
  check_cuda(attention::launch(p, config, current_cuda_stream(device_index)), "attention kernel launch");
  if (padded_dim != s.head_dim) torch::stable::copy_(out_contiguous, out);
  return {out_contiguous, lse};
}

std::tuple<Tensor, Tensor> attention_with_lse_cuda(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal,
                                              std::optional<double> scale) {
  return run_attention_cuda(q, k, v, is_causal, scale, std::nullopt);
}

Tensor attention_cuda(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal, std::optional<double> scale) {
  return std::get<0>(run_attention_cuda(q, k, v, is_causal, scale, std::nullopt));
}

std::tuple<Tensor, Tensor> attention_with_config_cuda(const Tensor& q, const Tensor& k, const Tensor& v, int64_t config,
                                                 bool is_causal, std::optional<double> scale) {
  TK_CHECK_ARG(config >= 0 && config < attention::kNumTileConfigs, "kernels._attention_with_config: no configuration ",
               config, " (the table has ", attention::kNumTileConfigs, ")");
  return run_attention_cuda(q, k, v, is_causal, scale, config);
}

std::string attention_plan_cuda(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal) {
  const AttentionShape s = check_attention_args(q, k, v, std::nullopt);
  const int device_index = q.get_device_index();
  torch::stable::accelerator::DeviceGuard guard(device_index);
  const PreparedCall call = prepare(q, k, v, s, is_causal);
  const DeviceSpec& device = device_spec(device_index);
  const Plan plan = plan_call(call, q.scalar_type(), device);
  const attention::TileConfig& chosen = attention::kTileConfigs[plan.config];
  return plan_json(kFamily, plan, chosen.name, chosen.math, device,
                   JsonObject().add("kernel", attention::kernel_name(chosen.kernel)).add("operands_copied", call.copied));
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CUDA, m) {
  m.impl("attention", TORCH_BOX(&attention_cuda));
  m.impl("attention_with_lse", TORCH_BOX(&attention_with_lse_cuda));
  m.impl("_attention_with_config", TORCH_BOX(&attention_with_config_cuda));
  m.impl("_attention_plan", TORCH_BOX(&attention_plan_cuda));
}

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
