#include "ops/bmm_args.h"

namespace tilekernels {

BmmShape check_bmm_args(const Tensor& a, const Tensor& b) {
  TK_CHECK_ARG(is_strided(a) && is_strided(b),
               "kernels.bmm: only dense (strided) tensors are supported");
  TK_CHECK_ARG(a.dim() == 3, "kernels.bmm: a must be a 3-D tensor [batch, m, k], got a ", a.dim(),
               "-D tensor of shape ", shape_string(a));
  TK_CHECK_ARG(b.dim() == 3, "kernels.bmm: b must be a 3-D tensor [batch, k, n], got a ", b.dim(),
               "-D tensor of shape ", shape_string(b));
  TK_CHECK_ARG(a.size(0) == b.size(0), "kernels.bmm: batch sizes differ: a is ", shape_string(a), ", b is ",
               shape_string(b));
  TK_CHECK_ARG(a.size(2) == b.size(1), "kernels.bmm: inner dimensions differ: a is ", shape_string(a), " and b is ",
               shape_string(b), " (a.size(2) must equal b.size(1))");
  TK_CHECK_ARG(a.scalar_type() == b.scalar_type(), "kernels.bmm: a and b must have the same dtype, got ",
               dtype_name(a.scalar_type()), " and ", dtype_name(b.scalar_type()));
  TK_CHECK_ARG(is_supported_dtype(a.scalar_type()), "kernels.bmm: unsupported dtype ", dtype_name(a.scalar_type()),
               " (supported: float16, bfloat16, float32)");
  TK_CHECK_ARG(same_device(a, b), "kernels.bmm: a and b must be on the same device, got ", device_name(a), " and ",
               device_name(b));
  return {a.size(0), a.size(1), b.size(2), a.size(2)};
}

void check_bmm_out(const Tensor& out, const Tensor& a, const BmmShape& shape) {
  TK_CHECK_ARG(is_strided(out), "kernels.bmm: out must be a dense tensor");
  TK_CHECK_ARG(out.dim() == 3 && out.size(0) == shape.batch && out.size(1) == shape.m && out.size(2) == shape.n,
               "kernels.bmm: out must have shape [", shape.batch, ", ", shape.m, ", ", shape.n, "], got ",
               shape_string(out));
  TK_CHECK_ARG(out.scalar_type() == a.scalar_type(), "kernels.bmm: out must have dtype ", dtype_name(a.scalar_type()),
               ", got ", dtype_name(out.scalar_type()));
  TK_CHECK_ARG(same_device(out, a), "kernels.bmm: out must be on ", device_name(a), ", got ", device_name(out));
}

namespace {

// [first byte, one past the last byte] touched by a strided tensor.
std::pair<uintptr_t, uintptr_t> byte_span(const Tensor& t) {
  const auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  int64_t last = 0;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.size(d) == 0) return {begin, begin};
    last += (t.size(d) - 1) * t.stride(d);
  }
  return {begin, begin + static_cast<uintptr_t>((last + 1) * static_cast<int64_t>(t.element_size()))};
}

}  // namespace

bool memory_overlaps(const Tensor& x, const Tensor& y) {
  const auto [x_begin, x_end] = byte_span(x);
  const auto [y_begin, y_end] = byte_span(y);
  return x_begin < y_end && y_begin < x_end;
}

}  // namespace tilekernels
