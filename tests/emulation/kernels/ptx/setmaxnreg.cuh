#pragma once
// Emulated setmaxnreg: registers are not a resource here.
namespace tilekernels::ptx {
template <int kRegisters>
inline void setmaxnreg_dec() {}
template <int kRegisters>
inline void setmaxnreg_inc() {}
}  // namespace tilekernels::ptx
