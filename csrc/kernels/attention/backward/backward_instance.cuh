#pragma once
// Launchers of the attention backward configurations and their registration: a row runs the delta
// pre-pass, the key-block kernel (dK, dV) and the query-block kernel (dQ) on one stream; a dq_atomic row
// zeroes dQ's scratch, runs the delta pre-pass, the key-block kernel (dK, dV, dQ's sums) and dQ's
// conversion. An instance
// file compiles every row with one (math, head_dim) through TILEKERNELS_ATTENTION_BACKWARD_INSTANCES.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include "kernels/attention/backward/backward_configs.h"
#include "kernels/attention/backward/backward_launch.h"
#include "kernels/attention/backward/bwd_delta.cuh"
#include "kernels/attention/backward/bwd_dq_convert.cuh"
#include "kernels/attention/backward/bwd_key.cuh"
#include "kernels/attention/backward/bwd_key_wgmma.cuh"
#include "kernels/attention/backward/bwd_key_wgmma_split.cuh"
#include "kernels/attention/backward/bwd_key_ws.cuh"
#include "kernels/attention/backward/bwd_query.cuh"
#include "kernels/attention/backward/bwd_query_wgmma.cuh"
#include "kernels/common/build_archs.h"
#include "kernels/common/per_device.h"

namespace tilekernels::attention::detail {

// Shared memory one block may use on a row's lowest architecture: 99 KB on sm_80 / sm_89 (the smaller
// of the two), 227 KB on sm_90.
constexpr int backward_smem_limit(int min_arch) { return min_arch >= 90 ? 232448 : 101376; }

// The key-block kernel of a row, on its engine, and its launch on `grid` CTAs.
enum class KeyEngine { kMmaSync, kWgmma, kWgmmaSplit, kWarpSpecialized };

template <int kConfig>
constexpr KeyEngine key_engine() {
  constexpr BackwardKeyTiles kKeys = kBackwardConfigs[kConfig].keys;
  return !kKeys.wgmma ? KeyEngine::kMmaSync
         : kKeys.warp_specialized ? KeyEngine::kWarpSpecialized
         : kKeys.split_products   ? KeyEngine::kWgmmaSplit
                                  : KeyEngine::kWgmma;
}

template <int kConfig, KeyEngine kEngine = key_engine<kConfig>()>
struct KeyKernelOf {
  using Kernel = BackwardKeyKernel<kConfig>;
  static constexpr auto kFunction = &backward_key_kernel<kConfig>;
};
template <int kConfig>
struct KeyKernelOf<kConfig, KeyEngine::kWgmma> {
  using Kernel = BackwardKeyWgmmaKernel<kConfig>;
  static constexpr auto kFunction = &backward_key_wgmma_kernel<kConfig>;
};
template <int kConfig>
struct KeyKernelOf<kConfig, KeyEngine::kWgmmaSplit> {
  using Kernel = BackwardKeySplitWgmmaKernel<kConfig>;
  static constexpr auto kFunction = &backward_key_split_wgmma_kernel<kConfig>;
};
template <int kConfig>
struct KeyKernelOf<kConfig, KeyEngine::kWarpSpecialized> {
  using Kernel = BackwardKeyWsKernel<kConfig>;
  static constexpr auto kFunction = &backward_key_ws_kernel<kConfig>;
};

template <int kConfig>
cudaError_t launch_key_kernel(const BackwardParams& p, unsigned grid, cudaStream_t stream) {
  using Of = KeyKernelOf<kConfig>;
  if constexpr (key_engine<kConfig>() == KeyEngine::kWarpSpecialized) {
    if (p.vectors == nullptr) return cudaErrorInvalidValue;
    BackwardTmaMaps maps;
    const cudaError_t err = BackwardTmaDescs(p, Of::Kernel::kBQ, Of::Kernel::kBKV).encode(maps);
    if (err != cudaSuccess) return err;
    Of::kFunction<<<grid, Of::Kernel::kThreads, Of::Kernel::kSmemBytes, stream>>>(p, maps);
  } else {
    Of::kFunction<<<grid, Of::Kernel::kThreads, Of::Kernel::kSmemBytes, stream>>>(p);
  }
  return cudaGetLastError();
}

// The query-block kernel of a row, on its engine.
template <int kConfig, bool kWgmma = kBackwardConfigs[kConfig].queries.wgmma>
struct QueryKernelOf {
  using Kernel = BackwardQueryKernel<kConfig>;
  static constexpr auto kFunction = &backward_query_kernel<kConfig>;
};
template <int kConfig>
struct QueryKernelOf<kConfig, true> {
  using Kernel = BackwardQueryWgmmaKernel<kConfig>;
  static constexpr auto kFunction = &backward_query_wgmma_kernel<kConfig>;
};

// The query-block kernel's shared memory, or 0 for rows without one.
template <int kConfig>
constexpr int query_smem_bytes() {
  if constexpr (kBackwardConfigs[kConfig].dq_atomic) {
    return 0;
  } else {
    return QueryKernelOf<kConfig>::Kernel::kSmemBytes;
  }
}

template <int kConfig>
cudaError_t launch_backward_config(const BackwardParams& p, cudaStream_t stream) {
  constexpr BackwardConfig kCfg = kBackwardConfigs[kConfig];
  using Key = typename KeyKernelOf<kConfig>::Kernel;
  using T = typename Key::T;
  static_assert(Key::kSmemBytes <= backward_smem_limit(kCfg.min_arch) &&
                    query_smem_bytes<kConfig>() <= backward_smem_limit(kCfg.min_arch),
                "a backward kernel needs more shared memory than its lowest architecture offers");
  static_assert(!kCfg.dq_atomic || kCfg.keys.wgmma, "dQ's sums come from the wgmma key-block kernel");
  if (p.math != kCfg.math) return cudaErrorInvalidValue;
  if (p.batch < 1 || p.heads_q < 1 || p.seq_q < 1 || p.seq_k < 1) return cudaErrorInvalidValue;
  if (p.head_dim < 1 || p.head_dim > kCfg.head_dim || p.grad_row_stride < p.head_dim) return cudaErrorInvalidValue;
  if (p.heads_kv < 1 || p.heads_q % p.heads_kv != 0) return cudaErrorInvalidValue;
  if (p.seq_q > INT_MAX || p.seq_k > INT_MAX) return cudaErrorInvalidValue;
  if (kCfg.dq_atomic && (p.dq_accum == nullptr || p.grad_row_stride % 8 != 0)) return cudaErrorInvalidValue;
  const int64_t rows = p.batch * p.heads_q * p.seq_q;
  // With the vectors, the pre-pass also covers the padding rows of the last block of each query head.
  const int64_t delta_rows = p.vectors ? backward_vectors_elements(p.batch, p.heads_q, p.seq_q) / 2 : rows;
  const int64_t delta_blocks = (delta_rows + kDeltaWarps - 1) / kDeltaWarps;
  const int64_t key_blocks = p.batch * p.heads_kv * ((p.seq_k + Key::kBKV - 1) / Key::kBKV);
  if (delta_blocks > INT_MAX || key_blocks > INT_MAX) return cudaErrorInvalidConfiguration;
  cudaError_t err = allow_dynamic_smem<KeyKernelOf<kConfig>::kFunction>(Key::kSmemBytes);
  if (err != cudaSuccess) return err;
  if constexpr (kCfg.dq_atomic) {
    err = cudaMemsetAsync(p.dq_accum, 0, static_cast<size_t>(rows * p.grad_row_stride) * sizeof(float), stream);
    if (err != cudaSuccess) return err;
  }

  backward_delta_kernel<T><<<static_cast<unsigned>(delta_blocks), 32 * kDeltaWarps, 0, stream>>>(p);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  err = launch_key_kernel<kConfig>(p, static_cast<unsigned>(key_blocks), stream);
  if (err != cudaSuccess) return err;
  if constexpr (kCfg.dq_atomic) {
    // Grid-stride: a few waves of CTAs are enough for a conversion at memory speed.
    const int64_t quads = rows * p.grad_row_stride / 4;
    const int64_t blocks = std::min<int64_t>((quads + kDqConvertThreads - 1) / kDqConvertThreads, 8192);
    backward_dq_convert_kernel<T><<<static_cast<unsigned>(blocks), kDqConvertThreads, 0, stream>>>(p);
  } else {
    using Query = typename QueryKernelOf<kConfig>::Kernel;
    const int64_t query_blocks = p.batch * p.heads_q * ((p.seq_q + Query::kBQ - 1) / Query::kBQ);
    if (query_blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    err = allow_dynamic_smem<QueryKernelOf<kConfig>::kFunction>(Query::kSmemBytes);
    if (err != cudaSuccess) return err;
    QueryKernelOf<kConfig>::kFunction<<<static_cast<unsigned>(query_blocks), Query::kThreads, Query::kSmemBytes,
                                        stream>>>(p);
  }
  return cudaGetLastError();
}

template <int kConfig, MathMode kMath, int kHeadDim>
void register_backward_if_matching() {
  if constexpr (kBackwardConfigs[kConfig].math == kMath && kBackwardConfigs[kConfig].head_dim == kHeadDim &&
                (kBuiltForSm90a || !(kBackwardConfigs[kConfig].keys.wgmma || kBackwardConfigs[kConfig].queries.wgmma))) {
    BackwardRegistry::instance().add(kConfig, 0, &launch_backward_config<kConfig>,
                                     KernelResources{KeyKernelOf<kConfig>::Kernel::kThreads,
                                                     KeyKernelOf<kConfig>::Kernel::kSmemBytes});
  }
}

template <MathMode kMath, int kHeadDim, int... kConfigs>
bool register_backward_instances(std::integer_sequence<int, kConfigs...>) {
  (register_backward_if_matching<kConfigs, kMath, kHeadDim>(), ...);
  return true;
}

}  // namespace tilekernels::attention::detail

// Compiles and registers every backward configuration with this (math, head_dim).
#define TILEKERNELS_ATTENTION_BACKWARD_INSTANCES(MATH, HEAD_DIM)                                              \
  namespace {                                                                                                 \
  [[maybe_unused]] const bool kAttentionBackwardInstancesRegistered =                                         \
      ::tilekernels::attention::detail::register_backward_instances<MATH, HEAD_DIM>(                          \
          std::make_integer_sequence<int, ::tilekernels::attention::kNumBackwardConfigs>{});                  \
  }
