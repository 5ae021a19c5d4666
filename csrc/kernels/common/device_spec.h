#pragma once
// The device facts that tile selection depends on, read from the runtime (never hard-coded). Torch-free.
#include <cstdint>
#include <string>

namespace tilekernels {

struct DeviceSpec {
  std::string name;                 // e.g. "NVIDIA H100 80GB HBM3"
  int arch = 0;                     // major * 10 + minor, e.g. 90
  int sm_count = 0;
  int max_smem_per_block = 0;       // opt-in limit, bytes
  int smem_per_sm = 0;              // bytes
  int max_threads_per_sm = 0;
  int64_t l2_bytes = 0;
};

}  // namespace tilekernels
