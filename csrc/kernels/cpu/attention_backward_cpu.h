#pragma once
// CPU attention backward: recomputes the probabilities from the forward's log-sum-exp and accumulates
// the gradients in fp32, in three passes that each write disjoint outputs (deterministic, no atomics):
//   rows: per (batch, query head), with e_ij = exp(s_ij - lse_i), s_ij = scale Q_i . K_j and
//         Z_i = sum_j e_ij: lse'_i = lse_i + log Z_i and D_i = sum_j (e_ij / Z_i)(dO_i . V_j) - dlse_i.
//         That is the forward's lse corrected to this code's own scores, and rowsum(dO_i * O_i) from
//         this code's own P, so that P's rows sum to 1 and dS's to 0 here (from the forward's lse and
//         O instead, dV's and dQ's errors reached 2-3.5x those of torch's backward at scale 2);
//   kv:   dV_j = sum_i P_ij dO_i and dK_j = scale sum_i dS_ij Q_i over the query heads of a KV head,
//         per (batch, KV head, key block);
//   q:    dQ_i = scale sum_j dS_ij K_j, per (batch, query head, query block);
// with P_ij = exp(s_ij - lse'_i) (0 where causally masked) and dS_ij = P_ij (dO_i . V_j - D_i). The
// forward's output is not read (the CUDA backward will take D from it, as FlashAttention does).
// Torch-free: the caller runs each pass's work items across threads, the passes in order.
#include <cstdint>

#include "kernels/cpu/element_type.h"

namespace tilekernels::cpu {

struct AttentionBackwardProblem {
  const void* q = nullptr;         // [batch, heads_q, seq_q, head_dim]
  const void* k = nullptr;         // [batch, heads_kv, seq_k, head_dim]
  const void* v = nullptr;         // [batch, heads_kv, seq_k, head_dim_v]
  const void* grad_out = nullptr;  // [batch, heads_q, seq_q, head_dim_v], the output's gradient
  const float* lse = nullptr;      // [batch, heads_q, seq_q], natural log
  const float* grad_lse = nullptr; // like lse, or null (no gradient flows into lse)
  float* delta = nullptr;          // [batch, heads_q, seq_q] contiguous workspaces, the rows pass's
  float* row_lse = nullptr;        // outputs: D_i and lse'_i
  void* grad_q = nullptr;          // contiguous, q's shape
  void* grad_k = nullptr;          // contiguous, k's shape
  void* grad_v = nullptr;          // contiguous, v's shape
  ElementType type = ElementType::kFloat32;  // of q, k, v, out, grad_out and the gradients
  int64_t batch = 0, heads_q = 0, heads_kv = 0, seq_q = 0, seq_k = 0, head_dim = 0, head_dim_v = 0;
  int64_t q_strides[4] = {0, 0, 0, 0};  // elements, per dim
  int64_t k_strides[4] = {0, 0, 0, 0};
  int64_t v_strides[4] = {0, 0, 0, 0};
  int64_t grad_out_strides[4] = {0, 0, 0, 0};
  int64_t lse_strides[3] = {0, 0, 0};
  int64_t grad_lse_strides[3] = {0, 0, 0};
  float scale = 1.0f;
  bool causal = false;  // top-left aligned: row i sees keys j <= i
};

int64_t attention_backward_rows_items(const AttentionBackwardProblem& problem);
void attention_backward_rows_run(const AttentionBackwardProblem& problem, int64_t begin, int64_t end);

int64_t attention_backward_kv_items(const AttentionBackwardProblem& problem);
void attention_backward_kv_run(const AttentionBackwardProblem& problem, int64_t begin, int64_t end);

int64_t attention_backward_q_items(const AttentionBackwardProblem& problem);
void attention_backward_q_run(const AttentionBackwardProblem& problem, int64_t begin, int64_t end);

}  // namespace tilekernels::cpu
