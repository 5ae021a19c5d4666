#include "kernels/cpu/bmm_cpu.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/microkernel.h"

namespace tilekernels::cpu {
namespace {

constexpr int64_t kRowBlock = 64;    // rows of C per work item
constexpr int64_t kColBlock = 256;   // columns of C per packed B block (multiple of kMicroCols)
constexpr int64_t kDepthBlock = 256; // k per packed block

int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// B[k0:k0+depth, n0:n0+cols] -> panels of kMicroCols columns, k-major, zero-padded past n.
void pack_b(const BmmProblem& p, int64_t batch, int64_t k0, int64_t depth, int64_t n0, int64_t cols, float* row,
            float* out) {
  const int64_t panels = ceil_div(cols, kMicroCols);
  std::fill(row + cols, row + panels * kMicroCols, 0.0f);
  for (int64_t kk = 0; kk < depth; ++kk) {
    load_row_as_float(p.b, batch * p.b_strides[0] + (k0 + kk) * p.b_strides[1] + n0 * p.b_strides[2], p.b_strides[2],
                      cols, p.type, row);
    for (int64_t panel = 0; panel < panels; ++panel) {
      std::copy(row + panel * kMicroCols, row + (panel + 1) * kMicroCols, out + (panel * depth + kk) * kMicroCols);
    }
  }
}

// A[m0:m0+kMicroRows, k0:k0+depth] -> k-major panel, zero-padded past m.
void pack_a(const BmmProblem& p, int64_t batch, int64_t m0, int64_t m_end, int64_t k0, int64_t depth, float* row,
            float* out) {
  for (int r = 0; r < kMicroRows; ++r) {
    const int64_t m = m0 + r;
    if (m < m_end) {
      load_row_as_float(p.a, batch * p.a_strides[0] + m * p.a_strides[1] + k0 * p.a_strides[2], p.a_strides[2], depth,
                        p.type, row);
    } else {
      std::fill(row, row + depth, 0.0f);
    }
    for (int64_t kk = 0; kk < depth; ++kk) out[kk * kMicroRows + r] = row[kk];
  }
}

}  // namespace

int64_t bmm_cpu_work_items(const BmmProblem& problem) {
  return problem.batch * ceil_div(problem.m, kRowBlock);
}

void bmm_cpu_run(const BmmProblem& p, int64_t begin, int64_t end) {
  const int64_t row_blocks = ceil_div(p.m, kRowBlock);
  std::vector<float> b_packed(kDepthBlock * kColBlock);
  std::vector<float> a_packed(kDepthBlock * kMicroRows);
  std::vector<float> acc(kRowBlock * kColBlock);
  std::vector<float> row(std::max(kColBlock, kDepthBlock));

  for (int64_t item = begin; item < end; ++item) {
    const int64_t batch = item / row_blocks;
    const int64_t m_begin = (item % row_blocks) * kRowBlock;
    const int64_t m_end = std::min(p.m, m_begin + kRowBlock);
    for (int64_t n0 = 0; n0 < p.n; n0 += kColBlock) {
      const int64_t cols = std::min(kColBlock, p.n - n0);
      const int64_t panels = ceil_div(cols, kMicroCols);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k0 = 0; k0 < p.k; k0 += kDepthBlock) {
        const int64_t depth = std::min(kDepthBlock, p.k - k0);
        pack_b(p, batch, k0, depth, n0, cols, row.data(), b_packed.data());
        for (int64_t m0 = m_begin; m0 < m_end; m0 += kMicroRows) {
          pack_a(p, batch, m0, m_end, k0, depth, row.data(), a_packed.data());
          float* acc_rows = acc.data() + (m0 - m_begin) * kColBlock;
          for (int64_t panel = 0; panel < panels; ++panel) {
            // acc is laid out per micro tile: kMicroRows x kMicroCols contiguous blocks.
            microkernel_accumulate(depth, a_packed.data(), b_packed.data() + panel * depth * kMicroCols,
                                   acc_rows + panel * kMicroRows * kMicroCols);
          }
        }
      }
      const int64_t c_base = batch * p.c_strides[0];
      for (int64_t m = m_begin; m < m_end; ++m) {
        const int64_t tile_row = m - m_begin;
        const float* micro_rows = acc.data() + (tile_row - tile_row % kMicroRows) * kColBlock;
        for (int64_t c = 0; c < cols; ++c) {
          row[c] = micro_rows[(c / kMicroCols) * kMicroRows * kMicroCols + (tile_row % kMicroRows) * kMicroCols +
                              c % kMicroCols];
        }
        store_row_from_float(p.c, c_base + m * p.c_strides[1] + n0 * p.c_strides[2], p.c_strides[2], cols, p.type,
                             row.data());
      }
    }
  }
}

}  // namespace tilekernels::cpu
