#pragma once
// red.global.add.f32 (sm_70+) and its two-element vector form (sm_90): fire-and-forget fp32 additions
// to global memory, resolved in L2; nothing returns to the issuing thread.
namespace tilekernels::ptx {

__device__ __forceinline__ void red_add_f32(float* address, float value) {
  asm volatile("red.global.add.f32 [%0], %1;\n" ::"l"(address), "f"(value) : "memory");
}

// address 8-byte aligned.
__device__ __forceinline__ void red_add_f32x2(float* address, float first, float second) {
  asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(address), "f"(first), "f"(second) : "memory");
}

}  // namespace tilekernels::ptx
