// The fp16 / bf16 bmm kernels under emulation against float64: the mma.sync kernel (bmm_mma_sm80.cuh:
// batches on grid.y, epilogues staged in one pass or several) and the TMA + warp-specialized one
// (bmm_wgmma_tma.cuh: persistent CTAs walking several tiles, rows storing through shared memory with
// TMA), every operand layout, edge tiles in m, n and k. Usage: bmm SEED [early | late]
#include "emu_bmm.h"
#include "emu_tma.h"
#include "kernels/bmm/bmm_mma_sm80.cuh"
#include "kernels/bmm/bmm_wgmma_tma.cuh"

using namespace tilekernels;
using namespace tilekernels::bmm;

namespace tilekernels::bmm::mma_sm80 {
alignas(1024) unsigned char smem[emu::kSmemBytes];
}
namespace tilekernels::bmm::wgmma_tma {
alignas(1024) unsigned char smem[emu::kSmemBytes];
}

template <int kConfig, bool kAKMajor, bool kBKMajor>
bool run(int batch, int m, int n, int k, std::mt19937& rng) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using T = std::conditional_t<kCfg.math == MathMode::kBf16, __nv_bfloat16, __half>;
  emu::BmmCall<T, kAKMajor, kBKMajor> call(kCfg, batch, m, n, k, rng);
  const Params& p = call.params;
  const unsigned tiles = static_cast<unsigned>(((m + kCfg.block_m - 1) / kCfg.block_m) * ((n + kCfg.block_n - 1) / kCfg.block_n));
  if constexpr (kCfg.uses_tma()) {
    if (!tma_serves(kCfg, p)) std::abort();
    TmaOperands maps{emu::emulated_map(a_tensor_map(kCfg, p)), emu::emulated_map(b_tensor_map(kCfg, p)), {}};
    if (kCfg.store_via_tma) maps.c = emu::emulated_map(c_tensor_map(p));
    // Persistent rows: fewer CTAs than tiles, so each walks several.
    const unsigned all = tiles * static_cast<unsigned>(batch);
    emu::shared_memory = wgmma_tma::smem;
    emu::launch(kCfg.persistent ? std::max(1u, all / 3) : all, kCfg.threads(),
                [&] { wgmma_tma::Kernel<kConfig, kAKMajor, kBKMajor>::run(p, maps); });
  } else {
    emu::shared_memory = mma_sm80::smem;
    emu::launch(EmuDim{tiles, static_cast<unsigned>(batch), 1}, kCfg.threads(),
                [&] { mma_sm80::Kernel<kConfig, kAKMajor, kBKMajor>::run(p); });
  }
  return call.check();
}

int main(int argc, char** argv) {
  std::mt19937 rng = emu::start(argc, argv);
  bool ok = true;
  ok &= run<emu::row_named(kTileConfigs, "fp16_128x128x32_w2x2_s4"), true, true>(2, 130, 150, 72, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_128x128x32_w2x2_s4"), false, false>(2, 70, 200, 40, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_64x64x32_w2x2_s3"), true, false>(3, 65, 70, 100, rng);
  ok &= run<emu::row_named(kTileConfigs, "bf16_64x128x32_w2x2_s4"), false, true>(1, 129, 130, 33, rng);
  ok &= run<emu::row_named(kTileConfigs, "fp16_128x256x64_w2x4_s3"), true, true>(1, 140, 260, 136, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_fp16_128x128x64_s6"), true, false>(2, 130, 200, 72, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_bf16_128x256x64_s4_persistent"), false, true>(3, 150, 260, 136, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_fp16_128x192x64_s4_persistent_tma_store"), true, true>(2, 140, 390, 64, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_bf16_128x64x64_s8_persistent_tma_store"), false, false>(3, 129, 100, 200, rng);
  return emu::finish(ok);
}
