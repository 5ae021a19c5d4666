// The Hopper forward kernels under emulation against float64: kRegister on wgmma (cp.async, both
// products on wgmma: SS with K-major tiles, RS with an MN-major V): fp16 / bf16, GQA, causal with
// seq_q != seq_k, partial tiles, padded head dims, [B, S, H, D] k / v. Usage: attention_forward_hopper SEED
#include "emu_driver.h"
#include "kernels/attention/fwd_register_wgmma.cuh"

using namespace tilekernels;
using namespace tilekernels::attention;

namespace tilekernels::attention::detail {
alignas(1024) unsigned char register_wgmma_dynamic_smem[emu::kSmemBytes];
}  // namespace tilekernels::attention::detail

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
  emu::shared_memory = detail::register_wgmma_dynamic_smem;
  emu::launch(grid, kCfg.threads(), [&] { detail::RegisterWgmmaKernel<kConfig>::run(args); });
  return call.check(p);
}

int main(int argc, char** argv) {
  std::mt19937 rng = emu::start(argc, argv);
  const emu::Problem gqa{1, 4, 2, 130, 200, 120, true, 0.1f, true};
  const emu::Problem plain{1, 2, 2, 70, 150, 128, false, 0.09f, false};
  const emu::Problem small{2, 3, 1, 1, 17, 64, true, 0.3f, false};
  const emu::Problem gqa64{1, 4, 2, 130, 200, 56, true, 0.12f, true};
  bool ok = true;
  ok &= run<emu::row_named(kTileConfigs, "fp16_d128_wgmma_q128_kv128_s2")>(plain, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d128_wgmma_q192_kv64_s2")>(gqa, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_wgmma_q128_kv64_s3")>(small, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d64_wgmma_q128_kv128_s2")>(gqa64, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d256_wgmma_q128_kv64_s2")>(plain, rng);
  return emu::finish(ok);
}
