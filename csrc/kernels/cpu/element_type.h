#pragma once
// Element types the CPU kernels read and write, with exact conversions to and from fp32. Torch-free.
#include <cstdint>
#include <cstring>

namespace tilekernels::cpu {

enum class ElementType : int32_t { kFloat16, kBFloat16, kFloat32 };

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) return bits_to_float(sign | 0x7f800000u | (mantissa << 13));  // inf / nan
  if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_to_float(sign);
  // Subnormal half: value = mantissa * 2^-24, exactly representable in fp32.
  const float magnitude = static_cast<float>(mantissa) * bits_to_float(0x33800000u);
  return sign ? -magnitude : magnitude;
}

// Round to nearest even, with overflow to inf and gradual underflow, as torch's conversion does.
inline uint16_t float_to_half(float f) {
  const uint32_t bits = float_to_bits(f);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (abs_bits > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs_bits >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs_bits < 0x38800000u) {  // below the smallest normal half: produce a subnormal
    // Adding 0.5 (2^-1) aligns the half subnormal grid (2^-24 steps) to fp32's mantissa LSBs,
    // so the fp32 addition itself performs the round-to-nearest-even.
    const float shifted = bits_to_float(abs_bits) + 0.5f;
    return static_cast<uint16_t>(sign | (float_to_bits(shifted) - 0x3f000000u));
  }
  const uint32_t mantissa_odd = (abs_bits >> 13) & 1u;
  uint32_t rounded = abs_bits + 0xc8000fffu + mantissa_odd;  // rebias exponent (-112 << 23) and round
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline float bfloat16_to_float(uint16_t b) { return bits_to_float(static_cast<uint32_t>(b) << 16); }

inline uint16_t float_to_bfloat16(float f) {
  const uint32_t bits = float_to_bits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet nan
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

inline void store_from_float(void* base, int64_t offset, ElementType type, float value) {
  switch (type) {
    case ElementType::kFloat16: static_cast<uint16_t*>(base)[offset] = float_to_half(value); break;
    case ElementType::kBFloat16: static_cast<uint16_t*>(base)[offset] = float_to_bfloat16(value); break;
    case ElementType::kFloat32: static_cast<float*>(base)[offset] = value; break;
  }
}

// out[i] = element (offset + i * stride) as float for i < count; the type switch sits outside the loop.
inline void load_row_as_float(const void* base, int64_t offset, int64_t stride, int64_t count, ElementType type,
                              float* out) {
  switch (type) {
    case ElementType::kFloat16: {
      const uint16_t* src = static_cast<const uint16_t*>(base) + offset;
      for (int64_t i = 0; i < count; ++i) out[i] = half_to_float(src[i * stride]);
      break;
    }
    case ElementType::kBFloat16: {
      const uint16_t* src = static_cast<const uint16_t*>(base) + offset;
      for (int64_t i = 0; i < count; ++i) out[i] = bfloat16_to_float(src[i * stride]);
      break;
    }
    case ElementType::kFloat32: {
      const float* src = static_cast<const float*>(base) + offset;
      for (int64_t i = 0; i < count; ++i) out[i] = src[i * stride];
      break;
    }
  }
}

// Element (offset + i * stride) = in[i] for i < count.
inline void store_row_from_float(void* base, int64_t offset, int64_t stride, int64_t count, ElementType type,
                                 const float* in) {
  switch (type) {
    case ElementType::kFloat16: {
      uint16_t* dst = static_cast<uint16_t*>(base) + offset;
      for (int64_t i = 0; i < count; ++i) dst[i * stride] = float_to_half(in[i]);
      break;
    }
    case ElementType::kBFloat16: {
      uint16_t* dst = static_cast<uint16_t*>(base) + offset;
      for (int64_t i = 0; i < count; ++i) dst[i * stride] = float_to_bfloat16(in[i]);
      break;
    }
    case ElementType::kFloat32: {
      float* dst = static_cast<float*>(base) + offset;
      for (int64_t i = 0; i < count; ++i) dst[i * stride] = in[i];
      break;
    }
  }
}

}  // namespace tilekernels::cpu
