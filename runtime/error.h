// The one error of the runtime and its data layer: a bad plan, a missing
// kernel, a batch out of range, a failing kernel, a malformed data file or
// checkpoint. Its message is meant for the user as is: it names the file,
// tensor, kernel or option at fault and, where it applies, the row, line or
// byte offset, and says what was expected and what was found.
//
// The command boundaries treat it like any other std::exception: the compiled
// binary (runtime/exe_cli.cpp) prints "PROGRAM: MESSAGE" and exits 1; the C API
// (runtime/capi) returns its failure value and netc_last_error() gives the
// message. Only the hyperparameter search tells it apart: a trial that throws
// it fails on its own and the search goes on (runtime/tune.cpp).
#pragma once

#include <stdexcept>

namespace netc::rt {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace netc::rt
