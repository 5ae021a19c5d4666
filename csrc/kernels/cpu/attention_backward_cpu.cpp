#include "kernels/cpu/attention_backward_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tilekernels::cpu {
namespace {

constexpr int64_t kQueryBlock = 32;
constexpr int64_t kKeyBlock = 64;

int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// Dot products accumulate in fp64: every pass recomputes the same scores, bit for bit.
float dot(const float* a, const float* b, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

// Gradients accumulate in fp64 too (sums over up to heads x seq rows), rounded once when stored.
void axpy(double alpha, const float* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// rows x cols elements of a 4-D tensor at (b, h, row0..), as fp32 rows of `cols`.
void load_rows(const void* base, const int64_t (&strides)[4], int64_t b, int64_t h, int64_t row0, int64_t rows,
               int64_t cols, ElementType type, float* dst) {
  const int64_t offset = b * strides[0] + h * strides[1] + row0 * strides[2];
  for (int64_t r = 0; r < rows; ++r) load_row_as_float(base, offset + r * strides[2], strides[3], cols, type, dst + r * cols);
}

// fp64 rows into a contiguous tensor of `heads` heads, `seq` rows and `cols` columns at (b, h, row0..).
void store_rows(void* base, int64_t heads, int64_t seq, int64_t b, int64_t h, int64_t row0, int64_t rows, int64_t cols,
                ElementType type, const double* src) {
  const int64_t offset = ((b * heads + h) * seq + row0) * cols;
  for (int64_t i = 0; i < rows * cols; ++i) store_from_float(base, offset + i, type, static_cast<float>(src[i]));
}

// A thread's fp32 copies of one query block (Q, dO) and one key block (K, V).
struct Tiles {
  std::vector<float> q, grad_out, k, v;

  explicit Tiles(const AttentionBackwardProblem& p)
      : q(kQueryBlock * p.head_dim), grad_out(kQueryBlock * p.head_dim_v), k(kKeyBlock * p.head_dim),
        v(kKeyBlock * p.head_dim_v) {}

  void load_queries(const AttentionBackwardProblem& p, int64_t b, int64_t h, int64_t q0, int64_t rows) {
    load_rows(p.q, p.q_strides, b, h, q0, rows, p.head_dim, p.type, q.data());
    load_rows(p.grad_out, p.grad_out_strides, b, h, q0, rows, p.head_dim_v, p.type, grad_out.data());
  }
  void load_keys(const AttentionBackwardProblem& p, int64_t b, int64_t h_kv, int64_t k0, int64_t keys) {
    load_rows(p.k, p.k_strides, b, h_kv, k0, keys, p.head_dim, p.type, k.data());
    load_rows(p.v, p.v_strides, b, h_kv, k0, keys, p.head_dim_v, p.type, v.data());
  }
};

float at3(const float* base, const int64_t (&strides)[3], int64_t b, int64_t h, int64_t i) {
  return base[b * strides[0] + h * strides[1] + i * strides[2]];
}

float score(const AttentionBackwardProblem& p, const float* q_row, const float* k_row) {
  return p.scale * dot(q_row, k_row, p.head_dim);
}

// Keys of the block from k0 (of `keys`) that query row i sees.
int64_t visible_keys(const AttentionBackwardProblem& p, int64_t i, int64_t k0, int64_t keys) {
  return p.causal ? std::max<int64_t>(0, std::min(keys, i - k0 + 1)) : keys;
}

// One query row against one key block: calls on_key(c, p_ij, ds_ij) for each visible key c, P from
// the corrected log-sum-exp lse'; rows that saw no key (lse' -inf) have none.
template <class OnKey>
void for_each_visible_key(const AttentionBackwardProblem& p, const float* q_row, const float* grad_out_row,
                          float lse, float delta, const float* k_block, const float* v_block, int64_t visible,
                          OnKey on_key) {
  if (!(lse > -std::numeric_limits<float>::infinity())) return;
  for (int64_t c = 0; c < visible; ++c) {
    const double prob = std::exp(static_cast<double>(score(p, q_row, k_block + c * p.head_dim)) - lse);
    const double grad_prob = dot(grad_out_row, v_block + c * p.head_dim_v, p.head_dim_v);
    on_key(c, prob, prob * (grad_prob - delta));
  }
}

}  // namespace

int64_t attention_backward_rows_items(const AttentionBackwardProblem& p) { return p.batch * p.heads_q; }

void attention_backward_rows_run(const AttentionBackwardProblem& p, int64_t begin, int64_t end) {
  const int64_t group = p.heads_q / p.heads_kv;
  Tiles tiles(p);
  std::vector<double> weight_sum(kQueryBlock), weighted_grad(kQueryBlock);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t b = item / p.heads_q, h = item % p.heads_q;
    for (int64_t q0 = 0; q0 < p.seq_q; q0 += kQueryBlock) {
      const int64_t rows = std::min(kQueryBlock, p.seq_q - q0);
      tiles.load_queries(p, b, h, q0, rows);
      std::fill(weight_sum.begin(), weight_sum.end(), 0.0);
      std::fill(weighted_grad.begin(), weighted_grad.end(), 0.0);
      const int64_t key_end = p.causal ? std::min(p.seq_k, q0 + rows) : p.seq_k;
      for (int64_t k0 = 0; k0 < key_end; k0 += kKeyBlock) {
        const int64_t keys = std::min(kKeyBlock, key_end - k0);
        tiles.load_keys(p, b, h / group, k0, keys);
        for (int64_t r = 0; r < rows; ++r) {
          const float lse = at3(p.lse, p.lse_strides, b, h, q0 + r);
          const int64_t visible = visible_keys(p, q0 + r, k0, keys);
          for (int64_t c = 0; c < visible; ++c) {
            // e_ij = exp(s_ij - lse_i): P_ij up to the row's normalization Z_i = sum_j e_ij.
            const double weight = std::exp(score(p, tiles.q.data() + r * p.head_dim, tiles.k.data() + c * p.head_dim) - lse);
            weight_sum[r] += weight;
            weighted_grad[r] +=
                weight * dot(tiles.grad_out.data() + r * p.head_dim_v, tiles.v.data() + c * p.head_dim_v, p.head_dim_v);
          }
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t row = item * p.seq_q + q0 + r;
        const float lse = at3(p.lse, p.lse_strides, b, h, q0 + r);
        const float grad_lse = p.grad_lse ? at3(p.grad_lse, p.grad_lse_strides, b, h, q0 + r) : 0.0f;
        // A row that saw no key (lse -inf) keeps lse' = -inf: its P is empty.
        const bool seen = weight_sum[r] > 0.0;
        p.row_lse[row] = seen ? static_cast<float>(lse + std::log(weight_sum[r])) : -std::numeric_limits<float>::infinity();
        p.delta[row] = (seen ? static_cast<float>(weighted_grad[r] / weight_sum[r]) : 0.0f) - grad_lse;
      }
    }
  }
}

int64_t attention_backward_kv_items(const AttentionBackwardProblem& p) {
  return p.batch * p.heads_kv * ceil_div(p.seq_k, kKeyBlock);
}

void attention_backward_kv_run(const AttentionBackwardProblem& p, int64_t begin, int64_t end) {
  const int64_t group = p.heads_q / p.heads_kv;
  const int64_t k_blocks = ceil_div(p.seq_k, kKeyBlock);
  Tiles tiles(p);
  std::vector<double> grad_k(kKeyBlock * p.head_dim), grad_v(kKeyBlock * p.head_dim_v);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t bh = item / k_blocks, b = bh / p.heads_kv, h_kv = bh % p.heads_kv;
    const int64_t k0 = (item % k_blocks) * kKeyBlock, keys = std::min(kKeyBlock, p.seq_k - k0);
    tiles.load_keys(p, b, h_kv, k0, keys);
    std::fill(grad_k.begin(), grad_k.end(), 0.0f);
    std::fill(grad_v.begin(), grad_v.end(), 0.0f);
    // Causal: rows before k0 see none of these keys.
    const int64_t first_row = p.causal ? std::min(p.seq_q, k0) / kQueryBlock * kQueryBlock : 0;
    for (int64_t h = h_kv * group; h < (h_kv + 1) * group; ++h) {
      for (int64_t q0 = first_row; q0 < p.seq_q; q0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, p.seq_q - q0);
        tiles.load_queries(p, b, h, q0, rows);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = q0 + r;
          const float* q_row = tiles.q.data() + r * p.head_dim;
          const float* grad_out_row = tiles.grad_out.data() + r * p.head_dim_v;
          for_each_visible_key(p, q_row, grad_out_row, p.row_lse[(b * p.heads_q + h) * p.seq_q + i],
                               p.delta[(b * p.heads_q + h) * p.seq_q + i], tiles.k.data(), tiles.v.data(),
                               visible_keys(p, i, k0, keys), [&](int64_t c, double prob, double grad_score) {
                                 axpy(prob, grad_out_row, grad_v.data() + c * p.head_dim_v, p.head_dim_v);
                                 axpy(p.scale * grad_score, q_row, grad_k.data() + c * p.head_dim, p.head_dim);
                               });
        }
      }
    }
    store_rows(p.grad_k, p.heads_kv, p.seq_k, b, h_kv, k0, keys, p.head_dim, p.type, grad_k.data());
    store_rows(p.grad_v, p.heads_kv, p.seq_k, b, h_kv, k0, keys, p.head_dim_v, p.type, grad_v.data());
  }
}

