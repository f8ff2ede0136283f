// The command line of a compiled model (SPEC section 3, as far as this stage
// goes): `OUT info`, `OUT bench`, `OUT forward`, `OUT train` on random data.
// runtime/exe/exe_main.cpp calls it with the plan and kernel table that
// `netc compile` generated; tests call it with hand-built ones.
#pragma once

#include "runtime/kernel_entry.h"

#include <cstdint>
#include <iosfwd>

namespace netc::rt {

class Collective;

// Returns the exit status: 0, 1 for a runtime error (a message on `err`), 2
// for bad arguments (a message and the usage hint on `err`). `initial_values`
// are the start values the plan's imported weights point into.
int exe_main(int argc, const char* const* argv, const char* plan_json, const KernelEntry* kernels,
             std::ostream& out, std::ostream& err, Collective* ranks = nullptr,
             const float* initial_values = nullptr, int64_t initial_values_count = 0);
// `ranks`: the job's ranks when the binary was compiled with --mpi
// (runtime/mpi/openmpi/exe_main_mpi.cpp); train and bench --mpi then run
// data-parallel (runtime/mpi/data_parallel.h).

} // namespace netc::rt
