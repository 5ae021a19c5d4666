// kernels::_attention_backward on CUDA (fp16 / bf16, head dims up to the largest compiled backward
// row): operand preparation, the choice of a backward configuration and its launch. Other calls are
// refused with a clear error (python/tilekernels/ops/attention.py says so before they get here).
#ifdef TILEKERNELS_WITH_CUDA

#include <torch/csrc/stable/accelerator.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>

#include <optional>
#include <tuple>

#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_launch.h"
#include "kernels/attention/backward/backward_tma.h"
#include "ops/attention_args.h"
#include "ops/cuda_context.h"
#include "ops/cuda_operands.h"

namespace tilekernels {
namespace {

constexpr const char* kOp = "kernels._attention_backward";

MathMode backward_math(ScalarType dtype) { return dtype == ScalarType::BFloat16 ? MathMode::kBf16 : MathMode::kFp16; }

// The best-ranked compiled row of the smallest head dim that serves the call on this device (with
// `deterministic`, among the rows whose results do not depend on the order of atomics; without `tma`,
// among the rows that need no tensor maps), or -1.
int choose_backward_config(MathMode math, int64_t head_dim, int arch, bool deterministic, bool tma) {
  int best = -1;
  for (int id = 0; id < attention::kNumBackwardConfigs; ++id) {
    const attention::BackwardConfig& c = attention::kBackwardConfigs[id];
    if (c.math != math || c.head_dim < head_dim || !c.supports_arch(arch) || !attention::backward_is_compiled(id)) continue;
    if ((deterministic && c.dq_atomic) || (!tma && c.keys.warp_specialized)) continue;
    const attention::BackwardConfig* b = best < 0 ? nullptr : &attention::kBackwardConfigs[best];
    if (!b || c.head_dim < b->head_dim || (c.head_dim == b->head_dim && c.preference < b->preference)) best = id;
  }
  return best;
}

// A [batch, heads, seq, head_dim] gradient buffer whose rows are padded to 16 bytes, and the view of
// its first head_dim columns.
struct GradBuffer {
  Tensor buffer, view;
};

GradBuffer grad_buffer(const Tensor& like, int64_t heads, int64_t seq, int64_t head_dim, int64_t padded_dim) {
  GradBuffer g;
  g.buffer = torch::stable::empty({like.size(0), heads, seq, padded_dim}, like.scalar_type(), std::nullopt, like.device());
  g.view = padded_dim == head_dim ? g.buffer : torch::stable::narrow(g.buffer, 3, 0, head_dim);
  return g;
}

Tensor contiguous_result(const GradBuffer& g) {
  return g.view.is_contiguous() ? g.view : torch::stable::contiguous(g.view);
}

std::tuple<Tensor, Tensor, Tensor> attention_backward_cuda(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                                                           const Tensor& v, const Tensor& out, const Tensor& lse,
                                                           const std::optional<Tensor>& grad_lse, bool is_causal,
                                                           std::optional<double> scale,
                                                           std::optional<int64_t> forced_config, bool deterministic) {
  const AttentionShape s = check_attention_backward_args(grad_out, q, k, v, out, lse, grad_lse, scale);
  TK_CHECK_ARG(q.scalar_type() != ScalarType::Float, kOp,
               ": on CUDA the backward runs float16 and bfloat16 so far (float32 gradients: the CPU)");
  TK_CHECK_ARG(s.head_dim_v == s.head_dim, kOp, ": on CUDA, v's head dim must equal q's, got ", s.head_dim_v, " and ",
               s.head_dim);
  const int device_index = q.get_device_index();
  torch::stable::accelerator::DeviceGuard guard(device_index);
  const int64_t padded_dim = round_up(s.head_dim, vector_elements(q));
  GradBuffer grad_q = grad_buffer(q, s.heads_q, s.seq_q, s.head_dim, padded_dim);
  GradBuffer grad_k = grad_buffer(q, s.heads_kv, s.seq_k, s.head_dim, padded_dim);
  GradBuffer grad_v = grad_buffer(q, s.heads_kv, s.seq_k, s.head_dim, padded_dim);
  const DeviceSpec& device = device_spec(device_index);
  const MathMode math = backward_math(q.scalar_type());
  if (forced_config.has_value()) {
    const int64_t id = *forced_config;
    TK_CHECK_ARG(id >= 0 && id < attention::kNumBackwardConfigs, kOp, ": no backward configuration ", id, " (the table has ",
                 attention::kNumBackwardConfigs, ")");
    const attention::BackwardConfig& c = attention::kBackwardConfigs[id];
    TK_CHECK_ARG(c.math == math && c.head_dim >= s.head_dim && c.supports_arch(device.arch) &&
                     attention::backward_is_compiled(static_cast<int>(id)),
                 kOp, ": backward configuration ", id, " (", c.name, ") cannot serve ", dtype_name(q.scalar_type()),
                 " with head dim ", s.head_dim, " on sm_", device.arch, " (its math, head dim, architectures or this "
                 "build do not match)");
  }
  if (s.batch == 0 || s.heads_q == 0 || s.seq_q == 0 || s.seq_k == 0) {
    // No query row or no key: every gradient is zero (or empty).
    torch::stable::zero_(grad_q.buffer);
    torch::stable::zero_(grad_k.buffer);
    torch::stable::zero_(grad_v.buffer);
    return {contiguous_result(grad_q), contiguous_result(grad_k), contiguous_result(grad_v)};
  }

  bool copied = false;
  const Tensor qc = prepare_head_major_operand(q, &copied);
  const Tensor kc = prepare_head_major_operand(k, &copied);
  const Tensor vc = prepare_head_major_operand(v, &copied);
  const Tensor oc = prepare_head_major_operand(out, &copied);
  const Tensor doc = prepare_head_major_operand(grad_out, &copied);
  const Tensor lse_c = torch::stable::contiguous(lse);
  std::optional<Tensor> grad_lse_c;
  if (grad_lse.has_value()) grad_lse_c = torch::stable::contiguous(*grad_lse);
  Tensor delta = torch::stable::empty({s.batch, s.heads_q, s.seq_q}, ScalarType::Float, std::nullopt, q.device());

  attention::BackwardParams p;
  p.q = qc.data_ptr();
  p.k = kc.data_ptr();
  p.v = vc.data_ptr();
  p.out = oc.data_ptr();
  p.grad_out = doc.data_ptr();
  p.lse = static_cast<const float*>(lse_c.data_ptr());
  p.grad_lse = grad_lse_c.has_value() ? static_cast<const float*>(grad_lse_c->data_ptr()) : nullptr;
  p.delta = static_cast<float*>(delta.data_ptr());
  p.grad_q = grad_q.buffer.data_ptr();
  p.grad_k = grad_k.buffer.data_ptr();
  p.grad_v = grad_v.buffer.data_ptr();
  set_cuda_sizes(p, s);
  set_strides(qc, p.q_batch_stride, p.q_head_stride, p.q_row_stride);
  set_strides(kc, p.k_batch_stride, p.k_head_stride, p.k_row_stride);
  set_strides(vc, p.v_batch_stride, p.v_head_stride, p.v_row_stride);
  set_strides(oc, p.out_batch_stride, p.out_head_stride, p.out_row_stride);
  set_strides(doc, p.grad_out_batch_stride, p.grad_out_head_stride, p.grad_out_row_stride);
  p.grad_row_stride = padded_dim;
  p.causal = is_causal;
  p.math = math;
  const bool tma = attention::backward_tma_serves(p);
  TK_CHECK_ARG(tma || !forced_config.has_value() || !attention::kBackwardConfigs[*forced_config].keys.warp_specialized,
               kOp, ": backward configuration ", *forced_config, " (", attention::kBackwardConfigs[*forced_config].name,
               ") reads its operands through tensor maps, which cannot describe these (an expanded row of stride 0, "
               "or a misaligned stride)");
  const int config = forced_config.has_value() ? static_cast<int>(*forced_config)
                                               : choose_backward_config(math, s.head_dim, device.arch, deterministic, tma);
  TK_CHECK_RUNTIME(config >= 0, kOp, ": no compiled CUDA backward serves ", dtype_name(q.scalar_type()),
                   " with head dim ", s.head_dim, " on sm_", device.arch,
                   "; rebuild with this architecture in TILEKERNELS_CUDA_ARCHS (the backward rows cover head dims up "
                   "to 256)");
  Tensor dq_accum;  // rows with dq_atomic: dQ's fp32 sums, laid out as grad_q's buffer
  if (attention::kBackwardConfigs[config].dq_atomic) {
    dq_accum = torch::stable::empty({s.batch, s.heads_q, s.seq_q, padded_dim}, ScalarType::Float, std::nullopt,
                                    q.device());
    p.dq_accum = static_cast<float*>(dq_accum.data_ptr());
  }
  Tensor vectors;  // warp-specialized rows: lse and delta per block of query rows
  if (attention::kBackwardConfigs[config].keys.warp_specialized) {
    vectors = torch::stable::empty({attention::backward_vectors_elements(s.batch, s.heads_q, s.seq_q)},
                                   ScalarType::Float, std::nullopt, q.device());
    p.vectors = static_cast<float*>(vectors.data_ptr());
  }
  check_cuda(attention::launch_backward(p, config, current_cuda_stream(device_index)), "attention backward launch");
  return {contiguous_result(grad_q), contiguous_result(grad_k), contiguous_result(grad_v)};
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(kernels, CUDA, m) { m.impl("_attention_backward", TORCH_BOX(&attention_backward_cuda)); }

}  // namespace tilekernels

#endif  // TILEKERNELS_WITH_CUDA
