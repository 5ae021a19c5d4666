#pragma once
// wgmma (sm_90a): warpgroup matrix multiply-accumulate, its ordering fences, and the shared-memory
// matrix descriptor. Issued by all 128 threads of a warpgroup (4 consecutive warps, the first one's
// index divisible by 4); asynchronous until wgmma_wait retires it.
#include <cstdint>

namespace tilekernels::ptx {

// Shared-memory matrix descriptor: start address, leading and stride byte offsets (the meaning of
// each depends on the operand's major-ness and swizzle, PTX ISA "Matrix Descriptor Format"), and the
// swizzle mode (1: 128-byte, 2: 64-byte). The tile must be aligned to its swizzle's repeat (1024 or
// 512 bytes): the hardware swizzles the final address, so stepping inside a swizzled row just adds
// the step's byte offset to `smem_addr`.
__device__ __forceinline__ uint64_t wgmma_desc(uint32_t smem_addr, uint32_t leading_bytes, uint32_t stride_bytes,
                                               uint32_t swizzle_mode) {
  return static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(leading_bytes >> 4) << 16) |
         (static_cast<uint64_t>(stride_bytes >> 4) << 32) | (static_cast<uint64_t>(swizzle_mode) << 62);
}

// A K-major tile of 128-byte rows with the 128-byte swizzle (16-byte chunk c of row r at r * 128 +
// ((c ^ (r % 8)) * 16)): eight-row groups 1024 bytes apart; the leading offset is unused.
__device__ __forceinline__ uint64_t wgmma_sw128_desc(uint32_t smem_addr) { return wgmma_desc(smem_addr, 16, 1024, 1); }

// A K-major tile of 64-byte rows with the 64-byte swizzle (chunk c of row r at r * 64 +
// ((c ^ ((r / 2) % 4)) * 16)): eight-row groups `group_bytes` apart (512: back to back).
__device__ __forceinline__ uint64_t wgmma_sw64_desc(uint32_t smem_addr, uint32_t group_bytes = 512) {
  return wgmma_desc(smem_addr, 16, group_bytes, 2);
}

// An MN-major tile with the 128-byte swizzle: each k row holds 64 consecutive 16-bit MN elements in
// 128 bytes (chunk c of k row r at r * 128 + ((c ^ (r % 8)) * 16)), eight k rows form a 1024-byte
// group, groups `k_group_bytes` apart along k, and 64-element MN segments `segment_bytes` apart.
__device__ __forceinline__ uint64_t wgmma_sw128_mn_desc(uint32_t smem_addr, uint32_t segment_bytes,
                                                        uint32_t k_group_bytes) {
  return wgmma_desc(smem_addr, segment_bytes, k_group_bytes, 1);
}

// Orders this warpgroup's register writes (accumulators, A fragments) before the wgmma that read them.
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }

__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }

// Waits until at most kPending committed wgmma groups of this warpgroup are still running.
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

// Makes this thread's ordinary shared-memory stores visible to the async proxy (wgmma operand reads);
// a barrier after it publishes them to the whole CTA.
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Keeps a register the asynchronous wgmma reads or writes live (and unmoved) up to this point.
__device__ __forceinline__ void wgmma_keep(uint32_t& r) { asm volatile("" : "+r"(r)::"memory"); }
__device__ __forceinline__ void wgmma_keep(float& r) { asm volatile("" : "+f"(r)::"memory"); }
// The same for every register of an array (accumulators, fragments), in index order.
template <class R, int kN>
__device__ __forceinline__ void wgmma_keep(R (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) wgmma_keep(r[i]);
}

// The accumulator operands of an m64nN fp32 wgmma (a 64 x N tile over 128 threads: N / 2 each): their
// place holders in the instruction text and the matching asm output list, for N = 64, 128, 192, 256.
#define TILEKERNELS_WGMMA_D32_PLACES \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31"
#define TILEKERNELS_WGMMA_D32_OUTPUTS(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
  "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), \
  "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), \
  "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define TILEKERNELS_WGMMA_D64_PLACES \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, " \
  "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define TILEKERNELS_WGMMA_D64_OUTPUTS(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
  "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), \
  "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), \
  "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), \
  "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), \
  "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), \
  "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), \
  "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define TILEKERNELS_WGMMA_D96_PLACES \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, " \
  "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, " \
  "%65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, " \
  "%86, %87, %88, %89, %90, %91, %92, %93, %94, %95"
