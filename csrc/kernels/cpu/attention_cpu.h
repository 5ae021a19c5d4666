#pragma once
// CPU attention forward: the same tiled online-softmax algorithm as the CUDA kernels, in fp32.
// Torch-free: the caller splits the work items across threads.
#include <cstdint>

#include "kernels/cpu/element_type.h"

namespace tilekernels::cpu {

struct AttentionProblem {
  const void* q = nullptr;  // [batch, heads_q, seq_q, head_dim]
  const void* k = nullptr;  // [batch, heads_kv, seq_k, head_dim]
  const void* v = nullptr;  // [batch, heads_kv, seq_k, head_dim_v]
  void* out = nullptr;      // [batch, heads_q, seq_q, head_dim_v]
  float* lse = nullptr;     // [batch, heads_q, seq_q] contiguous, natural log
  ElementType type = ElementType::kFloat32;
  int64_t batch = 0, heads_q = 0, heads_kv = 0, seq_q = 0, seq_k = 0, head_dim = 0, head_dim_v = 0;
  int64_t q_strides[4] = {0, 0, 0, 0};  // elements, per dim
  int64_t k_strides[4] = {0, 0, 0, 0};
  int64_t v_strides[4] = {0, 0, 0, 0};
  int64_t out_strides[4] = {0, 0, 0, 0};
  float scale = 1.0f;
  bool causal = false;  // top-left aligned: row i sees keys j <= i
};

// Work items are (batch, head, block of query rows) triples.
int64_t attention_cpu_work_items(const AttentionProblem& problem);

// Computes the work items [begin, end); thread-safe for disjoint ranges.
void attention_cpu_run(const AttentionProblem& problem, int64_t begin, int64_t end);

}  // namespace tilekernels::cpu
