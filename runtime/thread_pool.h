// The parallel loops of the generated kernels (Halide's halide_do_par_for),
// run on our own pool of spinning workers.
//
// Why not Halide's pool: its workers go to sleep on a condition variable as
// soon as a loop ends, and on a shared 2-vCPU machine waking one takes long
// enough that the calling thread often finishes every task alone. The mlp's
// training step (43 short kernels) measured bimodal, 0.8 ms or 1.4 ms (the
// one-thread time), from one run to the next. Here the workers keep spinning
// for a while after each loop (a training step's next kernel comes within
// microseconds) and only then sleep; the calling thread takes tasks too.
//
// One loop runs at a time. A loop started inside a task (nested parallelism)
// or while another thread's loop is running runs serially on its caller.
// Nothing here allocates after the workers start.
#pragma once

#include <cstdint>

namespace netc::rt {

// A task of a parallel loop, as Halide's halide_task_t.
using ParallelTask = int (*)(void* user_context, int index, uint8_t* closure);

// Runs task(user_context, i, closure) for i in [min, min + extent), on the
// pool; returns 0, or one of the non-zero results of the tasks.
int parallel_for(void* user_context, ParallelTask task, int min, int extent, uint8_t* closure);

// Sets the number of threads (the caller included) that loops use; starts or
// restarts the workers. Must not be called while a loop runs.
void set_pool_threads(int threads);
int pool_threads();

} // namespace netc::rt
