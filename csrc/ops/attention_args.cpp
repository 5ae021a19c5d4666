#include "ops/attention_args.h"

#include <cmath>
#include <string>

namespace tilekernels {

AttentionShape check_attention_args(const Tensor& q, const Tensor& k, const Tensor& v, std::optional<double> scale) {
  const char* op = "kernels.attention";
  for (const Tensor* t : {&q, &k, &v}) {
    TK_CHECK_ARG(is_strided(*t), op, ": only dense (strided) tensors are supported");
  }
  TK_CHECK_ARG(q.dim() == 4, op, ": q must be a 4-D tensor [batch, heads, seq_q, head_dim], got a ", q.dim(),
               "-D tensor of shape ", shape_string(q));
  TK_CHECK_ARG(k.dim() == 4, op, ": k must be a 4-D tensor [batch, heads_kv, seq_k, head_dim], got a ", k.dim(),
               "-D tensor of shape ", shape_string(k));
  TK_CHECK_ARG(v.dim() == 4, op, ": v must be a 4-D tensor [batch, heads_kv, seq_k, head_dim_v], got a ", v.dim(),
               "-D tensor of shape ", shape_string(v));
  TK_CHECK_ARG(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(), op,
               ": q, k and v must have the same dtype, got ", dtype_name(q.scalar_type()), ", ",
               dtype_name(k.scalar_type()), " and ", dtype_name(v.scalar_type()));
  TK_CHECK_ARG(is_supported_dtype(q.scalar_type()), op, ": unsupported dtype ", dtype_name(q.scalar_type()),
               " (supported: float16, bfloat16, float32)");
  TK_CHECK_ARG(same_device(q, k) && same_device(q, v), op, ": q, k and v must be on the same device, got ",
               device_name(q), ", ", device_name(k), " and ", device_name(v));
  TK_CHECK_ARG(k.size(0) == q.size(0) && v.size(0) == q.size(0), op, ": batch sizes differ: q ", shape_string(q),
               ", k ", shape_string(k), ", v ", shape_string(v));
  TK_CHECK_ARG(k.size(1) == v.size(1), op, ": k and v must have the same number of heads, got ", shape_string(k),
               " and ", shape_string(v));
  TK_CHECK_ARG(k.size(2) == v.size(2), op, ": k and v must have the same sequence length, got ", shape_string(k),
               " and ", shape_string(v));
  TK_CHECK_ARG(k.size(3) == q.size(3), op, ": q and k must have the same head dim, got ", shape_string(q), " and ",
               shape_string(k));
  const int64_t heads_q = q.size(1), heads_kv = k.size(1);
  TK_CHECK_ARG(heads_kv > 0 ? heads_q % heads_kv == 0 : heads_q == 0, op, ": q's heads (", heads_q,
               ") must be a multiple of k/v's heads (", heads_kv, ") for grouped-query attention");
  const int64_t head_dim = q.size(3), head_dim_v = v.size(3);
  TK_CHECK_ARG(head_dim >= 1 && head_dim_v >= 1, op, ": head dims must be at least 1, got ", head_dim, " and ",
               head_dim_v);
  TK_CHECK_ARG(head_dim <= kMaxHeadDim && head_dim_v <= kMaxHeadDim, op, ": head dim ",
               std::max(head_dim, head_dim_v), " exceeds the supported maximum of ", kMaxHeadDim);
  if (scale.has_value()) {
    TK_CHECK_ARG(std::isfinite(*scale), op, ": scale must be finite, got ", *scale);
  }
  const double softmax_scale = scale.has_value() ? *scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
  return {q.size(0), heads_q, heads_kv, q.size(2), k.size(2), head_dim, head_dim_v, static_cast<float>(softmax_scale)};
}

namespace {

// `t` has the shape [batch, heads_q, seq_q(, cols)] (`what` names it in the error).
void check_per_query(const Tensor& t, const Tensor& q, const AttentionShape& s, const char* what, int64_t cols,
                     ScalarType dtype) {
  const char* op = "kernels._attention_backward";
  TK_CHECK_ARG(is_strided(t), op, ": ", what, " must be a dense (strided) tensor");
  TK_CHECK_ARG(same_device(t, q), op, ": ", what, " must be on q's device ", device_name(q), ", got ", device_name(t));
  TK_CHECK_ARG(t.scalar_type() == dtype, op, ": ", what, " must be ", dtype_name(dtype), ", got ",
               dtype_name(t.scalar_type()));
  const bool rows_match = t.dim() == (cols ? 4 : 3) && t.size(0) == s.batch && t.size(1) == s.heads_q && t.size(2) == s.seq_q;
  TK_CHECK_ARG(rows_match && (!cols || t.size(3) == cols), op, ": ", what, " must have the shape [", s.batch, ", ",
               s.heads_q, ", ", s.seq_q, cols ? str_cat(", ", cols) : std::string(), "], got ", shape_string(t));
}

}  // namespace

AttentionShape check_attention_backward_args(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& out, const Tensor& lse, const std::optional<Tensor>& grad_lse,
                                             std::optional<double> scale) {
  const AttentionShape s = check_attention_args(q, k, v, scale);
  check_per_query(out, q, s, "out", s.head_dim_v, q.scalar_type());
  check_per_query(grad_out, q, s, "grad_out", s.head_dim_v, q.scalar_type());
  check_per_query(lse, q, s, "lse", 0, ScalarType::Float);
  if (grad_lse.has_value()) check_per_query(*grad_lse, q, s, "grad_lse", 0, ScalarType::Float);
  return s;
}

}  // namespace tilekernels