#define TILEKERNELS_WGMMA_D96_OUTPUTS(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
  "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), \
  "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), \
  "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), \
  "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), \
  "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), \
  "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), \
  "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), \
  "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), \
  "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), \
  "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), \
  "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
#define TILEKERNELS_WGMMA_D128_PLACES \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, " \
  "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, " \
  "%65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, " \
  "%86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, " \
  "%106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, " \
  "%123, %124, %125, %126, %127"
#define TILEKERNELS_WGMMA_D128_OUTPUTS(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), \
  "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), \
  "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), \
  "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), \
  "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), \
  "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), \
  "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), \
  "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), \
  "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), \
  "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), \
  "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), \
  "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), \
  "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), \
  "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
  "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), \
  "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), \
  "+f"(d[126]), "+f"(d[127])

// d[64] (+)= a * b for a 64x128 fp32 tile: a is 64x8 TF32 from registers (each warp 16 rows, the
// mma.m16n8k8 A fragment layout), b is 8x128 TF32 from the K-major tile `b_desc` describes.
// scale_d == 0 overwrites d instead of accumulating.
__device__ __forceinline__ void wgmma_m64n128k8_tf32_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t b_desc,
                                                        int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {" TILEKERNELS_WGMMA_D64_PLACES "}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
      : TILEKERNELS_WGMMA_D64_OUTPUTS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(scale_d));
}

// As wgmma_m64n128k8_tf32_rs for a 64x256 tile (d[128]): one instruction for twice the columns.
__device__ __forceinline__ void wgmma_m64n256k8_tf32_rs(float (&d)[128], const uint32_t (&a)[4], uint64_t b_desc,
                                                        int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k8.f32.tf32.tf32 {" TILEKERNELS_WGMMA_D128_PLACES "}, "
      "{%128, %129, %130, %131}, %132, p, 1, 1;\n}\n"
      : TILEKERNELS_WGMMA_D128_OUTPUTS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(scale_d));
}

// d[64] (+)= a * b for a 64x128 fp32 tile with both operands in shared memory: a is 64x8 TF32 and b
// 8x128 TF32, K-major tiles (the only layout TF32 wgmma reads) that `a_desc` and `b_desc` describe.
__device__ __forceinline__ void wgmma_m64n128k8_tf32_ss(float (&d)[64], uint64_t a_desc, uint64_t b_desc,
                                                        int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {" TILEKERNELS_WGMMA_D64_PLACES "}, "
      "%64, %65, p, 1, 1;\n}\n"
      : TILEKERNELS_WGMMA_D64_OUTPUTS(d)
      : "l"(a_desc), "l"(b_desc), "r"(scale_d));
}

// One fp16 (kBf16: bf16) m64nNk16 wgmma with fp32 accumulators, for N = 64, 128, 256 (d[N / 2]; SS
// also N = 192).
// RS: a is 64x16 from registers (each warp 16 rows, the mma.m16n8k16 A fragment layout); SS: a is
// read through `a_desc`, K-major (kTransA = 0) or M-major (1). b is 16xN through `b_desc`, K-major
// (kTransB = 0) or N-major (1). scale_d == 0 overwrites d instead of accumulating.
#define TILEKERNELS_WGMMA_F16_RS(SHAPE, TYPE, N2, A_OPS, DESC, PRED, TRANS)                                  \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " PRED ", 0;\n"                                             \
               "wgmma.mma_async.sync.aligned." SHAPE ".f32." TYPE "." TYPE " {" TILEKERNELS_WGMMA_D##N2##_PLACES \
               "}, " A_OPS ", " DESC ", p, 1, 1, " TRANS ";\n}\n"                                             \
               : TILEKERNELS_WGMMA_D##N2##_OUTPUTS(d)                                                        \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(scale_d), "n"(kTransB))
