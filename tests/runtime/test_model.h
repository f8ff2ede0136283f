// A tiny model with hand-written kernels for the runtime's tests: softmax
// regression (3 features, 2 classes) trained by SGD, laid out in a launch
// plan by hand. The kernels use the AOT argv ABI of Halide's generated code
// (void** args: pointers to the input buffers, the listed scalars, then the
// output buffers) and honor each buffer's extents and strides, so they check
// the descriptors the executor builds.
//
// train: train_fwd   x W b        -> logits        logits = x W + b
//        train_loss  logits y     -> loss dlogits  mean cross-entropy, (softmax - onehot) / B
//        train_grad  x dlogits    -> dW db         (scratch from halide_malloc, like Halide)
//        train_sgd   W dW b db lr step; step seed batch -> W' b' step' (scalars)
//        updates W <- W', b <- b', step <- step'
// infer: infer_fwd   x W b -> probs;  infer_transpose x -> xT [3, batch]
#pragma once

#include "plan/launch_plan.h"
#include "runtime/kernel_entry.h"

#include <cstdint>
#include <vector>

namespace netc::rt::test {

inline constexpr int64_t kMaxBatch = 8;
inline constexpr int kFeatures = 3;
inline constexpr int kClasses = 2;

Plan make_plan();

// The full kernel table, terminated; `without` drops one kernel by name.
std::vector<KernelEntry> kernel_table(const char* without = nullptr);

// What train_sgd saw on its last call.
struct Seen {
  int calls = 0;
  uint32_t step = 0;
  uint64_t seed = 0;
  int32_t batch = 0;
  float w00 = 0; // W[0][0] as it read it: the update comes after the kernels
};
extern Seen seen;

// Halide-runtime stand-ins this test binary defines (HalideRuntime.h's
// halide_set_custom_malloc and friends), so the executor's hooks attach.
int64_t halide_mallocs(); // calls of halide_malloc by the kernels
bool halide_allocator_installed();
int halide_threads(); // the pool's threads, once the executor installed it as Halide's

// SGD on the model in double precision: the oracle of one step.
struct Reference {
  std::vector<double> W, b;
  double loss = 0;
};
Reference reference_step(const std::vector<float>& W, const std::vector<float>& b, const float* x,
                         const int32_t* y, int64_t batch, double lr);

} // namespace netc::rt::test
