// Issue rates of the conversions and permutes the TF32 / 3xTF32 operand paths use: cycles per warp
// instruction per SM sub-partition, 8 independent chains per thread, 32 warps per SM.
//   nvcc -gencode=arch=compute_90a,code=sm_90a -O3 benchmarks/probes/issue_rates.cu -o /tmp/issue_rates && /tmp/issue_rates
#include <cstdio>
#include <cstdint>
#include <cuda_bf16.h>
#define N 8
template <int OP>
__global__ void k(uint32_t* out, int iters, long long* cyc) {
  uint32_t r[N];
  for (int i = 0; i < N; ++i) r[i] = threadIdx.x * 977u + i * 131u + 0x3f800000u;
  __syncthreads();
  long long t0 = clock64();
  for (int it = 0; it < iters; ++it) {
#pragma unroll
    for (int i = 0; i < N; ++i) {
      if (OP == 0) asm volatile("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r[i]) : "f"(__uint_as_float(r[i])), "f"(__uint_as_float(r[(i+1)%N])));
      if (OP == 1) asm volatile("cvt.rn.tf32.f32 %0, %1;" : "=r"(r[i]) : "f"(__uint_as_float(r[i])));
      if (OP == 2) asm volatile("prmt.b32 %0, %1, %2, 0x7632;" : "=r"(r[i]) : "r"(r[i]), "r"(r[(i+1)%N]));
      if (OP == 4) asm volatile("add.f32 %0, %1, %2;" : "=r"(r[i]) : "r"(r[i]), "r"(r[(i+1)%N]));
      if (OP == 5) asm volatile("cvt.rna.tf32.f32 %0, %1;" : "=r"(r[i]) : "f"(__uint_as_float(r[i])));
    }
  }
  long long t1 = clock64();
  uint32_t s = 0;
  for (int i = 0; i < N; ++i) s ^= r[i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
  if (threadIdx.x == 0) cyc[blockIdx.x] = t1 - t0;
}
template <int OP>
void run(const char* name, uint32_t* out, long long* cyc, int sms) {
  const int iters = 4096, threads = 1024;
  k<OP><<<sms, threads>>>(out, iters, cyc);
  cudaDeviceSynchronize();
  long long c = 0;
  cudaMemcpy(&c, cyc, sizeof(c), cudaMemcpyDeviceToHost);
  // warp instructions per SMSP: (threads / 32 / 4) * iters * N
  double per = double(c) / (double(threads / 32 / 4) * iters * N);
  printf("%-22s %.2f cycles per warp instruction per SMSP\n", name, per);
}
int main() {
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  uint32_t* out; long long* cyc;
  cudaMalloc(&out, sms * 1024 * 4); cudaMalloc(&cyc, sms * 8);
  run<0>("cvt.rn.bf16x2.f32", out, cyc, sms);
  run<1>("cvt.rn.tf32.f32", out, cyc, sms);
  run<5>("cvt.rna.tf32.f32", out, cyc, sms);
  run<2>("prmt", out, cyc, sms);
  run<4>("add.f32", out, cyc, sms);
  printf("%s\n", cudaGetErrorString(cudaGetLastError()));
}
