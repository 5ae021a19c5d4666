#pragma once
// What the build compiled for, as constants: the build defines TILEKERNELS_WITH_SM90A when sm_90a is
// among its CUDA architectures (setup.py), and only then do the wgmma rows of the tile tables have code.
namespace tilekernels {

#if defined(TILEKERNELS_WITH_SM90A)
inline constexpr bool kBuiltForSm90a = true;
#else
inline constexpr bool kBuiltForSm90a = false;
#endif

}  // namespace tilekernels
