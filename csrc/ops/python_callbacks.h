#pragma once
// What the C++ ops need from the Python side of the package, asked through the dispatcher because
// torch's stable ABI does not expose it: the fp32 matmul precision and the tuned tables on disk.
#include <optional>
#include <string>

namespace tilekernels {

enum class Fp32Precision { kHighest, kHigh, kMedium };

// An explicit override ("highest", "high", "medium", or the kernel names "ieee", "tf32") wins;
// otherwise torch.get_float32_matmul_precision() at call time (kernels::_float32_matmul_precision).
Fp32Precision resolve_fp32_precision(const std::optional<std::string>& override_name, const char* op);

// Loads the bundled and user tuned tables into the TunedTable, once per process, on the first CUDA
// call (kernels::_load_tuned_tables): lazily, so importing the package never initializes CUDA.
void ensure_tuned_tables_loaded();

}  // namespace tilekernels
