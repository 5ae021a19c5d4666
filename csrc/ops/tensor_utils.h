#pragma once
// Small helpers over torch::stable::Tensor shared by every binding.
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>

#include <cstdint>
#include <string>

#include "kernels/cpu/element_type.h"
#include "ops/errors.h"

namespace tilekernels {

using torch::stable::Tensor;
using ScalarType = torch::headeronly::ScalarType;

inline std::string dtype_name(ScalarType type) {
  switch (type) {
    case ScalarType::Half: return "float16";
    case ScalarType::BFloat16: return "bfloat16";
    case ScalarType::Float: return "float32";
    case ScalarType::Double: return "float64";
    case ScalarType::Int: return "int32";
    case ScalarType::Long: return "int64";
    case ScalarType::Bool: return "bool";
    default: return str_cat("dtype #", static_cast<int>(type));
  }
}

inline bool is_supported_dtype(ScalarType type) {
  return type == ScalarType::Half || type == ScalarType::BFloat16 || type == ScalarType::Float;
}

inline cpu::ElementType element_type(ScalarType type) {
  switch (type) {
    case ScalarType::Half: return cpu::ElementType::kFloat16;
    case ScalarType::BFloat16: return cpu::ElementType::kBFloat16;
    default: return cpu::ElementType::kFloat32;
  }
}

inline std::string device_name(const Tensor& t) {
  if (t.is_cpu()) return "cpu";
  if (t.is_cuda()) return str_cat("cuda:", t.get_device_index());
  return "another device";
}

inline bool same_device(const Tensor& a, const Tensor& b) {
  return a.is_cpu() == b.is_cpu() && a.is_cuda() == b.is_cuda() &&
         (a.is_cpu() || a.get_device_index() == b.get_device_index());
}

// Dense (strided) rather than sparse or mkldnn. Read through the C shim: torch::stable::Tensor::layout()
// exists only from torch 2.11 on, and the extension builds against 2.10.
inline bool is_strided(const Tensor& t) {
  int32_t layout = 0;
  TK_CHECK_RUNTIME(aoti_torch_get_layout(t.get(), &layout) == AOTI_TORCH_SUCCESS, "could not read a tensor's layout");
  return layout == aoti_torch_layout_strided();
}

inline std::string shape_string(const Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += str_cat(d ? ", " : "", t.size(d));
  return s + "]";
}

}  // namespace tilekernels
