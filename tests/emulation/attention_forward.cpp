// The forward kRegister kernels (mma.sync, fp16 / bf16) under emulation against float64:
// grouped-query heads, causal with seq_q != seq_k, partial tiles, head dims padded to 16 bytes, k / v
// as [batch, seq, heads, dim] views. Usage: attention_forward SEED
#include "emu_driver.h"
#include "kernels/attention/fwd_register.cuh"

using namespace tilekernels;
using namespace tilekernels::attention;

template <int kConfig>
bool run(const emu::Problem& p, std::mt19937& rng) {
  using K = detail::RegisterKernel<kConfig>;
  using T = typename K::T;
  std::printf("%s: b%d hq%d hkv%d sq%d sk%d d%d%s%s\n", kTileConfigs[kConfig].name, p.batch, p.heads_q, p.heads_kv,
              p.seq_q, p.seq_k, p.head_dim, p.causal ? " causal" : "", p.kv_bshd ? " bshd" : "");
  const std::vector<T> q = emu::random_tensor<T>(p.q_elements(), rng), k = emu::random_tensor<T>(p.kv_elements(), rng),
                       v = emu::random_tensor<T>(p.kv_elements(), rng);
  std::vector<T> out(p.q_elements(), emu::round_to<T>(NAN));
  std::vector<float> lse(int64_t(p.batch) * p.heads_q * p.seq_q, NAN);
  const int64_t q_rows = int64_t(p.heads_q) * p.seq_q;
  const Params params{.q = q.data(), .k = k.data(), .v = v.data(), .out = out.data(), .lse = lse.data(),
                      .batch = p.batch, .heads_q = p.heads_q, .heads_kv = p.heads_kv,
                      .seq_q = p.seq_q, .seq_k = p.seq_k, .head_dim = p.head_dim,
                      .q_batch_stride = q_rows * p.row(), .q_head_stride = int64_t(p.seq_q) * p.row(), .q_row_stride = p.row(),
                      .k_batch_stride = p.kv_batch_stride(), .k_head_stride = p.kv_head_stride(), .k_row_stride = p.kv_row_stride(),
                      .v_batch_stride = p.kv_batch_stride(), .v_head_stride = p.kv_head_stride(), .v_row_stride = p.kv_row_stride(),
                      .out_batch_stride = q_rows * p.row(), .out_head_stride = int64_t(p.seq_q) * p.row(), .out_row_stride = p.row(),
                      .scale = p.scale, .causal = p.causal, .math = kTileConfigs[kConfig].math};
  detail::TileMap map;
  map.num_bh = int64_t(p.batch) * p.heads_q;
  map.num_q_tiles = (p.seq_q + K::kBQ - 1) / K::kBQ;
  map.reverse = p.causal;
  const detail::KernelArgs args{params, map, p.scale * detail::kLog2e};
  emu::launch(static_cast<unsigned>(map.num_bh * map.num_q_tiles), K::kThreads, [&] { K::run(args); });

  std::vector<double> want_out, want_lse;
  emu::reference_forward(p, q, k, v, want_out, want_lse);
  const double tolerance = params.math == MathMode::kBf16 ? 1.5e-2 : 2e-3;
  bool ok = emu::check_rows("out", out, want_out, int64_t(p.batch) * p.heads_q * p.seq_q, p.row(), p.head_dim, tolerance);
  double lse_error = 0;
  for (size_t r = 0; r < lse.size(); ++r) lse_error = std::max(lse_error, std::isnan(lse[r]) ? INFINITY : std::fabs(lse[r] - want_lse[r]));
  std::printf("  %s lse: max error %.3g\n", lse_error <= 1e-3 ? "ok  " : "FAIL", lse_error);
  return ok && lse_error <= 1e-3;
}

// The first mma.sync kRegister row of (math, head_dim) in the table.
constexpr int register_row(MathMode math, int head_dim) {
  for (int i = 0; i < kNumTileConfigs; ++i) {
    const TileConfig& c = kTileConfigs[i];
    if (c.kernel == Kernel::kRegister && !c.is_wgmma() && c.math == math && c.head_dim == head_dim) return i;
  }
  return -1;
}

int main(int argc, char** argv) {
  emu::shared_memory = detail::smem;
  std::mt19937 rng(emu::seed_from(argc, argv));
  const emu::Problem small{1, 4, 2, 70, 90, 40, true, 0.3f, false};
  const emu::Problem tall{2, 2, 1, 130, 45, 64, false, 0.125f, true};
  const emu::Problem wide{1, 2, 2, 33, 100, 128, true, 0.09f, true};
  bool ok = true;
  ok &= run<register_row(MathMode::kFp16, 64)>(small, rng);
  ok &= run<register_row(MathMode::kBf16, 64)>(tall, rng);
  ok &= run<register_row(MathMode::kFp16, 128)>(wide, rng);
  ok &= run<register_row(MathMode::kBf16, 128)>(small, rng);
  std::printf(ok ? "all passed\n" : "FAILED\n");
  return ok ? 0 : 1;
}
