// kernels::_attention_backward on the CPU: the gradients of attention / attention_with_lse with respect
// to q, k and v, from the forward's output and log-sum-exp (autograd: python/tilekernels/ops/attention.py).
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <optional>
#include <tuple>

#include "kernels/cpu/attention_backward_cpu.h"
#include "ops/attention_args.h"

namespace tilekernels {
namespace {

std::tuple<Tensor, Tensor, Tensor> attention_backward_cpu(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                                                          const Tensor& v, const Tensor& out, const Tensor& lse,
                                                          const std::optional<Tensor>& grad_lse, bool is_causal,
                                                          std::optional<double> scale,
                                                          std::optional<int64_t> config, bool deterministic) {
  (void)deterministic;  // the CPU backward always is
  const AttentionShape s = check_attention_backward_args(grad_out, q, k, v, out, lse, grad_lse, scale);
  TK_CHECK_ARG(!config.has_value(), "kernels._attention_backward: `config` names a CUDA backward row; the CPU "
               "backward has no configurations (pass config=None)");

  Tensor grad_q = torch::stable::empty({s.batch, s.heads_q, s.seq_q, s.head_dim}, q.scalar_type(), std::nullopt, q.device());
  Tensor grad_k = torch::stable::empty({s.batch, s.heads_kv, s.seq_k, s.head_dim}, q.scalar_type(), std::nullopt, q.device());
  Tensor grad_v =
      torch::stable::empty({s.batch, s.heads_kv, s.seq_k, s.head_dim_v}, q.scalar_type(), std::nullopt, q.device());
  Tensor delta = torch::stable::empty({s.batch, s.heads_q, s.seq_q}, ScalarType::Float, std::nullopt, q.device());
  Tensor row_lse = torch::stable::empty({s.batch, s.heads_q, s.seq_q}, ScalarType::Float, std::nullopt, q.device());

  cpu::AttentionBackwardProblem p;
  p.q = q.data_ptr();
  p.k = k.data_ptr();
  p.v = v.data_ptr();
  p.grad_out = grad_out.data_ptr();
  p.lse = static_cast<const float*>(lse.data_ptr());
  p.grad_lse = grad_lse.has_value() ? static_cast<const float*>(grad_lse->data_ptr()) : nullptr;
  p.delta = static_cast<float*>(delta.data_ptr());
  p.row_lse = static_cast<float*>(row_lse.data_ptr());
  p.grad_q = grad_q.data_ptr();
  p.grad_k = grad_k.data_ptr();
  p.grad_v = grad_v.data_ptr();
  p.type = element_type(q.scalar_type());
  set_sizes(p, s);
  for (int d = 0; d < 4; ++d) {
    p.q_strides[d] = q.stride(d);
    p.k_strides[d] = k.stride(d);
    p.v_strides[d] = v.stride(d);
    p.grad_out_strides[d] = grad_out.stride(d);
  }
  for (int d = 0; d < 3; ++d) {
    p.lse_strides[d] = lse.stride(d);
    p.grad_lse_strides[d] = grad_lse.has_value() ? grad_lse->stride(d) : 0;
  }
  p.causal = is_causal;
  // The passes run in order: kv and q read the rows pass's output.
  torch::stable::parallel_for(0, cpu::attention_backward_rows_items(p), 1,
                              [&](int64_t begin, int64_t end) { cpu::attention_backward_rows_run(p, begin, end); });
  torch::stable::parallel_for(0, cpu::attention_backward_kv_items(p), 1,
                              [&](int64_t begin, int64_t end) { cpu::attention_backward_kv_run(p, begin, end); });
  torch::stable::parallel_for(0, cpu::attention_backward_q_items(p), 1,
                              [&](int64_t begin, int64_t end) { cpu::attention_backward_q_run(p, begin, end); });
  return {grad_q, grad_k, grad_v};
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CPU, m) { m.impl("_attention_backward", TORCH_BOX(&attention_backward_cpu)); }

}  // namespace tilekernels
