// The attention backward kernels (delta pre-pass, key-block dK / dV and query-block dQ, each on mma.sync
// and on Hopper wgmma; fp16 / bf16, d64 / d128 / d256) under emulation against float64 gradients: grouped-query heads, causal with seq_q != seq_k,
// partial blocks, a single query row, head dims padded to 16 bytes, [B, S, H, D] k / v, grad_lse.
// Usage: attention_backward SEED
#include "emu_driver.h"
#include "emu_tma.h"
#include "kernels/attention/backward/bwd_delta.cuh"
#include "kernels/attention/backward/bwd_dq_convert.cuh"
#include "kernels/attention/backward/bwd_key.cuh"
#include "kernels/attention/backward/bwd_key_wgmma.cuh"
#include "kernels/attention/backward/bwd_key_wgmma_split.cuh"
#include "kernels/attention/backward/bwd_key_ws.cuh"
#include "kernels/attention/backward/bwd_query.cuh"
#include "kernels/attention/backward/bwd_query_wgmma.cuh"

namespace tilekernels::attention::detail {
alignas(1024) unsigned char backward_key_wgmma_dynamic_smem[emu::kSmemBytes];
alignas(1024) unsigned char backward_query_wgmma_dynamic_smem[emu::kSmemBytes];
alignas(1024) unsigned char backward_key_ws_dynamic_smem[emu::kSmemBytes];
}  // namespace tilekernels::attention::detail

using namespace tilekernels;
using namespace tilekernels::attention;

// Gradients in float64 from the kernels' own inputs (out rounded as the forward stores it).
template <class T>
void reference_backward(const emu::Problem& p, const std::vector<T>& q, const std::vector<T>& k,
                        const std::vector<T>& v, const std::vector<T>& out, const std::vector<T>& grad_out,
                        const std::vector<float>& grad_lse, std::vector<double>& dq, std::vector<double>& dk,
                        std::vector<double>& dv) {
  const int row = p.row();
  dq.assign(p.q_elements(), 0.0);
  dk.assign(p.kv_elements(), 0.0);  // [batch, heads_kv, seq_k, row], as the kernels write them
  dv.assign(p.kv_elements(), 0.0);
  std::vector<double> probs;
  for (int b = 0; b < p.batch; ++b)
    for (int h = 0; h < p.heads_q; ++h)
      for (int i = 0; i < p.seq_q; ++i) {
        emu::row_probabilities(p, q, k, b, h, i, probs);
        const int hk = h / p.group();
        double delta = -grad_lse[(int64_t(b) * p.heads_q + h) * p.seq_q + i];
        for (int d = 0; d < p.head_dim; ++d)
          delta += emu::value_of(grad_out[p.q_index(b, h, i, d)]) * emu::value_of(out[p.q_index(b, h, i, d)]);
        for (int j = 0; j < p.seq_k; ++j) {
          double dp = 0;
          for (int d = 0; d < p.head_dim; ++d)
            dp += emu::value_of(grad_out[p.q_index(b, h, i, d)]) * emu::value_of(v[p.kv_index(b, hk, j, d)]);
          const double ds = probs[j] * (dp - delta);
          const int64_t kv_row = ((int64_t(b) * p.heads_kv + hk) * p.seq_k + j) * row;
          for (int d = 0; d < p.head_dim; ++d) {
            dq[p.q_index(b, h, i, d)] += p.scale * ds * emu::value_of(k[p.kv_index(b, hk, j, d)]);
            dk[kv_row + d] += p.scale * ds * emu::value_of(q[p.q_index(b, h, i, d)]);
            dv[kv_row + d] += probs[j] * emu::value_of(grad_out[p.q_index(b, h, i, d)]);
          }
        }
      }
}