int64_t attention_backward_q_items(const AttentionBackwardProblem& p) {
  return p.batch * p.heads_q * ceil_div(p.seq_q, kQueryBlock);
}

void attention_backward_q_run(const AttentionBackwardProblem& p, int64_t begin, int64_t end) {
  const int64_t group = p.heads_q / p.heads_kv;
  const int64_t q_blocks = ceil_div(p.seq_q, kQueryBlock);
  Tiles tiles(p);
  std::vector<double> grad_q(kQueryBlock * p.head_dim);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t bh = item / q_blocks, b = bh / p.heads_q, h = bh % p.heads_q, h_kv = h / group;
    const int64_t q0 = (item % q_blocks) * kQueryBlock, rows = std::min(kQueryBlock, p.seq_q - q0);
    tiles.load_queries(p, b, h, q0, rows);
    std::fill(grad_q.begin(), grad_q.end(), 0.0f);
    // Causal: the block's last row sees keys up to q0 + rows - 1.
    const int64_t key_end = p.causal ? std::min(p.seq_k, q0 + rows) : p.seq_k;
    for (int64_t k0 = 0; k0 < key_end; k0 += kKeyBlock) {
      const int64_t keys = std::min(kKeyBlock, key_end - k0);
      tiles.load_keys(p, b, h_kv, k0, keys);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = q0 + r;
        double* grad_q_row = grad_q.data() + r * p.head_dim;
        for_each_visible_key(p, tiles.q.data() + r * p.head_dim, tiles.grad_out.data() + r * p.head_dim_v,
                             p.row_lse[(b * p.heads_q + h) * p.seq_q + i], p.delta[(b * p.heads_q + h) * p.seq_q + i],
                             tiles.k.data(), tiles.v.data(), visible_keys(p, i, k0, keys),
                             [&](int64_t c, double, double grad_score) {
                               axpy(p.scale * grad_score, tiles.k.data() + c * p.head_dim, grad_q_row, p.head_dim);
                             });
      }
    }
    store_rows(p.grad_q, p.heads_q, p.seq_q, b, h, q0, rows, p.head_dim, p.type, grad_q.data());
  }
}

}  // namespace tilekernels::cpu
