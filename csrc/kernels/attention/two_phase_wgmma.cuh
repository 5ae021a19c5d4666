#pragma once
// Both products of the two-phase kernel on Hopper wgmma (rows with `wgmma`; sm_90a only). Each
// warpgroup issues one m64n256k16 per k16 step, its A operand (Q for S, P for O) from registers
// (ldmatrix, the mma.m16n8k16 A layout, which is also wgmma's register A layout per warp), its B
// operand read by the tensor cores straight from the cp.async pipeline's slot:
//   K pieces of 32 16-bit columns are 64-byte rows whose ldmatrix swizzle (chunk ^ ((row / 2) % 4),
//   smem_layout.cuh) is exactly wgmma's 64-byte K-major swizzle;
//   V pieces are stored as 128-byte column segments (Access::kSegments128), wgmma's 128-byte
//   N-major layout.
// Warp w owns rows [16 w, 16 w + 16): of S with all kBKV keys of a block, of O with all kDO columns
// of a chunk. Its accumulator (rows 16 w + g, + 8; columns 8 j + 2 t, + 1) is the split kernels'
// [0][j] fragment for a warp grid of warps x 1, so WgmmaShape lets softmax_block, finish_rows and
// store_rows run on it unchanged.
#include <cstdint>

#include "kernels/attention/operand.cuh"
#include "kernels/attention/split_common.cuh"
#include "kernels/ptx/shared_address.cuh"
#include "kernels/ptx/wgmma.cuh"

namespace tilekernels::attention::detail {

// The warp grid of a wgmma row: warp w owns rows [16 w, 16 w + 16) and every column of S and of O.
template <int kConfig>
struct WgmmaShape : SplitShape<kConfig> {
  using Base = SplitShape<kConfig>;
  static constexpr int kWM = Base::kCfg.split.warps;
  static constexpr int kWN = 1;
  static constexpr int kRS = 16;
  static constexpr int kMS = 1;
  static constexpr int kNS = Base::kBKV;
  static constexpr int kNTS = Base::kBKV / 8;
  static constexpr int kCO = Base::kDO;
  static constexpr int kNTO = Base::kDO / 8;
  static constexpr bool kBf16 = Base::kCfg.math == MathMode::kBf16;

  static_assert(Base::kCfg.is_wgmma() && Base::kCfg.kernel == Kernel::kTwoPhase, "not a wgmma row");
  static_assert(kWM * 16 == Base::kBQ && kWM % 4 == 0, "one warp per 16 query rows, whole warpgroups");
  static_assert(Base::kE == 2 && Base::kBKV == 256 && Base::kDK == 32 && Base::kDO == 256 && Base::kKB % 16 == 0,
                "m64n256k16 wgmma: 64-byte (32-column) 16-bit K rows, 256-column O chunks");
  static_assert(Base::QL::kBytes % 1024 == 0 && Base::kSlotBytes % 1024 == 0,
                "K and V pieces start on a 1024-byte boundary (their swizzles repeat every 512 / 1024 bytes)");
};

// Issues one m64n256k16 per k16 step of `a` against the descriptors `b_desc(kk)`, then waits for
// them: the slot may be refilled after the next barrier.
template <class S, int kSteps, int kTransB, class Desc>
__device__ __forceinline__ void wgmma_steps(float (&d)[128], typename S::Op::A (&a)[kSteps], Desc b_desc) {
  ptx::wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) ptx::wgmma_m64k16_f16_rs<256, S::kBf16, kTransB>(d, a[kk].r, b_desc(kk), 1);
  ptx::wgmma_commit();
  ptx::wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < 128; ++i) ptx::wgmma_keep(d[i]);
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
#pragma unroll
    for (int i = 0; i < 4; ++i) ptx::wgmma_keep(a[kk].r[i]);
  }
}

// acc += Q_piece K_piece^T for the pipeline slot `slot` (Q piece, then K piece), for the warp's 16
// rows and all keys of the block. The ring's step must have fenced the slot for the async proxy.
template <class S>
__device__ __forceinline__ void s_step_wgmma(float (&acc)[1][S::kNTS][4], const unsigned char* slot, int warp,
                                             int lane) {
  constexpr int kSteps = S::kDK / 16;
  typename S::Op::A a[kSteps];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    S::Op::template load_a<typename S::QL>(a[kk], slot, warp * 16, kk * 16, lane);
  }
  // k step kk is 16 elements = 32 bytes into each 64-byte K row.
  const uint32_t k_tile = ptx::shared_address(slot + S::QL::kBytes);
  wgmma_steps<S, kSteps, 0>(reinterpret_cast<float(&)[128]>(acc), a,
                            [&](int kk) { return ptx::wgmma_sw64_desc(k_tile + 32 * kk); });
}

// o += P[:, p_col0 .. p_col0 + kKB) V_piece for the warp's 16 rows and all kDO columns; V_piece is
// the kKB x kDO slot in 128-byte column segments (segments kKB * 128 bytes apart, eight-key groups
// 1024 bytes apart: a k16 step is two groups further).
template <class S>
__device__ __forceinline__ void pv_step_wgmma(float (&o)[1][S::kNTO][4], const unsigned char* p_tile, int p_col0,
                                              const unsigned char* v_slot, int warp, int lane) {
  constexpr int kSteps = S::kKB / 16;
  typename S::Op::A a[kSteps];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    S::Op::template load_a<typename S::PL>(a[kk], p_tile, warp * 16, p_col0 + kk * 16, lane);
  }
  const uint32_t v_tile = ptx::shared_address(v_slot);
  wgmma_steps<S, kSteps, 1>(reinterpret_cast<float(&)[128]>(o), a, [&](int kk) {
    return ptx::wgmma_sw128_mn_desc(v_tile + 2048 * kk, S::kKB * 128, 1024);
  });
}

}  // namespace tilekernels::attention::detail
