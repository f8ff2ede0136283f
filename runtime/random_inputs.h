// Random batches for `bench`, `forward` and `train` before real data loaders:
// drawn exactly like the reference interpreter's (tools/reference_session.cpp,
// random_batch), so that a compiled model and `netc run MODEL ... --random-init`
// see the same batch for the same seed, draw and class count.
#pragma once

#include "runtime/executor.h"

#include <cstdint>

namespace netc::rt {

// Fills the program's inputs at the executor's current batch: f32 inputs
// with standard normal values, i32 inputs (class labels) uniformly in
// [0, their declared count), or [0, num_classes) for an input that declares
// none. `draw` selects another batch of the same seed.
void fill_random_inputs(Executor& ex, const Program& program, uint64_t seed, uint32_t draw,
                        int64_t num_classes);

// A class count for labels that declare none, as far as a plan tells: the
// last dimension of the first output of the train program (else of the infer
// program), or 2.
int64_t guess_num_classes(const Plan& plan);

} // namespace netc::rt
