// Shared by the emulation drivers: random 16-bit inputs, their layout, and the float64 reference
// forward (out rounded to the input type, as the kernels see it, and the lse).
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "emu_runtime.h"
#include "kernels/attention/attention_params.h"

// The kernels declare `extern __shared__ unsigned char smem[]` in this namespace (forward kRegister,
// backward): this array is that shared memory.
namespace tilekernels::attention::detail {
alignas(1024) inline unsigned char smem[emu::kSmemBytes];
}

namespace emu {

template <class T>
T round_to(float x);
template <>
inline __half round_to<__half>(float x) { return __float2half_rn(x); }
template <>
inline __nv_bfloat16 round_to<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
inline double value_of(__half x) { return __half2float(x); }
inline double value_of(__nv_bfloat16 x) { return __bfloat162float(x); }

// q, out, grad_out: [batch, heads_q, seq_q, row]; k, v: [batch, heads_kv, seq_k, row], or with
// kv_bshd [batch, seq_k, heads_kv, row] viewed as such (head stride below the row stride). Rows are
// head_dim elements padded to 16 bytes.
struct Problem {
  int batch, heads_q, heads_kv, seq_q, seq_k, head_dim;
  bool causal;
  float scale;
  bool kv_bshd;
  int row() const { return (head_dim + 7) / 8 * 8; }
  int group() const { return heads_q / heads_kv; }
  int64_t q_index(int b, int h, int i, int d) const { return ((int64_t(b) * heads_q + h) * seq_q + i) * row() + d; }
  int64_t kv_index(int b, int h, int j, int d) const {
    return kv_bshd ? ((int64_t(b) * seq_k + j) * heads_kv + h) * row() + d : ((int64_t(b) * heads_kv + h) * seq_k + j) * row() + d;
  }
  int64_t q_elements() const { return int64_t(batch) * heads_q * seq_q * row(); }
  int64_t kv_elements() const { return int64_t(batch) * heads_kv * seq_k * row(); }
  int64_t kv_row_stride() const { return kv_bshd ? int64_t(heads_kv) * row() : row(); }
  int64_t kv_head_stride() const { return kv_bshd ? row() : int64_t(seq_k) * row(); }
  int64_t kv_batch_stride() const { return int64_t(heads_kv) * seq_k * row(); }
  bool visible(int i, int j) const { return !causal || j <= i; }
};

template <class T>
std::vector<T> random_tensor(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<T> t(n);
  for (auto& e : t) e = round_to<T>(normal(rng));
  return t;
}

// Scores and probabilities of one query row in float64 (P = 0 where masked).
template <class T>
double row_probabilities(const Problem& p, const std::vector<T>& q, const std::vector<T>& k, int b, int h, int i,
                         std::vector<double>& probs) {
  std::vector<double> s(p.seq_k, -INFINITY);
  double m = -INFINITY;
  for (int j = 0; j < p.seq_k; ++j) {
    if (!p.visible(i, j)) continue;
    double dot = 0;
    for (int d = 0; d < p.head_dim; ++d) dot += value_of(q[p.q_index(b, h, i, d)]) * value_of(k[p.kv_index(b, h / p.group(), j, d)]);
    s[j] = dot * p.scale;
    m = std::max(m, s[j]);
  }
  double l = 0;
  for (int j = 0; j < p.seq_k; ++j) l += s[j] == -INFINITY ? 0.0 : std::exp(s[j] - m);
  const double lse = m + std::log(l);
  probs.assign(p.seq_k, 0.0);
  for (int j = 0; j < p.seq_k; ++j) probs[j] = s[j] == -INFINITY ? 0.0 : std::exp(s[j] - lse);
  return lse;
}

// out (float64) and lse of every row.
template <class T>
void reference_forward(const Problem& p, const std::vector<T>& q, const std::vector<T>& k, const std::vector<T>& v,
                       std::vector<double>& out, std::vector<double>& lse) {
  out.assign(p.q_elements(), 0.0);
  lse.assign(int64_t(p.batch) * p.heads_q * p.seq_q, 0.0);
  std::vector<double> probs;
  for (int b = 0; b < p.batch; ++b)
    for (int h = 0; h < p.heads_q; ++h)
      for (int i = 0; i < p.seq_q; ++i) {
        lse[(int64_t(b) * p.heads_q + h) * p.seq_q + i] = row_probabilities(p, q, k, b, h, i, probs);
        for (int d = 0; d < p.head_dim; ++d) {
          double acc = 0;
          for (int j = 0; j < p.seq_k; ++j) acc += probs[j] * value_of(v[p.kv_index(b, h / p.group(), j, d)]);
          out[p.q_index(b, h, i, d)] = acc;
        }
      }
}

// Largest |got - want| over the first head_dim columns of `rows` rows (NaN counts as infinite), and
// whether it is within tolerance * max(|want|, 1e-3); prints a line.
template <class T>
bool check_rows(const char* what, const std::vector<T>& got, const std::vector<double>& want, int64_t rows, int row,
                int head_dim, double tolerance) {
  double err = 0, scale = 1e-3;
  for (int64_t r = 0; r < rows; ++r)
    for (int d = 0; d < head_dim; ++d) {
      const double x = value_of(got[r * row + d]), y = want[r * row + d];
      scale = std::max(scale, std::fabs(y));
      err = std::max(err, std::isnan(x) ? INFINITY : std::fabs(x - y));
    }
  const bool ok = err <= tolerance * scale;
  std::printf("  %s %s: max error %.3g (reference max %.3g)\n", ok ? "ok  " : "FAIL", what, err, scale);
  return ok;
}

// The forward's inputs (random), outputs (NaN until written) and params for a Problem.
template <class T>
struct ForwardCall {
  std::vector<T> q, k, v, out;
  std::vector<float> lse;
  tilekernels::attention::Params params;

