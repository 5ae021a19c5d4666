// kernels::attention on the CPU: the tiled online-softmax algorithm of the CUDA kernels, in fp32,
// parallel over (batch, head, query block).
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <limits>
#include <tuple>

#include "kernels/cpu/attention_cpu.h"
#include "ops/attention_args.h"

namespace tilekernels {
namespace {

std::tuple<Tensor, Tensor> attention_with_lse_cpu(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal,
                                              std::optional<double> scale) {
  const AttentionShape s = check_attention_args(q, k, v, scale);
  Tensor out = torch::stable::empty({s.batch, s.heads_q, s.seq_q, s.head_dim_v}, q.scalar_type(), std::nullopt,
                                    q.device());
  Tensor lse = torch::stable::empty({s.batch, s.heads_q, s.seq_q}, ScalarType::Float, std::nullopt, q.device());
  if (s.batch == 0 || s.heads_q == 0 || s.seq_q == 0) return {out, lse};
  if (s.seq_k == 0) {
    // Softmax over no keys: zero output, lse -inf (what SDPA's math reference gives).
    torch::stable::zero_(out);
    torch::stable::fill_(lse, -std::numeric_limits<double>::infinity());
    return {out, lse};
  }
  cpu::AttentionProblem problem;
  problem.q = q.data_ptr();
  problem.k = k.data_ptr();
  problem.v = v.data_ptr();
  problem.out = out.data_ptr();
  problem.lse = static_cast<float*>(lse.data_ptr());
  problem.type = element_type(q.scalar_type());
  set_sizes(problem, s);
  for (int d = 0; d < 4; ++d) {
    problem.q_strides[d] = q.stride(d);
    problem.k_strides[d] = k.stride(d);
    problem.v_strides[d] = v.stride(d);
    problem.out_strides[d] = out.stride(d);
  }
  problem.causal = is_causal;
  torch::stable::parallel_for(0, cpu::attention_cpu_work_items(problem), 1,
                              [&](int64_t begin, int64_t end) { cpu::attention_cpu_run(problem, begin, end); });
  return {out, lse};
}

Tensor attention_cpu(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal, std::optional<double> scale) {
  return std::get<0>(attention_with_lse_cpu(q, k, v, is_causal, scale));
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CPU, m) {
  m.impl("attention", TORCH_BOX(&attention_cpu));
  m.impl("attention_with_lse", TORCH_BOX(&attention_with_lse_cpu));
}

}  // namespace tilekernels
