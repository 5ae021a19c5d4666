#pragma once
// CPU batched matmul with fp32 accumulation over any strides. Torch-free: the caller splits the work
// items across threads.
#include <cstdint>

#include "kernels/cpu/element_type.h"

namespace tilekernels::cpu {

struct BmmProblem {
  const void* a = nullptr;  // [batch, m, k]
  const void* b = nullptr;  // [batch, k, n]
  void* c = nullptr;        // [batch, m, n]
  ElementType type = ElementType::kFloat32;
  int64_t batch = 0, m = 0, n = 0, k = 0;
  int64_t a_strides[3] = {0, 0, 0};  // elements, per dim; any value incl. 0 and negative-free views
  int64_t b_strides[3] = {0, 0, 0};
  int64_t c_strides[3] = {0, 0, 0};
};

// Work items are (batch, block of rows) pairs.
int64_t bmm_cpu_work_items(const BmmProblem& problem);

// Computes the work items [begin, end); thread-safe for disjoint ranges.
void bmm_cpu_run(const BmmProblem& problem, int64_t begin, int64_t end);

}  // namespace tilekernels::cpu
