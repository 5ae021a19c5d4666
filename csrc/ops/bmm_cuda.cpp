// kernels::bmm on CUDA: operand preparation, configuration choice (tuned table, then heuristic) and
// launch of the bmm kernel family. Also the private ops behind explain() and the autotuner.
#ifdef TILEKERNELS_WITH_CUDA

#include <torch/csrc/stable/accelerator.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_heuristic.h"
#include "kernels/bmm/bmm_launch.h"
#include "ops/bmm_args.h"
#include "ops/cuda_context.h"
#include "ops/cuda_plan.h"
#include "ops/cuda_operands.h"
#include "ops/python_callbacks.h"

namespace tilekernels {
namespace {

constexpr const char* kFamily = "bmm";

// fp32 under "highest" may use any fp32-accurate mode; the heuristic takes the first of these that has
// a candidate: where TF32 tensor throughput only equals FP32 SIMT (sm_86, sm_89), 3xTF32 cannot win;
// 3xFP16 (wgmma, sm_90a) runs its three products at the fp16 rate.
std::vector<MathMode> preferred_accurate_maths(const DeviceSpec& device) {
  if (device.arch == 86 || device.arch == 89) return {MathMode::kFfma};
  return {MathMode::kFp16x3, MathMode::kTf32x3};
}

// The row runs on this device's architecture, and its kernel (compiled for this layout) fits its
// per-block shared memory.
bool fits_device(int id, bool a_k_major, bool b_k_major, const DeviceSpec& device) {
  const bmm::TileConfig& config = bmm::kTileConfigs[id];
  KernelResources resources;
  return config.min_arch <= device.arch && device.arch <= config.max_arch &&
         bmm::compiled_resources(id, a_k_major, b_k_major, &resources) &&
         resources.smem_bytes <= device.max_smem_per_block;
}

struct PreparedCall {
  bmm::Params params;
  MatrixOperand a, b;
  Fp32Precision precision = Fp32Precision::kHighest;
};

PreparedCall prepare(const Tensor& a, const Tensor& b, const BmmShape& shape, const std::optional<std::string>& precision) {
  PreparedCall call;
  // Only fp32 depends on the precision; for other dtypes an explicit one is still validated.
  const bool needs_precision = a.scalar_type() == ScalarType::Float || precision.has_value();
  call.precision = needs_precision ? resolve_fp32_precision(precision, "kernels.bmm") : Fp32Precision::kHighest;
  call.a = prepare_matrix_operand(a);
  call.b = prepare_matrix_operand(b);
  bmm::Params& p = call.params;
  p.a = call.a.data;
  p.b = call.b.data;
  p.batch = shape.batch;
  p.m = shape.m;
  p.n = shape.n;
  p.k = shape.k;
  p.a_batch_stride = call.a.batch_stride;
  p.b_batch_stride = call.b.batch_stride;
  p.lda = call.a.ld;
  p.ldb = call.b.ld;
  p.a_k_major = call.a.cols_contiguous;   // A is [m, k]
  p.b_k_major = !call.b.cols_contiguous;  // B is [k, n]
  // Plans (and tuned entries) assume the op's own contiguous output; run_bmm_cuda writes through one
  // where the chosen row cannot write the caller's `out` directly.
  p.ldc = shape.n;
  p.c_batch_stride = shape.m * shape.n;
  return call;
}

// The params of `call` writing to `out`.
bmm::Params with_output(const PreparedCall& call, int config, const Tensor& out) {
  bmm::Params params = call.params;
  params.math = bmm::kTileConfigs[config].math;
  params.c = out.data_ptr();
  params.c_batch_stride = out.stride(0);
  params.ldc = out.size(1) == 1 ? out.size(2) : out.stride(1);
  return params;
}

Plan plan_call(const PreparedCall& call, ScalarType dtype, const DeviceSpec& device) {
  const bmm::Params& p = call.params;
  Plan plan;
  plan.math_group = math_group(dtype, call.precision);
  plan.key = str_cat(kFamily, "|", device.name, "|sm", device.arch, "|", plan.math_group, "|a",
                     p.a_k_major ? "k" : "m", "b", p.b_k_major ? "k" : "n", "|", p.batch, "x", p.m, "x", p.n, "x", p.k);
  ensure_tuned_tables_loaded();
  const std::vector<MathMode> maths = allowed_maths(dtype, call.precision);
  for (int id = 0; id < bmm::kNumTileConfigs; ++id) {
    const bmm::TileConfig& config = bmm::kTileConfigs[id];
    if (allows(maths, config.math) && fits_device(id, p.a_k_major, p.b_k_major, device) &&
        bmm::serves_problem(config, p)) {
      plan.candidates.push_back(id);
    }
  }
  TK_CHECK_RUNTIME(!plan.candidates.empty(), "kernels.bmm: no compiled CUDA configuration serves ", plan.math_group,
                   " with this layout on ", device.name, " (sm_", device.arch,
                   "); rebuild with this architecture in TILEKERNELS_CUDA_ARCHS and without TILEKERNELS_INSTANCES");

  if (apply_tuned_choice(kFamily, plan)) return plan;
  // The heuristic compares configurations of one math mode; the autotuner may compare across them.
  std::vector<MathMode> heuristic_maths = {maths.front()};
  if (dtype == ScalarType::Float && call.precision == Fp32Precision::kHighest) {
    heuristic_maths = preferred_accurate_maths(device);
  }
  std::vector<int> same_math;
  for (MathMode math : heuristic_maths) {
    for (int id : plan.candidates) {
      if (bmm::kTileConfigs[id].math == math) same_math.push_back(id);
    }
    if (!same_math.empty()) break;
  }
  plan.config = bmm::choose_config(p, device, same_math.empty() ? plan.candidates : same_math, &plan.reason);
  plan.source = "heuristic";
  return plan;
}

void launch_config(const PreparedCall& call, int config, Tensor& out, int device_index) {
  check_cuda(bmm::launch(with_output(call, config, out), config, current_cuda_stream(device_index)),
             "bmm kernel launch");
}

// Writes a @ b into `out` (which has the result's shape, dtype and device).
void run_bmm_cuda(const Tensor& a, const Tensor& b, Tensor& out, const BmmShape& shape,
                  const std::optional<std::string>& precision, std::optional<int64_t> forced_config) {
  const int device_index = a.get_device_index();
  torch::stable::accelerator::DeviceGuard guard(device_index);
  if (shape.batch == 0 || shape.m == 0 || shape.n == 0) return;
  if (shape.k == 0) {
    torch::stable::zero_(out);
    return;
  }
  const PreparedCall call = prepare(a, b, shape, precision);
  const DeviceSpec& device = device_spec(device_index);
  const Plan plan = plan_call(call, a.scalar_type(), device);
  int config = plan.config;
  if (forced_config.has_value()) {
    config = static_cast<int>(*forced_config);
    TK_CHECK_ARG(std::find(plan.candidates.begin(), plan.candidates.end(), config) != plan.candidates.end(),
                 "kernels._bmm_with_config: configuration ", *forced_config, " cannot serve this call (",
                 plan.math_group, " on sm_", device.arch, ")");
  }
  // The epilogue writes rows with unit stride along n into a 16-byte aligned base (rows that store via
  // TMA: rows and batch items 16-byte aligned too).
  const bool direct = (out.size(2) == 1 || out.stride(2) == 1) && is_aligned(out.data_ptr()) &&
                      !memory_overlaps(out, a) && !memory_overlaps(out, b) &&
                      bmm::serves_problem(bmm::kTileConfigs[config], with_output(call, config, out));
  if (direct) {
    launch_config(call, config, out, device_index);
  } else {
    Tensor result = torch::stable::empty({shape.batch, shape.m, shape.n}, a.scalar_type(), std::nullopt, a.device());
    launch_config(call, config, result, device_index);
    torch::stable::copy_(out, result);
  }
}

void check_out_has_no_internal_overlap(const Tensor& out) {
  for (int64_t d = 0; d < out.dim(); ++d) {
    TK_CHECK_ARG(out.size(d) <= 1 || out.stride(d) != 0,
                 "kernels.bmm: out has a dimension of stride 0 (several elements share one memory location)");
  }
}

Tensor bmm_cuda(const Tensor& a, const Tensor& b, std::optional<std::string> precision) {
  const BmmShape shape = check_bmm_args(a, b);
  Tensor out = torch::stable::empty({shape.batch, shape.m, shape.n}, a.scalar_type(), std::nullopt, a.device());
  run_bmm_cuda(a, b, out, shape, precision, std::nullopt);
  return out;
}

void bmm_out_cuda(const Tensor& a, const Tensor& b, std::optional<std::string> precision, Tensor out) {
  const BmmShape shape = check_bmm_args(a, b);
  check_bmm_out(out, a, shape);
  check_out_has_no_internal_overlap(out);
  run_bmm_cuda(a, b, out, shape, precision, std::nullopt);
}

Tensor bmm_with_config_cuda(const Tensor& a, const Tensor& b, int64_t config, std::optional<std::string> precision) {
  const BmmShape shape = check_bmm_args(a, b);
  TK_CHECK_ARG(config >= 0 && config < bmm::kNumTileConfigs, "kernels._bmm_with_config: no configuration ", config,
               " (the table has ", bmm::kNumTileConfigs, ")");
  Tensor out = torch::stable::empty({shape.batch, shape.m, shape.n}, a.scalar_type(), std::nullopt, a.device());
  run_bmm_cuda(a, b, out, shape, precision, config);
  return out;
}

std::string bmm_plan_cuda(const Tensor& a, const Tensor& b, std::optional<std::string> precision) {
  const BmmShape shape = check_bmm_args(a, b);
  const int device_index = a.get_device_index();
  torch::stable::accelerator::DeviceGuard guard(device_index);
  const PreparedCall call = prepare(a, b, shape, precision);
  const DeviceSpec& device = device_spec(device_index);
  const Plan plan = plan_call(call, a.scalar_type(), device);
  const bmm::TileConfig& chosen = bmm::kTileConfigs[plan.config];
  return plan_json(kFamily, plan, chosen.name, chosen.math, device,
                   JsonObject().add("a_copied", call.a.copied).add("b_copied", call.b.copied));
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CUDA, m) {
  m.impl("bmm", TORCH_BOX(&bmm_cuda));
  m.impl("bmm.out", TORCH_BOX(&bmm_out_cuda));
  m.impl("_bmm_with_config", TORCH_BOX(&bmm_with_config_cuda));
  m.impl("_bmm_plan", TORCH_BOX(&bmm_plan_cuda));
}

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
