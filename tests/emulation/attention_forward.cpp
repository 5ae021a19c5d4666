// The forward kernels under emulation against float64: on mma.sync kRegister, kSplitD and kTwoPhase
// (large head dims), on Hopper wgmma kRegister (cp.async, SS with K-major tiles, RS with an MN-major
// V) and kWarpSpecialized (TMA, mbarrier rings, ping-pong, persistent walks, O through TMA stores); fp16 / bf16, grouped-query heads, causal with seq_q != seq_k, partial tiles, head dims padded to
// 16 bytes, k / v as [batch, seq, heads, dim] views. Usage: attention_forward SEED [early | late]
#include "emu_driver.h"
#include "emu_tma.h"
#include "kernels/attention/fwd_register.cuh"
#include "kernels/attention/fwd_register_wgmma.cuh"
#include "kernels/attention/fwd_split_d.cuh"
#include "kernels/attention/fwd_two_phase.cuh"
#include "kernels/attention/fwd_warp_specialized.cuh"

namespace tilekernels::attention::detail {
alignas(1024) unsigned char two_phase_dynamic_smem[emu::kSmemBytes];
alignas(1024) unsigned char register_wgmma_dynamic_smem[emu::kSmemBytes];
alignas(1024) unsigned char warp_specialized_dynamic_smem[emu::kSmemBytes];
}  // namespace tilekernels::attention::detail

using namespace tilekernels;
using namespace tilekernels::attention;

// Runs body() over the call's query tiles with `smem` as the kernels' shared memory (persistent rows:
// a third as many CTAs, each walking about three tiles).
template <class Body>
void launch_tiles(const TileConfig& config, const emu::Problem& p, unsigned char* smem, Body body) {
  emu::shared_memory = smem;
  const unsigned tiles =
      static_cast<unsigned>(int64_t(p.batch) * p.heads_q * ((p.seq_q + config.block_q() - 1) / config.block_q()));
  const bool persistent = config.kernel == Kernel::kWarpSpecialized && config.ws.persistent;
  emu::launch(persistent ? std::max(1u, tiles / 3) : tiles, config.threads(), body);
}

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
  if constexpr (kCfg.kernel == Kernel::kWarpSpecialized) {
    if (!tma_serves(kCfg, call.params)) std::abort();
    const TmaMaps maps{emu::emulated_map(q_tensor_map(kCfg, call.params)),
                       emu::emulated_map(k_tensor_map(kCfg, call.params)),
                       emu::emulated_map(v_tensor_map(kCfg, call.params)),
                       stores_via_tma(kCfg) ? emu::emulated_map(out_tensor_map(kCfg, call.params)) : CUtensorMap{}};
    launch_tiles(kCfg, p, detail::warp_specialized_dynamic_smem,
                 [&] { detail::WarpSpecializedKernel<kConfig>::run(args, maps); });
  } else if constexpr (kCfg.kernel == Kernel::kRegister && kCfg.is_wgmma()) {
    launch_tiles(kCfg, p, detail::register_wgmma_dynamic_smem, [&] { detail::RegisterWgmmaKernel<kConfig>::run(args); });
  } else if constexpr (kCfg.kernel == Kernel::kRegister) {
    launch_tiles(kCfg, p, detail::smem, [&] { detail::RegisterKernel<kConfig>::run(args); });
  } else if constexpr (kCfg.kernel == Kernel::kSplitD) {
    launch_tiles(kCfg, p, detail::smem, [&] { detail::SplitDKernel<kConfig>::run(args); });
  } else {
    launch_tiles(kCfg, p, detail::two_phase_dynamic_smem, [&] { detail::TwoPhaseKernel<kConfig>::run(args); });
  }
  return call.check(p);
}

int main(int argc, char** argv) {
  std::mt19937 rng = emu::start(argc, argv);
  const emu::Problem small{1, 4, 2, 70, 90, 40, true, 0.3f, false};
  const emu::Problem tall{2, 2, 1, 130, 45, 64, false, 0.125f, true};
  const emu::Problem wide{1, 2, 2, 33, 100, 128, true, 0.09f, true};
  const emu::Problem gqa{1, 4, 2, 130, 200, 120, true, 0.1f, true};
  const emu::Problem plain{1, 2, 2, 70, 150, 128, false, 0.09f, false};
  const emu::Problem one_row{2, 3, 1, 1, 17, 64, true, 0.3f, false};
  const emu::Problem gqa64{1, 4, 2, 130, 200, 56, true, 0.12f, true};
  bool ok = true;
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_q128_kv64_w4_s2")>(small, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d64_q128_kv64_w4_s2")>(tall, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d128_q128_kv64_w4_s2")>(wide, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d128_q128_kv64_w4_s2")>(small, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d512_splitd_q64_w8")>({1, 2, 1, 70, 90, 500, true, 0.05f, true}, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d1024_2p_q64_k512")>({1, 2, 2, 65, 300, 1000, false, 0.03f, false}, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d128_wgmma_q128_kv128_s2")>(plain, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d128_wgmma_q192_kv64_s2")>(gqa, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_wgmma_q128_kv64_s3")>(one_row, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d64_wgmma_q128_kv128_s2")>(gqa64, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d256_wgmma_q128_kv64_s2")>(plain, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d128_ws_q128_kv128_s2_pp")>(gqa, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d128_ws_q128_kv64_s3")>(plain, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_ws_q192_kv128_s2_pp")>(one_row, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d64_ws_q128_kv128_s3")>(gqa64, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d256_ws_q128_kv64_s2")>(plain, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d128_ws_q128_kv128_s2_pp_persistent")>(gqa, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d128_ws_q128_kv128_s2_pp_persistent")>(plain, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_ws_q192_kv128_s2_pp_persistent")>(gqa64, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d128_ws_q128_kv128_s2_pp_persistent_tma_store")>(gqa, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d128_ws_q128_kv128_s2_pp_persistent_tma_store")>(wide, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_ws_q192_kv128_s2_pp_persistent_tma_store")>(gqa64, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_d64_ws_q192_kv128_s2_pp_persistent_tma_store")>(tall, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_d64_ws_q128_kv128_s2_pp_persistent")>(small, rng);
  return emu::finish(ok);
}
