#include "ops/python_callbacks.h"

#include <torch/csrc/stable/library.h>

#include <array>
#include <mutex>

#include "ops/errors.h"

namespace tilekernels {
namespace {

Fp32Precision query_torch_precision() {
  std::array<StableIValue, 1> stack{};
  const auto status = torch_call_dispatcher("kernels::_float32_matmul_precision", "", stack.data(), TORCH_ABI_VERSION);
  TK_CHECK_RUNTIME(status == TORCH_SUCCESS,
                   "tilekernels: could not read torch.get_float32_matmul_precision(); import tilekernels before "
                   "calling torch.ops.kernels ops (it registers the helper op)");
  const int64_t code = torch::stable::detail::to<int64_t>(stack[0]);
  switch (code) {
    case 0: return Fp32Precision::kHighest;
    case 1: return Fp32Precision::kHigh;
    default: return Fp32Precision::kMedium;
  }
}

}  // namespace

Fp32Precision resolve_fp32_precision(const std::optional<std::string>& override_name, const char* op) {
  if (!override_name.has_value()) return query_torch_precision();
  const std::string& name = *override_name;
  if (name == "highest" || name == "ieee") return Fp32Precision::kHighest;
  if (name == "high" || name == "tf32") return Fp32Precision::kHigh;
  if (name == "medium") return Fp32Precision::kMedium;
  TK_CHECK_ARG(false, op, ": precision must be one of 'highest', 'high', 'medium' (or 'ieee', 'tf32'), got '", name,
               "'");
  return Fp32Precision::kHighest;
}

void ensure_tuned_tables_loaded() {
  static std::once_flag loaded;
  std::call_once(loaded, [] {
    std::array<StableIValue, 1> stack{};
    const auto status = torch_call_dispatcher("kernels::_load_tuned_tables", "", stack.data(), TORCH_ABI_VERSION);
    TK_CHECK_RUNTIME(status == TORCH_SUCCESS, "tilekernels: loading the tuned tables failed; import tilekernels "
                                              "before calling torch.ops.kernels ops");
  });
}

}  // namespace tilekernels
