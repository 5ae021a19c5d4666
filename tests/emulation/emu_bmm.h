// Shared by the bmm drivers: a call's random operands in any layout (leading dimensions padded past
// 16 bytes, so rows are not back to back), C poisoned with NaN, the params, and the float64 check.
#pragma once
#include <type_traits>

#include "emu_driver.h"
#include "kernels/bmm/bmm_configs.h"
#include "kernels/bmm/bmm_params.h"

namespace emu {

template <class T, bool kAKMajor, bool kBKMajor>
struct BmmCall {
  int batch, m, n, k;
  int64_t lda, ldb, ldc, a_batch, b_batch, c_batch;
  std::vector<T> a, b, c;
  tilekernels::bmm::Params params;

  BmmCall(const tilekernels::bmm::TileConfig& config, int batch_, int m_, int n_, int k_, std::mt19937& rng)
      : batch(batch_), m(m_), n(n_), k(k_),
        lda((kAKMajor ? k : m) / 8 * 8 + 16), ldb((kBKMajor ? k : n) / 8 * 8 + 16), ldc(n / 8 * 8 + 8),
        a_batch(lda * (kAKMajor ? m : k)), b_batch(ldb * (kBKMajor ? n : k)), c_batch(ldc * m),
        a(random_tensor<T>(batch * a_batch, rng)), b(random_tensor<T>(batch * b_batch, rng)),
        c(batch * c_batch, round_to<T>(NAN)) {
    std::printf("%s a%s b%s: %dx%dx%dx%d\n", config.name, kAKMajor ? "k" : "m", kBKMajor ? "k" : "n", batch, m, n, k);
    params = {.a = a.data(), .b = b.data(), .c = c.data(), .batch = batch, .m = m, .n = n, .k = k,
              .a_batch_stride = a_batch, .b_batch_stride = b_batch, .c_batch_stride = c_batch,
              .lda = lda, .ldb = ldb, .ldc = ldc, .a_k_major = kAKMajor, .b_k_major = kBKMajor, .math = config.math};
  }

  bool check() const {
    std::vector<double> want(c.size(), 0.0);
    for (int bi = 0; bi < batch; ++bi)
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double acc = 0;
          for (int kk = 0; kk < k; ++kk)
            acc += value_of(a[bi * a_batch + (kAKMajor ? i * lda + kk : kk * lda + i)]) *
                   value_of(b[bi * b_batch + (kBKMajor ? j * ldb + kk : kk * ldb + j)]);
          want[bi * c_batch + i * ldc + j] = acc;
        }
    const bool bf16 = std::is_same_v<T, __nv_bfloat16>;
    return check_rows("c", c, want, int64_t(batch) * m, static_cast<int>(ldc), n, bf16 ? 1e-2 : 2e-3);
  }
};

}  // namespace emu
