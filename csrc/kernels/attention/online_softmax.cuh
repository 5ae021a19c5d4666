#pragma once
// The online softmax of the kRegister kernels (mma.sync and wgmma): a warp's rows live in kMT m16
// row tiles of the accumulator layout (rows g and g + 8 of each, columns 2t and 2t + 1 of each n8
// tile), S of a key block in kNT n8 tiles and O in kDT. The softmax runs in base 2 on the logits
// s * scale * log2(e), with a lazily moved reference max.
#include <cmath>

#include "kernels/attention/kernel_common.cuh"
#include "kernels/ptx/ex2.cuh"

namespace tilekernels::attention::detail {

template <int kMT, int kNT, int kDT>
struct OnlineSoftmax {
  // The reference max of a row moves (and O, l are rescaled) only when a block's max exceeds it by
  // more than kLazyLog2, so p = exp2(s - ref) <= 2^kLazyLog2 (fine in fp16 / bf16 and fp32 sums);
  // most blocks then skip the O rescale.
  static constexpr float kLazyLog2 = 8.0f;

  float m_ref[kMT][2];  // reference max (base-2 logits) of rows g and g + 8; -inf until a key is seen
  float l_run[kMT][2];  // sum of exp2(s - m_ref) over this lane's columns only (quad-reduced at the end)
  // The logits are s * c with c = scale * log2(e). For c > 0 the row max of s * c is c * (max of s),
  // so p = exp2(fma(s, c, -max)); other scales multiply first and continue with c = 1.
  float scale_log2;
  float c;
  bool scale_positive;

  __device__ __forceinline__ explicit OnlineSoftmax(float scale_log2_) : scale_log2(scale_log2_) {
    scale_positive = scale_log2 > 0.0f;
    c = scale_positive ? scale_log2 : 1.0f;
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
      m_ref[mi][0] = m_ref[mi][1] = -INFINITY;
      l_run[mi][0] = l_run[mi][1] = 0.0f;
    }
  }

  // The first half of the softmax of the raw scores s of keys [kv0, kv0 + 8 kNT): scale, mask and
  // the reference max. `row0` is the warp's first query row; with `needs_mask` keys >= seq_k and
  // (causal, top-left) keys after the row are masked. When the reference max moves, O's rows must be
  // multiplied by alpha: rescale(mi, hf, alpha) is called for each row of the warp (step() does it
  // right there; the wgmma kernel keeps the factors until its O is no longer in flight).
  template <class Rescale>
  __device__ __forceinline__ void update_max(float (&s)[kMT][kNT][4], int row0, int kv0, int seq_k, bool causal,
                                             bool needs_mask, int g, int t, Rescale&& rescale) {
    if (!scale_positive) {
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) s[mi][nt][i] *= scale_log2;
        }
      }
    }
    if (needs_mask) {
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int row = row0 + mi * 16 + g + ((i >> 1) << 3);
            const int col = kv0 + nt * 8 + 2 * t + (i & 1);
            if (col >= seq_k || (causal && col > row)) s[mi][nt][i] = -INFINITY;
          }
        }
      }
    }

    float tile_max[kMT][2];
    bool grows = false;
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mi][nt][2 * hf], s[mi][nt][2 * hf + 1]));
        tile_max[mi][hf] = quad_max(mx) * c;
        grows |= tile_max[mi][hf] > m_ref[mi][hf] + kLazyLog2;
      }
    }
    if (__any_sync(0xffffffffu, grows)) {
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          const float m_new = fmaxf(m_ref[mi][hf], tile_max[mi][hf]);
          // 0 while the row has seen no key (m_ref = -inf): its l and O are still 0.
          const float alpha = ptx::ex2_approx(m_ref[mi][hf] - finite_max(m_new));
          m_ref[mi][hf] = m_new;
          l_run[mi][hf] *= alpha;
          rescale(mi, hf, alpha);
        }
      }
    }
  }

  // The second half: s becomes p = exp2(logit - m_ref), summed into l.
  __device__ __forceinline__ void exponentiate(float (&s)[kMT][kNT][4]) {
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const float neg_m = -finite_max(m_ref[mi][hf]);
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float pe = ptx::ex2_approx(fmaf(s[mi][nt][2 * hf + e], c, neg_m));
            s[mi][nt][2 * hf + e] = pe;
            sum += pe;
          }
        }
        l_run[mi][hf] += sum;
      }
    }
  }

  // The whole softmax of a block, O's rows rescaled as the reference max moves (O not in flight).
  __device__ __forceinline__ void step(float (&s)[kMT][kNT][4], float (&o)[kMT][kDT][4], int row0, int kv0,
                                       int seq_k, bool causal, bool needs_mask, int g, int t) {
    update_max(s, row0, kv0, seq_k, causal, needs_mask, g, t, [&](int mi, int hf, float alpha) {
#pragma unroll
      for (int dt = 0; dt < kDT; ++dt) {
        o[mi][dt][2 * hf] *= alpha;
        o[mi][dt][2 * hf + 1] *= alpha;
      }
    });
    exponentiate(s);
  }

  // 1 / l of the warp's rows, and lse = ln(sum exp(scale * s)) = (m_ref + log2 l) * ln 2 when `lse`
  // (the head's row 0) is given.
  __device__ __forceinline__ void finish(float (&inv_l)[kMT][2], float* lse, int row0, int seq_q, int g,
                                         int t) const {
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const float l = quad_sum(l_run[mi][hf]);
        inv_l[mi][hf] = inverse_sum(l);
        const int row = row0 + mi * 16 + g + 8 * hf;
        if (row < seq_q && t == 0 && lse != nullptr) {
          lse[row] = l > 0.0f ? (m_ref[mi][hf] + log2f(l)) * kLn2 : -INFINITY;
        }
      }
    }
  }
};

}  // namespace tilekernels::attention::detail