template <int kConfig>
bool run(const emu::Problem& p, bool with_grad_lse, std::mt19937& rng) {
  constexpr bool kWgmmaKeys = kBackwardConfigs[kConfig].keys.wgmma;
  constexpr bool kWs = kBackwardConfigs[kConfig].keys.warp_specialized;
  using Key = std::conditional_t<
      kWs, detail::BackwardKeyWsKernel<kConfig>,
      std::conditional_t<
          kBackwardConfigs[kConfig].keys.split_products, detail::BackwardKeySplitWgmmaKernel<kConfig>,
          std::conditional_t<kWgmmaKeys, detail::BackwardKeyWgmmaKernel<kConfig>, detail::BackwardKeyKernel<kConfig>>>>;
  constexpr bool kDqAtomic = kBackwardConfigs[kConfig].dq_atomic;
  constexpr bool kWgmmaQueries = kBackwardConfigs[kConfig].queries.wgmma;
  using T = typename Key::T;
  emu::print_problem(kBackwardConfigs[kConfig].name, p);
  if (with_grad_lse) std::printf("  with grad_lse\n");
  const std::vector<T> q = emu::random_tensor<T>(p.q_elements(), rng), k = emu::random_tensor<T>(p.kv_elements(), rng),
                       v = emu::random_tensor<T>(p.kv_elements(), rng),
                       grad_out = emu::random_tensor<T>(p.q_elements(), rng);
  const int64_t rows = int64_t(p.batch) * p.heads_q * p.seq_q;
  std::vector<double> out64, lse64;
  emu::reference_forward(p, q, k, v, out64, lse64);
  std::vector<T> out(out64.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = emu::round_to<T>(static_cast<float>(out64[i]));
  std::vector<float> lse(lse64.begin(), lse64.end()), grad_lse(rows, 0.0f), delta(rows, NAN);
  if (with_grad_lse) {
    std::normal_distribution<float> normal;
    for (auto& g : grad_lse) g = normal(rng);
  }
  std::vector<T> dq(p.q_elements(), emu::round_to<T>(NAN)), dk(p.kv_elements(), emu::round_to<T>(NAN)),
      dv(p.kv_elements(), emu::round_to<T>(NAN));
  const int64_t q_rows = int64_t(p.heads_q) * p.seq_q;
  std::vector<float> dq_accum(kDqAtomic ? rows * p.row() : 0, 0.0f);
  // Poisoned: the pre-pass must write every element the kernel reads, padding rows included.
  std::vector<float> vectors(kWs ? backward_vectors_elements(p.batch, p.heads_q, p.seq_q) : 0, NAN);
  BackwardParams params{
      .q = q.data(), .k = k.data(), .v = v.data(), .out = out.data(), .grad_out = grad_out.data(), .lse = lse.data(),
      .grad_lse = with_grad_lse ? grad_lse.data() : nullptr, .delta = delta.data(),
      .grad_q = dq.data(), .grad_k = dk.data(), .grad_v = dv.data(), .dq_accum = dq_accum.data(),
      .batch = p.batch, .heads_q = p.heads_q, .heads_kv = p.heads_kv, .seq_q = p.seq_q, .seq_k = p.seq_k,
      .head_dim = p.head_dim,
      .q_batch_stride = q_rows * p.row(), .q_head_stride = int64_t(p.seq_q) * p.row(), .q_row_stride = p.row(),
      .k_batch_stride = p.kv_batch_stride(), .k_head_stride = p.kv_head_stride(), .k_row_stride = p.kv_row_stride(),
      .v_batch_stride = p.kv_batch_stride(), .v_head_stride = p.kv_head_stride(), .v_row_stride = p.kv_row_stride(),
      .out_batch_stride = q_rows * p.row(), .out_head_stride = int64_t(p.seq_q) * p.row(), .out_row_stride = p.row(),
      .grad_out_batch_stride = q_rows * p.row(), .grad_out_head_stride = int64_t(p.seq_q) * p.row(),
      .grad_out_row_stride = p.row(), .grad_row_stride = p.row(), .scale = p.scale, .causal = p.causal,
      .math = kBackwardConfigs[kConfig].math};
  if (kWs) params.vectors = vectors.data();
  const int64_t delta_rows = kWs ? static_cast<int64_t>(vectors.size()) / 2 : rows;
  emu::launch(static_cast<unsigned>((delta_rows + detail::kDeltaWarps - 1) / detail::kDeltaWarps),
              32 * detail::kDeltaWarps, [&] { detail::backward_delta_kernel<T>(params); });
  const unsigned key_blocks = p.batch * p.heads_kv * ((p.seq_k + Key::kBKV - 1) / Key::kBKV);
  if constexpr (kWs) {
    const BackwardTmaDescs descs(params, Key::kBQ, Key::kBKV);
    const BackwardTmaMaps maps{emu::emulated_map(descs.q), emu::emulated_map(descs.grad_out), emu::emulated_map(descs.k),
                               emu::emulated_map(descs.v), kDqAtomic ? emu::emulated_map(descs.dq) : CUtensorMap{}};
    emu::shared_memory = detail::backward_key_ws_dynamic_smem;
    emu::launch(key_blocks, Key::kThreads, [&] { Key::run(params, maps); });
  } else {
    if (kWgmmaKeys) emu::shared_memory = detail::backward_key_wgmma_dynamic_smem;
    emu::launch(key_blocks, Key::kThreads, [&] { Key::run(params); });
  }
  if constexpr (kDqAtomic) {
    emu::launch(static_cast<unsigned>((rows * p.row() / 4 + detail::kDqConvertThreads - 1) / detail::kDqConvertThreads),
                detail::kDqConvertThreads, [&] { detail::backward_dq_convert_kernel<T>(params); });
  } else {
    using Query = std::conditional_t<kWgmmaQueries, detail::BackwardQueryWgmmaKernel<kConfig>,
                                     detail::BackwardQueryKernel<kConfig>>;
    emu::shared_memory = kWgmmaQueries ? detail::backward_query_wgmma_dynamic_smem : detail::smem;
    emu::launch(p.batch * p.heads_q * ((p.seq_q + Query::kBQ - 1) / Query::kBQ), Query::kThreads,
                [&] { Query::run(params); });
  }

  std::vector<double> want_dq, want_dk, want_dv;
  reference_backward(p, q, k, v, out, grad_out, grad_lse, want_dq, want_dk, want_dv);
  const double tolerance = params.math == MathMode::kBf16 ? 3e-2 : 5e-3;
  const int64_t kv_rows = int64_t(p.batch) * p.heads_kv * p.seq_k;
  bool ok = emu::check_rows("dq", dq, want_dq, rows, p.row(), p.head_dim, tolerance);
  ok &= emu::check_rows("dk", dk, want_dk, kv_rows, p.row(), p.head_dim, tolerance);
  ok &= emu::check_rows("dv", dv, want_dv, kv_rows, p.row(), p.head_dim, tolerance);
  return ok;
}

// The row of (math, head_dim) with these engines (wgmma key-block kernel, wgmma query-block kernel).
constexpr int backward_row(MathMode math, int head_dim, bool wgmma_keys = false, bool wgmma_queries = false,
                           bool dq_atomic = false, bool warp_specialized = false) {
  for (int i = 0; i < kNumBackwardConfigs; ++i)
    if (kBackwardConfigs[i].math == math && kBackwardConfigs[i].head_dim == head_dim &&
        kBackwardConfigs[i].keys.wgmma == wgmma_keys && kBackwardConfigs[i].queries.wgmma == wgmma_queries &&
        kBackwardConfigs[i].dq_atomic == dq_atomic && kBackwardConfigs[i].keys.warp_specialized == warp_specialized)
      return i;
  return -1;
}

int main(int argc, char** argv) {
  emu::shared_memory = detail::smem;
  std::mt19937 rng = emu::start(argc, argv);
  bool ok = true;
  ok &= run<backward_row(MathMode::kFp16, 64)>({1, 4, 2, 37, 53, 40, false, 0.16f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 64)>({1, 2, 2, 70, 45, 64, true, 0.3f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 64)>({2, 2, 1, 1, 5, 8, false, 0.35f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 128)>({1, 2, 1, 65, 129, 100, true, 0.2f, true}, true, rng);
  ok &= run<backward_row(MathMode::kBf16, 128)>({1, 1, 1, 130, 70, 128, true, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 64, true)>({1, 4, 2, 37, 153, 40, false, 0.16f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 64, true)>({1, 2, 2, 70, 45, 64, true, 0.3f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true)>({1, 2, 1, 65, 260, 100, true, 0.2f, true}, true, rng);
  ok &= run<backward_row(MathMode::kBf16, 128, true)>({1, 1, 1, 130, 70, 128, true, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true)>({1, 2, 2, 200, 33, 128, false, 0.09f, true}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 64, true, true)>({1, 4, 2, 137, 153, 40, false, 0.16f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 64, true, true)>({1, 2, 2, 70, 245, 64, true, 0.3f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true, true)>({1, 2, 1, 265, 100, 100, true, 0.2f, true}, true, rng);
  ok &= run<backward_row(MathMode::kBf16, 128, true, true)>({1, 1, 1, 1, 70, 128, false, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true, true)>({2, 2, 2, 130, 190, 128, true, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 64, true, false, true)>({1, 4, 2, 137, 153, 40, false, 0.16f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 64, true, false, true)>({1, 2, 2, 70, 245, 64, true, 0.3f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true, false, true)>({1, 2, 1, 265, 100, 100, true, 0.2f, true}, true, rng);
  ok &= run<backward_row(MathMode::kBf16, 128, true, false, true)>({1, 1, 1, 1, 70, 128, false, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true, false, true)>({2, 2, 2, 130, 190, 128, true, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 256, true, false, true)>({1, 4, 2, 37, 153, 200, false, 0.07f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 256, true, false, true)>({1, 2, 1, 130, 70, 256, true, 0.06f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 256, true, false, true)>({2, 1, 1, 1, 65, 256, false, 0.06f, false}, false, rng);
  // Warp-specialized key-block kernel (TMA, mbarrier ring), with the query-block kernel and with dQ atomics.
  ok &= run<backward_row(MathMode::kFp16, 64, true, true, false, true)>({1, 4, 2, 137, 153, 40, false, 0.16f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 128, true, true, false, true)>({2, 2, 2, 130, 190, 128, true, 0.09f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 64, true, false, true, true)>({1, 4, 2, 137, 153, 40, false, 0.16f, false}, false, rng);
  ok &= run<backward_row(MathMode::kBf16, 64, true, false, true, true)>({1, 2, 2, 70, 245, 64, true, 0.3f, true}, true, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true, false, true, true)>({1, 2, 1, 265, 100, 100, true, 0.2f, true}, true, rng);
  ok &= run<backward_row(MathMode::kBf16, 128, true, false, true, true)>({1, 1, 1, 1, 70, 128, false, 0.09f, false}, false, rng);
  ok &= run<backward_row(MathMode::kFp16, 128, true, false, true, true)>({2, 2, 2, 130, 190, 128, true, 0.09f, false}, false, rng);
  return emu::finish(ok);
}