  ForwardCall(const Problem& p, tilekernels::MathMode math, std::mt19937& rng)
      : q(random_tensor<T>(p.q_elements(), rng)),
        k(random_tensor<T>(p.kv_elements(), rng)),
        v(random_tensor<T>(p.kv_elements(), rng)),
        out(p.q_elements(), round_to<T>(NAN)),
        lse(int64_t(p.batch) * p.heads_q * p.seq_q, NAN) {
    const int64_t q_rows = int64_t(p.heads_q) * p.seq_q;
    params = {.q = q.data(), .k = k.data(), .v = v.data(), .out = out.data(), .lse = lse.data(),
              .batch = p.batch, .heads_q = p.heads_q, .heads_kv = p.heads_kv,
              .seq_q = p.seq_q, .seq_k = p.seq_k, .head_dim = p.head_dim,
              .q_batch_stride = q_rows * p.row(), .q_head_stride = int64_t(p.seq_q) * p.row(), .q_row_stride = p.row(),
              .k_batch_stride = p.kv_batch_stride(), .k_head_stride = p.kv_head_stride(), .k_row_stride = p.kv_row_stride(),
              .v_batch_stride = p.kv_batch_stride(), .v_head_stride = p.kv_head_stride(), .v_row_stride = p.kv_row_stride(),
              .out_batch_stride = q_rows * p.row(), .out_head_stride = int64_t(p.seq_q) * p.row(), .out_row_stride = p.row(),
              .scale = p.scale, .causal = p.causal, .math = math};
  }

  // out and lse against the float64 forward; prints a line each.
  bool check(const Problem& p) const {
    std::vector<double> want_out, want_lse;
    reference_forward(p, q, k, v, want_out, want_lse);
    const double tolerance = params.math == tilekernels::MathMode::kBf16 ? 1.5e-2 : 2e-3;
    const bool ok = check_rows("out", out, want_out, int64_t(p.batch) * p.heads_q * p.seq_q, p.row(), p.head_dim, tolerance);
    double lse_error = 0;
    for (size_t r = 0; r < lse.size(); ++r) lse_error = std::max(lse_error, std::isnan(lse[r]) ? INFINITY : std::fabs(lse[r] - want_lse[r]));
    std::printf("  %s lse: max error %.3g\n", lse_error <= 1e-3 ? "ok  " : "FAIL", lse_error);
    return ok && lse_error <= 1e-3;
  }
};

inline void print_problem(const char* name, const Problem& p) {
  std::printf("%s: b%d hq%d hkv%d sq%d sk%d d%d%s%s\n", name, p.batch, p.heads_q, p.heads_kv, p.seq_q, p.seq_k,
              p.head_dim, p.causal ? " causal" : "", p.kv_bshd ? " bshd" : "");
}

// The index of the row called `name` in a tile table, or -1.
template <class Config, size_t kRows>
constexpr int row_named(const Config (&table)[kRows], const char* name) {
  for (size_t i = 0; i < kRows; ++i) {
    const char* a = table[i].name;
    const char* b = name;
    while (*a && *a == *b) ++a, ++b;
    if (*a == *b) return static_cast<int>(i);
  }
  return -1;
}

// Usage: DRIVER SEED [early | late] (the schedule of asynchronous work, emu::late): the random
// generator of the run.
inline std::mt19937 start(int argc, char** argv) {
  late = argc > 2 && std::strcmp(argv[2], "late") == 0;
  std::printf("schedule: asynchronous work completes %s\n", late ? "as late as allowed" : "when issued");
  return std::mt19937(argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 1u);
}

// The driver's exit status, after the line the test looks for.
inline int finish(bool ok) {
  std::printf(ok ? "all passed\n" : "FAILED\n");
  return ok ? 0 : 1;
}

}  // namespace emu
