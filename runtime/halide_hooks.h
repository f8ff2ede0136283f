// Connects the Halide runtime linked into a compiled model (Halide's
// standalone runtime object) to ours: kernel-internal allocations go to the
// block cache, parallel loops to our spinning pool (runtime/thread_pool.h),
// errors are captured so that they can be reported with the kernel's name,
// and the thread count comes from NETC_THREADS.
//
// The runtime's functions are referenced weakly, so that a program without a
// Halide runtime (the runtime's own tests, with hand-written kernels) links
// too; there the hooks do nothing and report false.
#pragma once

#include <string>

namespace netc::rt {

// Installs the allocator and the error handler once, and applies
// threads_from_env() if set. Later calls do nothing. False without a runtime.
bool install_halide_hooks();

// NETC_THREADS, else HL_NUM_THREADS, as a positive count; 0 when neither is
// set (Halide then uses one thread per core).
int threads_from_env();

// Sets the number of threads of the kernels' parallel loops; false without
// a runtime.
bool set_halide_threads(int threads);

// The last error message Halide reported since the previous call, or "".
std::string take_halide_error();

} // namespace netc::rt
