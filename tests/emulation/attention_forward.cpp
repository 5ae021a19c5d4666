// The forward mma.sync kernels (kRegister; kSplitD and kTwoPhase for large head dims; fp16 / bf16)
// under emulation against float64: grouped-query heads, causal with seq_q != seq_k, partial tiles,
// head dims padded to 16 bytes, k / v as [batch, seq, heads, dim] views. Usage: attention_forward SEED
#include "emu_driver.h"
#include "kernels/attention/fwd_register.cuh"
#include "kernels/attention/fwd_split_d.cuh"
#include "kernels/attention/fwd_two_phase.cuh"

namespace tilekernels::attention::detail {
alignas(1024) unsigned char two_phase_dynamic_smem[emu::kSmemBytes];
}

using namespace tilekernels;
using namespace tilekernels::attention;

template <int kConfig>
bool run(const emu::Problem& p, std::mt19937& rng) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using T = std::conditional_t<kCfg.math == MathMode::kBf16, __nv_bfloat16, __half>;
  emu::print_problem(kCfg.name, p);
  emu::ForwardCall<T> call(p, kCfg.math, rng);
  detail::TileMap map;
  map.num_bh = int64_t(p.batch) * p.heads_q;
  map.num_q_tiles = (p.seq_q + kCfg.block_q() - 1) / kCfg.block_q();
  map.reverse = p.causal;
  const detail::KernelArgs args{call.params, map, p.scale * detail::kLog2e};
  const unsigned grid = static_cast<unsigned>(map.num_bh * map.num_q_tiles);
  if constexpr (kCfg.kernel == Kernel::kRegister) {
    emu::shared_memory = detail::smem;
    emu::launch(grid, kCfg.threads(), [&] { detail::RegisterKernel<kConfig>::run(args); });
  } else if constexpr (kCfg.kernel == Kernel::kSplitD) {
    emu::shared_memory = detail::smem;
    emu::launch(grid, kCfg.threads(), [&] { detail::SplitDKernel<kConfig>::run(args); });
  } else {
    emu::shared_memory = detail::two_phase_dynamic_smem;
    emu::launch(grid, kCfg.threads(), [&] { detail::TwoPhaseKernel<kConfig>::run(args); });
  }
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
  std::mt19937 rng = emu::start(argc, argv);
  const emu::Problem small{1, 4, 2, 70, 90, 40, true, 0.3f, false};
  const emu::Problem tall{2, 2, 1, 130, 45, 64, false, 0.125f, true};
  const emu::Problem wide{1, 2, 2, 33, 100, 128, true, 0.09f, true};
  bool ok = true;
  ok &= run<register_row(MathMode::kFp16, 64)>(small, rng);
  ok &= run<register_row(MathMode::kBf16, 64)>(tall, rng);
  ok &= run<register_row(MathMode::kFp16, 128)>(wide, rng);
  ok &= run<register_row(MathMode::kBf16, 128)>(small, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d512_splitd_q64_w8")>({1, 2, 1, 70, 90, 500, true, 0.05f, true}, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d1024_2p_q64_k512")>({1, 2, 2, 65, 300, 1000, false, 0.03f, false}, rng);
  return emu::finish(ok);
}
