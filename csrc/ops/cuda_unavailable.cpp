// In a build without CUDA kernels, CUDA tensors get a clear error instead of the dispatcher's
// "could not run ... with arguments from the 'CUDA' backend".
#ifndef TILEKERNELS_WITH_CUDA

#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

namespace tilekernels {
namespace {

using torch::stable::Tensor;

[[noreturn]] void fail(const char* op) {
  throw std::runtime_error(std::string(op) +
                           ": tilekernels was built without CUDA kernels (TILEKERNELS_BUILD_CUDA=0 or no nvcc at build "
                           "time); reinstall with a CUDA toolkit present to use CUDA tensors");
}

Tensor bmm(const Tensor&, const Tensor&, std::optional<std::string>) { fail("kernels.bmm"); }
void bmm_out(const Tensor&, const Tensor&, std::optional<std::string>, Tensor) { fail("kernels.bmm"); }
Tensor bmm_with_config(const Tensor&, const Tensor&, int64_t, std::optional<std::string>) { fail("kernels.bmm"); }
std::string bmm_plan(const Tensor&, const Tensor&, std::optional<std::string>) { fail("kernels.bmm"); }
Tensor attention(const Tensor&, const Tensor&, const Tensor&, bool, std::optional<double>) {
  fail("kernels.attention");
}
std::tuple<Tensor, Tensor> attention_with_lse(const Tensor&, const Tensor&, const Tensor&, bool,
                                              std::optional<double>) {
  fail("kernels.attention");
}
std::tuple<Tensor, Tensor> attention_with_config(const Tensor&, const Tensor&, const Tensor&, int64_t, bool,
                                                 std::optional<double>) {
  fail("kernels.attention");
}
std::string attention_plan(const Tensor&, const Tensor&, const Tensor&, bool) { fail("kernels.attention"); }
std::tuple<Tensor, Tensor, Tensor> attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                                      const Tensor&, const Tensor&, const std::optional<Tensor>&, bool,
                                                      std::optional<double>, std::optional<int64_t>, bool) {
  fail("kernels.attention (backward)");
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CUDA, m) {
  m.impl("bmm", TORCH_BOX(&bmm));
  m.impl("bmm.out", TORCH_BOX(&bmm_out));
  m.impl("_bmm_with_config", TORCH_BOX(&bmm_with_config));
  m.impl("_bmm_plan", TORCH_BOX(&bmm_plan));
  m.impl("attention", TORCH_BOX(&attention));
  m.impl("attention_with_lse", TORCH_BOX(&attention_with_lse));
  m.impl("_attention_with_config", TORCH_BOX(&attention_with_config));
  m.impl("_attention_plan", TORCH_BOX(&attention_plan));
  m.impl("_attention_backward", TORCH_BOX(&attention_backward));
}

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
