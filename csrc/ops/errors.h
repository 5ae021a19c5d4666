#pragma once
// Error reporting for the bindings. Exceptions cross into Python through torch's dispatcher:
// std::invalid_argument surfaces as ValueError, std::runtime_error as RuntimeError.
#include <sstream>
#include <stdexcept>
#include <string>

namespace tilekernels {

template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace tilekernels

// A malformed call: names the op and the problem.
#define TK_CHECK_ARG(cond, ...)                                               \
  do {                                                                        \
    if (!(cond)) throw std::invalid_argument(::tilekernels::str_cat(__VA_ARGS__)); \
  } while (0)

// A failure that is not the caller's fault (CUDA errors, missing build pieces).
#define TK_CHECK_RUNTIME(cond, ...)                                           \
  do {                                                                        \
    if (!(cond)) throw std::runtime_error(::tilekernels::str_cat(__VA_ARGS__)); \
  } while (0)
