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
  emu::print_problem(kTileConfigs[kConfig].name, p);
  emu::ForwardCall<typename K::T> call(p, kTileConfigs[kConfig].math, rng);
  detail::TileMap map;
  map.num_bh = int64_t(p.batch) * p.heads_q;
  map.num_q_tiles = (p.seq_q + K::kBQ - 1) / K::kBQ;
  map.reverse = p.causal;
  const detail::KernelArgs args{call.params, map, p.scale * detail::kLog2e};
  emu::launch(static_cast<unsigned>(map.num_bh * map.num_q_tiles), K::kThreads, [&] { K::run(args); });
  return call.check(p);
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
