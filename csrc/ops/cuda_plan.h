#pragma once
// What a CUDA call will run and why (explain() reports it), and the planning steps both kernel
// families share: which math modes a dtype/precision allows, the tuned-table lookup, the report.
#include <algorithm>
#include <string>
#include <vector>

#include "kernels/common/device_spec.h"
#include "kernels/common/math_mode.h"
#include "ops/json_writer.h"
#include "ops/python_callbacks.h"
#include "ops/tensor_utils.h"
#include "tuning/tuned_table.h"

namespace tilekernels {

struct Plan {
  std::string key;              // the tuning key: op, device, arch, math group, layout, shape
  std::string math_group;       // "float16", "bfloat16", "float32:accurate" or "float32:tf32"
  std::vector<int> candidates;  // every compiled configuration that can serve this call
  int config = -1;
  std::string source;  // "tuned" or "heuristic"
  std::string reason;
};

// fp32 under "highest" may use any fp32-accurate mode; "high"/"medium" allow TF32.
inline std::vector<MathMode> allowed_maths(ScalarType dtype, Fp32Precision precision) {
  if (dtype == ScalarType::Half) return {MathMode::kFp16};
  if (dtype == ScalarType::BFloat16) return {MathMode::kBf16};
  if (precision == Fp32Precision::kHighest) return {MathMode::kTf32x3, MathMode::kFp16x3, MathMode::kFfma};
  return {MathMode::kTf32};
}

inline std::string math_group(ScalarType dtype, Fp32Precision precision) {
  if (dtype != ScalarType::Float) return dtype_name(dtype);
  return precision == Fp32Precision::kHighest ? "float32:accurate" : "float32:tf32";
}

inline bool allows(const std::vector<MathMode>& maths, MathMode math) {
  return std::find(maths.begin(), maths.end(), math) != maths.end();
}

// Takes the tuned table's choice for plan.key when it is one of the candidates.
inline bool apply_tuned_choice(const char* family, Plan& plan) {
  const auto tuned = TunedTable::instance().find(family, plan.key);
  if (!tuned || std::find(plan.candidates.begin(), plan.candidates.end(), *tuned) == plan.candidates.end()) {
    return false;
  }
  plan.config = *tuned;
  plan.source = "tuned";
  plan.reason = "tuned table entry for this exact key";
  return true;
}

// The JSON explain() returns; `extra` adds family-specific fields.
inline std::string plan_json(const char* family, const Plan& plan, const char* config_name, MathMode math,
                             const DeviceSpec& device, JsonObject extra) {
  std::vector<std::string> candidates;
  for (int id : plan.candidates) candidates.push_back(std::to_string(id));
  return extra.add("family", family)
      .add("key", plan.key)
      .add("math_group", plan.math_group)
      .add("config", plan.config)
      .add("config_name", config_name)
      .add("math", math_mode_name(math))
      .add("source", plan.source)
      .add("reason", plan.reason)
      .raw("candidates", json_array(candidates))
      .add("device", device.name)
      .add("arch", device.arch)
      .str();
}

}  // namespace tilekernels
