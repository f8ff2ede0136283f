// The error of the runtime: a bad plan, a missing kernel, a batch out of
// range, a failing kernel. The executable prints its message and exits 1.
#pragma once

#include <stdexcept>

namespace netc::rt {

class RuntimeError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace netc::rt
