#pragma once
// S = Q K^T by Hopper wgmma for the two-phase kernel (rows with wgmma_scores; sm_90a only). Each
// warpgroup issues one m64n256k16 per k16 step: Q's fragments come from registers (ldmatrix from the
// Q piece, the mma.m16n8k16 A layout, which is also wgmma's register A layout per warp), K's piece is
// read by the tensor cores from shared memory. A K piece of 32 fp16 / bf16 columns is 64-byte rows
// whose ldmatrix swizzle (chunk ^ ((row / 2) % 4), smem_layout.cuh) is exactly wgmma's 64-byte swizzle,
// so the cp.async pipeline feeds both without another copy. The accumulator of warp w (rows
// 16 w + g, + 8; columns 8 j + 2 t, + 1) is the split kernels' s[0][j] for a warp grid of
// warps x 1: WgmmaScoreShape lets softmax_block and finish_rows run on it unchanged.
#include <cstdint>

#include "kernels/attention/operand.cuh"
#include "kernels/attention/split_common.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

// Phase 1 of a wgmma_scores row: warp w owns score rows [16 w, 16 w + 16) and all kBKV keys.
template <int kConfig>
struct WgmmaScoreShape : SplitShape<kConfig> {
  using Base = SplitShape<kConfig>;
  static constexpr int kWM = Base::kCfg.warps;
  static constexpr int kWN = 1;
  static constexpr int kRS = 16;
  static constexpr int kMS = 1;
  static constexpr int kNS = Base::kBKV;
  static constexpr int kNTS = Base::kBKV / 8;
  static constexpr bool kBf16 = Base::kCfg.math == MathMode::kBf16;

  static_assert(Base::kCfg.wgmma_scores && Base::kCfg.kernel == Kernel::kTwoPhase, "not a wgmma_scores row");
  static_assert(kWM * 16 == Base::kBQ && kWM % 4 == 0, "one warp per 16 query rows, whole warpgroups");
  static_assert(Base::kE == 2 && Base::kBKV == 256 && Base::kDK == 32,
                "m64n256k16 wgmma over 64-byte (32-column) 16-bit K rows");
  static_assert(Base::QL::kBytes % 1024 == 0 && Base::kSlotBytes % 1024 == 0,
                "K pieces start on a 1024-byte boundary (the swizzle repeats every 512 bytes)");
};

// acc += Q_piece K_piece^T for the pipeline slot `slot` (Q piece, then K piece), for the warp's 16
// rows and all keys of the block. The ring's step must have fenced the slot for the async proxy.
// Returns after the wgmma retired, so the slot may be refilled after the next barrier.
template <class S>
__device__ __forceinline__ void s_step_wgmma(float (&acc)[1][S::kNTS][4], const unsigned char* slot, int warp,
                                             int lane) {
  using Op = typename S::Op;
  constexpr int kSteps = S::kDK / 16;
  float(&d)[S::kNTS * 4] = reinterpret_cast<float(&)[S::kNTS * 4]>(acc);
  const uint32_t k_tile = ptx::shared_address(slot + S::QL::kBytes);
  typename Op::A a[kSteps];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) Op::template load_a<typename S::QL>(a[kk], slot, warp * 16, kk * 16, lane);
  ptx::wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    // k step kk is 16 elements = 32 bytes into each 64-byte row; the hardware applies the swizzle.
    ptx::wgmma_m64n256k16_f16_rs<S::kBf16>(d, a[kk].r, ptx::wgmma_sw64_desc(k_tile + 32 * kk), 1);
  }
  ptx::wgmma_commit();
  ptx::wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < S::kNTS * 4; ++i) ptx::wgmma_keep(d[i]);
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
#pragma unroll
    for (int i = 0; i < 4; ++i) ptx::wgmma_keep(a[kk].r[i]);
  }
}

}  // namespace tilekernels::attention::detail
