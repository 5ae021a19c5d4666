// The fp16 / bf16 TMA + warp-specialized bmm (bmm_wgmma_tma.cuh) under emulation against float64:
// every operand layout, edge tiles in m, n and k, persistent CTAs walking several tiles, and the rows
// that store through shared memory with TMA. Usage: bmm_tma SEED
#include "emu_driver.h"
#include "emu_tma.h"
#include "kernels/bmm/bmm_wgmma_tma.cuh"

using namespace tilekernels;
using namespace tilekernels::bmm;

namespace tilekernels::bmm::wgmma_tma {
alignas(1024) unsigned char smem[emu::kSmemBytes];
}

template <int kConfig, bool kAKMajor, bool kBKMajor>
bool run(int batch, int m, int n, int k, std::mt19937& rng) {
  constexpr TileConfig kCfg = kTileConfigs[kConfig];
  using T = std::conditional_t<kCfg.math == MathMode::kBf16, __nv_bfloat16, __half>;
  std::printf("%s a%s b%s: %dx%dx%dx%d\n", kCfg.name, kAKMajor ? "k" : "m", kBKMajor ? "k" : "n", batch, m, n, k);
  // Leading dimensions padded to 16 bytes (and one extra chunk, so rows are not back to back).
  const int64_t lda = (kAKMajor ? k : m) / 8 * 8 + 16, ldb = (kBKMajor ? k : n) / 8 * 8 + 16, ldc = n / 8 * 8 + 8;
  const int64_t a_batch = lda * (kAKMajor ? m : k), b_batch = ldb * (kBKMajor ? n : k), c_batch = ldc * m;
  const std::vector<T> a = emu::random_tensor<T>(batch * a_batch, rng), b = emu::random_tensor<T>(batch * b_batch, rng);
  std::vector<T> c(batch * c_batch, emu::round_to<T>(NAN));
  const Params p{.a = a.data(), .b = b.data(), .c = c.data(), .batch = batch, .m = m, .n = n, .k = k,
                 .a_batch_stride = a_batch, .b_batch_stride = b_batch, .c_batch_stride = c_batch,
                 .lda = lda, .ldb = ldb, .ldc = ldc, .a_k_major = kAKMajor, .b_k_major = kBKMajor, .math = kCfg.math};
  if (!tma_serves(kCfg, p)) std::abort();
  TmaOperands maps{emu::emulated_map(a_tensor_map(kCfg, p)), emu::emulated_map(b_tensor_map(kCfg, p)), {}};
  if (kCfg.store_via_tma) maps.c = emu::emulated_map(c_tensor_map(p));
  const int64_t tiles = batch * ((m + kCfg.block_m - 1) / kCfg.block_m) * ((n + kCfg.block_n - 1) / kCfg.block_n);
  // Persistent rows: fewer CTAs than tiles, so each walks several.
  const unsigned grid = static_cast<unsigned>(kCfg.persistent ? std::max<int64_t>(1, tiles / 3) : tiles);
  emu::shared_memory = wgmma_tma::smem;
  emu::launch(grid, kCfg.threads(), [&] { wgmma_tma::Kernel<kConfig, kAKMajor, kBKMajor>::run(p, maps); });

  std::vector<double> want(c.size(), 0.0);
  for (int bi = 0; bi < batch; ++bi)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double acc = 0;
        for (int kk = 0; kk < k; ++kk)
          acc += emu::value_of(a[bi * a_batch + (kAKMajor ? i * lda + kk : kk * lda + i)]) *
                 emu::value_of(b[bi * b_batch + (kBKMajor ? j * ldb + kk : kk * ldb + j)]);
        want[bi * c_batch + i * ldc + j] = acc;
      }
  return emu::check_rows("c", c, want, int64_t(batch) * m, static_cast<int>(ldc), n,
                         kCfg.math == MathMode::kBf16 ? 1e-2 : 2e-3);
}

int main(int argc, char** argv) {
  std::mt19937 rng(emu::seed_from(argc, argv));
  bool ok = true;
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_fp16_128x128x64_s6"), true, false>(2, 130, 200, 72, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_bf16_128x256x64_s4_persistent"), false, true>(3, 150, 260, 136, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_fp16_128x192x64_s4_persistent_tma_store"), true, true>(2, 140, 390, 64, rng);
  ok &= run<emu::row_named(kTileConfigs, "wgmma_tma_bf16_128x64x64_s8_persistent_tma_store"), false, false>(3, 129, 100, 200, rng);
  std::printf(ok ? "all passed\n" : "FAILED\n");
  return ok ? 0 : 1;
}
