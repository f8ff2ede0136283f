// The kernel table of a compiled model. `netc compile` generates a file that
// defines
//   extern "C" const char netc_plan_json[];
//   extern "C" const netc::rt::KernelEntry netc_kernels[]; // ends with {nullptr, nullptr}
// with one entry per generated kernel: its name and Halide's argv entry point
// (`NAME_argv`, compiled without the user_context feature), whose args are
// pointers to the input buffers, then to the scalars its KernelCall lists,
// then to the output buffers: the order of Halide's generated signature.
// This header has no dependencies so that the generated file may include it
// or repeat the struct verbatim.
#pragma once

namespace netc::rt {

struct KernelEntry {
  const char* name;
  int (*fn)(void** args);
};

} // namespace netc::rt
