#include "kernels/cpu/attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/microkernel.h"

namespace tilekernels::cpu {
namespace {

constexpr int64_t kQueryBlock = 32;  // multiple of kMicroRows
constexpr int64_t kKeyBlock = 64;    // multiple of kMicroCols
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// Row-major [rows x cols] block (zero-padded to padded_rows x padded_cols) -> panels for
// microkernel_accumulate: `group`-wide column panels, depth-major.
void pack_panels(const float* src, int64_t rows, int64_t cols, int64_t ld, int group, bool transpose, float* out,
                 int64_t depth_padded) {
  // transpose == false: depth runs along cols (each panel holds `group` rows)  -> A-style panel
  // transpose == true:  depth runs along rows (each panel holds `group` cols)  -> B-style panel
  const int64_t width = transpose ? cols : rows;
  const int64_t depth = transpose ? rows : cols;
  for (int64_t panel = 0; panel < ceil_div(width, group); ++panel) {
    float* dst = out + panel * depth_padded * group;
    for (int64_t d = 0; d < depth_padded; ++d) {
      for (int g = 0; g < group; ++g) {
        const int64_t w = panel * group + g;
        float value = 0.0f;
        if (w < width && d < depth) value = transpose ? src[d * ld + w] : src[w * ld + d];
        dst[d * group + g] = value;
      }
    }
  }
}

struct Workspace {
  std::vector<float> q, k, v;              // fp32 copies of the current tiles, row-major
  std::vector<float> q_panels, k_panels;   // packed for S = Q K^T
  std::vector<float> p_panels, v_panels;   // packed for O += P V
  std::vector<float> probs;                // row-major [kQueryBlock x kKeyBlock], 0 where masked
  std::vector<float> scores, acc, out_tile;
  std::vector<float> row_max, row_sum;
};

void load_tile(const void* base, int64_t offset, int64_t row_stride, int64_t col_stride, int64_t rows, int64_t cols,
               ElementType type, float* dst) {
  for (int64_t r = 0; r < rows; ++r) load_row_as_float(base, offset + r * row_stride, col_stride, cols, type, dst + r * cols);
}

// c[rows x cols] (micro-tile layout, see bmm_cpu) = a_panels x b_panels over `depth`.
void panel_product(int64_t rows_padded, int64_t cols_padded, int64_t depth, const float* a_panels,
                   const float* b_panels, float* c) {
  std::fill(c, c + rows_padded * cols_padded, 0.0f);
  for (int64_t rp = 0; rp < rows_padded / kMicroRows; ++rp) {
    for (int64_t cp = 0; cp < cols_padded / kMicroCols; ++cp) {
      microkernel_accumulate(depth, a_panels + rp * depth * kMicroRows, b_panels + cp * depth * kMicroCols,
                             c + (rp * (cols_padded / kMicroCols) + cp) * kMicroRows * kMicroCols);
    }
  }
}

inline float& micro_at(float* c, int64_t cols_padded, int64_t r, int64_t col) {
  return c[((r / kMicroRows) * (cols_padded / kMicroCols) + col / kMicroCols) * kMicroRows * kMicroCols +
           (r % kMicroRows) * kMicroCols + col % kMicroCols];
}

}  // namespace

int64_t attention_cpu_work_items(const AttentionProblem& p) {
  return p.batch * p.heads_q * ceil_div(p.seq_q, kQueryBlock);
}

void attention_cpu_run(const AttentionProblem& p, int64_t begin, int64_t end) {
  const int64_t q_blocks = ceil_div(p.seq_q, kQueryBlock);
  const int64_t group = p.heads_q / p.heads_kv;
  const int64_t d_pad = ceil_div(p.head_dim, kMicroCols) * kMicroCols;
  const int64_t dv_pad = ceil_div(p.head_dim_v, kMicroCols) * kMicroCols;
  Workspace ws;
  ws.q.resize(kQueryBlock * p.head_dim);
  ws.k.resize(kKeyBlock * p.head_dim);
  ws.v.resize(kKeyBlock * p.head_dim_v);
  ws.q_panels.resize(kQueryBlock * d_pad);
  ws.k_panels.resize(kKeyBlock * d_pad);
  ws.p_panels.resize(kQueryBlock * kKeyBlock);
  ws.v_panels.resize(kKeyBlock * dv_pad);
  ws.probs.resize(kQueryBlock * kKeyBlock);
  ws.scores.resize(kQueryBlock * kKeyBlock);
  ws.acc.resize(kQueryBlock * dv_pad);
  ws.out_tile.resize(kQueryBlock * dv_pad);
  ws.row_max.resize(kQueryBlock);
  ws.row_sum.resize(kQueryBlock);

  for (int64_t item = begin; item < end; ++item) {
    const int64_t bh = item / q_blocks;
    const int64_t b = bh / p.heads_q;
    const int64_t h = bh % p.heads_q;
    const int64_t h_kv = h / group;
    const int64_t q0 = (item % q_blocks) * kQueryBlock;
    const int64_t rows = std::min(kQueryBlock, p.seq_q - q0);

    load_tile(p.q, b * p.q_strides[0] + h * p.q_strides[1] + q0 * p.q_strides[2], p.q_strides[2], p.q_strides[3], rows,
              p.head_dim, p.type, ws.q.data());
    pack_panels(ws.q.data(), rows, p.head_dim, p.head_dim, kMicroRows, false, ws.q_panels.data(), p.head_dim);
    std::fill(ws.acc.begin(), ws.acc.end(), 0.0f);
    std::fill(ws.row_max.begin(), ws.row_max.end(), kNegInf);
    std::fill(ws.row_sum.begin(), ws.row_sum.end(), 0.0f);

    // Top-left causal: the last row of this block sees keys up to q0 + rows - 1.
    const int64_t key_end = p.causal ? std::min(p.seq_k, q0 + rows) : p.seq_k;
    for (int64_t k0 = 0; k0 < key_end; k0 += kKeyBlock) {
      const int64_t keys = std::min(kKeyBlock, key_end - k0);
      load_tile(p.k, b * p.k_strides[0] + h_kv * p.k_strides[1] + k0 * p.k_strides[2], p.k_strides[2], p.k_strides[3],
                keys, p.head_dim, p.type, ws.k.data());
      load_tile(p.v, b * p.v_strides[0] + h_kv * p.v_strides[1] + k0 * p.v_strides[2], p.v_strides[2], p.v_strides[3],
                keys, p.head_dim_v, p.type, ws.v.data());
      // S = Q K^T: depth = head_dim; B panel holds key columns.
      pack_panels(ws.k.data(), keys, p.head_dim, p.head_dim, kMicroCols, false, ws.k_panels.data(), p.head_dim);
      panel_product(kQueryBlock, kKeyBlock, p.head_dim, ws.q_panels.data(), ws.k_panels.data(), ws.scores.data());

      // Online softmax update per row; masked entries become probability 0.
      std::fill(ws.probs.begin(), ws.probs.end(), 0.0f);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t visible = p.causal ? std::min(keys, q0 + r + 1 - k0) : keys;
        float tile_max = kNegInf;
        for (int64_t c = 0; c < visible; ++c) {
          tile_max = std::max(tile_max, micro_at(ws.scores.data(), kKeyBlock, r, c) * p.scale);
        }
        if (visible <= 0) continue;
        const float new_max = std::max(ws.row_max[r], tile_max);
        const float correction = std::exp(ws.row_max[r] - new_max);  // exp(-inf) = 0 on the first tile
        float tile_sum = 0.0f;
        for (int64_t c = 0; c < visible; ++c) {
          const float prob = std::exp(micro_at(ws.scores.data(), kKeyBlock, r, c) * p.scale - new_max);
          ws.probs[r * kKeyBlock + c] = prob;
          tile_sum += prob;
        }
        ws.row_sum[r] = ws.row_sum[r] * correction + tile_sum;
        ws.row_max[r] = new_max;
        for (int64_t c = 0; c < dv_pad; ++c) micro_at(ws.acc.data(), dv_pad, r, c) *= correction;
      }
      // O += P V: depth = keys; B panel holds value columns.
      pack_panels(ws.probs.data(), kQueryBlock, kKeyBlock, kKeyBlock, kMicroRows, false, ws.p_panels.data(), kKeyBlock);
      pack_panels(ws.v.data(), keys, p.head_dim_v, p.head_dim_v, kMicroCols, true, ws.v_panels.data(), kKeyBlock);
      panel_product(kQueryBlock, dv_pad, kKeyBlock, ws.p_panels.data(), ws.v_panels.data(), ws.out_tile.data());
      for (size_t i = 0; i < ws.acc.size(); ++i) ws.acc[i] += ws.out_tile[i];
    }

    for (int64_t r = 0; r < rows; ++r) {
      const float sum = ws.row_sum[r];
      // No visible keys (seq_k == 0): output 0 and lse -inf, matching softmax over an empty row.
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      const int64_t out_base = b * p.out_strides[0] + h * p.out_strides[1] + (q0 + r) * p.out_strides[2];
      for (int64_t c = 0; c < p.head_dim_v; ++c) {
        store_from_float(p.out, out_base + c * p.out_strides[3], p.type, micro_at(ws.acc.data(), dv_pad, r, c) * inv);
      }
      p.lse[(b * p.heads_q + h) * p.seq_q + q0 + r] = sum > 0.0f ? ws.row_max[r] + std::log(sum) : kNegInf;
    }
  }
}

}  // namespace tilekernels::cpu