#define TILEKERNELS_WGMMA_F16_SS(SHAPE, TYPE, N2, A_DESC, B_DESC, PRED, TRANS, TRANS_A)                      \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " PRED ", 0;\n"                                             \
               "wgmma.mma_async.sync.aligned." SHAPE ".f32." TYPE "." TYPE " {" TILEKERNELS_WGMMA_D##N2##_PLACES \
               "}, " A_DESC ", " B_DESC ", p, 1, 1, " TRANS_A ", " TRANS ";\n}\n"                            \
               : TILEKERNELS_WGMMA_D##N2##_OUTPUTS(d)                                                        \
               : "l"(a_desc), "l"(b_desc), "r"(scale_d), "n"(kTransB), "n"(kTransA))

template <int kN, bool kBf16, int kTransB>
__device__ __forceinline__ void wgmma_m64k16_f16_rs(float (&d)[kN / 2], const uint32_t (&a)[4], uint64_t b_desc,
                                                    int scale_d) {
  static_assert(kN == 64 || kN == 128 || kN == 256, "N = 64, 128 or 256");
  if constexpr (kN == 64) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_RS("m64n64k16", "bf16", 32, "{%32, %33, %34, %35}", "%36", "%37", "%38");
    } else {
      TILEKERNELS_WGMMA_F16_RS("m64n64k16", "f16", 32, "{%32, %33, %34, %35}", "%36", "%37", "%38");
    }
  } else if constexpr (kN == 128) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_RS("m64n128k16", "bf16", 64, "{%64, %65, %66, %67}", "%68", "%69", "%70");
    } else {
      TILEKERNELS_WGMMA_F16_RS("m64n128k16", "f16", 64, "{%64, %65, %66, %67}", "%68", "%69", "%70");
    }
  } else if constexpr (kN == 256) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_RS("m64n256k16", "bf16", 128, "{%128, %129, %130, %131}", "%132", "%133", "%134");
    } else {
      TILEKERNELS_WGMMA_F16_RS("m64n256k16", "f16", 128, "{%128, %129, %130, %131}", "%132", "%133", "%134");
    }
  }
}

template <int kN, bool kBf16, int kTransB, int kTransA = 0>
__device__ __forceinline__ void wgmma_m64k16_f16_ss(float (&d)[kN / 2], uint64_t a_desc, uint64_t b_desc,
                                                    int scale_d) {
  static_assert(kN == 64 || kN == 128 || kN == 192 || kN == 256, "N = 64, 128, 192 or 256");
  if constexpr (kN == 64) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_SS("m64n64k16", "bf16", 32, "%32", "%33", "%34", "%35", "%36");
    } else {
      TILEKERNELS_WGMMA_F16_SS("m64n64k16", "f16", 32, "%32", "%33", "%34", "%35", "%36");
    }
  } else if constexpr (kN == 128) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_SS("m64n128k16", "bf16", 64, "%64", "%65", "%66", "%67", "%68");
    } else {
      TILEKERNELS_WGMMA_F16_SS("m64n128k16", "f16", 64, "%64", "%65", "%66", "%67", "%68");
    }
  } else if constexpr (kN == 192) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_SS("m64n192k16", "bf16", 96, "%96", "%97", "%98", "%99", "%100");
    } else {
      TILEKERNELS_WGMMA_F16_SS("m64n192k16", "f16", 96, "%96", "%97", "%98", "%99", "%100");
    }
  } else if constexpr (kN == 256) {
    if constexpr (kBf16) {
      TILEKERNELS_WGMMA_F16_SS("m64n256k16", "bf16", 128, "%128", "%129", "%130", "%131", "%132");
    } else {
      TILEKERNELS_WGMMA_F16_SS("m64n256k16", "f16", 128, "%128", "%129", "%130", "%131", "%132");
    }
  }
}

#undef TILEKERNELS_WGMMA_F16_RS
#undef TILEKERNELS_WGMMA_F16_SS

}  // namespace tilekernels::ptx
