// kernels::bmm on the CPU: fp32 accumulation, parallel over (batch, row blocks).
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include "kernels/cpu/bmm_cpu.h"
#include "ops/bmm_args.h"
#include "ops/python_callbacks.h"

namespace tilekernels {
namespace {

void run_bmm_cpu(const Tensor& a, const Tensor& b, Tensor& out, const BmmShape& shape) {
  if (shape.batch == 0 || shape.m == 0 || shape.n == 0) return;
  if (shape.k == 0) {
    torch::stable::zero_(out);
    return;
  }
  cpu::BmmProblem problem;
  problem.a = a.data_ptr();
  problem.b = b.data_ptr();
  problem.c = out.data_ptr();
  problem.type = element_type(a.scalar_type());
  problem.batch = shape.batch;
  problem.m = shape.m;
  problem.n = shape.n;
  problem.k = shape.k;
  for (int d = 0; d < 3; ++d) {
    problem.a_strides[d] = a.stride(d);
    problem.b_strides[d] = b.stride(d);
    problem.c_strides[d] = out.stride(d);
  }
  torch::stable::parallel_for(0, cpu::bmm_cpu_work_items(problem), 1,
                              [&](int64_t begin, int64_t end) { cpu::bmm_cpu_run(problem, begin, end); });
}

Tensor bmm_cpu(const Tensor& a, const Tensor& b, std::optional<std::string> precision) {
  const BmmShape shape = check_bmm_args(a, b);
  if (precision.has_value()) resolve_fp32_precision(precision, "kernels.bmm");  // validates; CPU math is fp32
  Tensor out = torch::stable::empty({shape.batch, shape.m, shape.n}, a.scalar_type(), std::nullopt, a.device());
  run_bmm_cpu(a, b, out, shape);
  return out;
}

void bmm_out_cpu(const Tensor& a, const Tensor& b, std::optional<std::string> precision, Tensor out) {
  const BmmShape shape = check_bmm_args(a, b);
  check_bmm_out(out, a, shape);
  if (precision.has_value()) resolve_fp32_precision(precision, "kernels.bmm");
  if (memory_overlaps(out, a) || memory_overlaps(out, b)) {
    Tensor result = torch::stable::empty({shape.batch, shape.m, shape.n}, a.scalar_type(), std::nullopt, a.device());
    run_bmm_cpu(a, b, result, shape);
    torch::stable::copy_(out, result);
  } else {
    run_bmm_cpu(a, b, out, shape);
  }
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CPU, m) {
  m.impl("bmm", TORCH_BOX(&bmm_cpu));
  m.impl("bmm.out", TORCH_BOX(&bmm_out_cpu));
}

}  // namespace tilekernels
