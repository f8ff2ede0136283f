// The main() of every executable that `netc compile` produces. The generated
// file of the model defines the symbols below; everything else is in the
// runtime library (runtime/exe_cli.h), so that this library holds only main.
#include "runtime/exe_cli.h"

#include <iostream>

extern "C" const char netc_plan_json[];
extern "C" const netc::rt::KernelEntry netc_kernels[];
extern "C" const float netc_initial_values[];
extern "C" const int64_t netc_initial_values_count;

int main(int argc, char** argv) {
  return netc::rt::exe_main(argc, argv, netc_plan_json, netc_kernels, std::cout, std::cerr, nullptr,
                            netc_initial_values, netc_initial_values_count);
}
