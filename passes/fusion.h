// Operator fusion: partitions a graph's computation into kernels, each one
// generated function. The policy (STYLE.md #14: every "no" has a reason):
//   - chains of pointwise ops (elementwise, broadcast, data movement) fuse;
//   - a pointwise consumer of a matmul, conv, pooling or reduction fuses into
//     it as an epilogue when it keeps the producer's iteration domain and is
//     the producer's only user (bias, activation, dropout, the batch-norm
//     apply, the softmax cross-entropy gradient's subtract-and-scale);
//   - a pointwise producer used only by a reduction fuses into it as a
//     prologue;
//   - a small non-overlapping pool of a conv's result that nothing else
//     reads ends the conv's kernel (inference: conv, bias, ReLU, maxpool);
//   - generators (one_hot, dropout_mask, scalar arithmetic on runtime
//     scalars: values computed from leaves alone) are never stored: every
//     kernel that needs one recomputes it, which is how the backward pass
//     recomputes the dropout mask instead of storing it;
//   - cheap pointwise activations that one or two stored values feed are
//     recomputed by every kernel that reads them instead of being stored
//     (batch norm's centred and normalized values, its ReLU and the mask);
//     operands of matmuls and convs, and would-be epilogues, stay stored;
//   - a reshape of a stored value is a view of its buffer, not a kernel;
//   - the optimizer updates of params of the same shape share one kernel.
// Kernels are listed in an order that respects their dependencies, with the
// kernels that only produce updates last, so that they may write the new
// values over the old ones (every other reader has run). In a graph without
// updates (inference) the weights-only kernels come first: the runtime runs
// them only when the weights have changed since the last call.
#pragma once

#include "ir/graph.h"
#include "ir/op_traits.h"

#include <string>
#include <vector>

namespace netc {

struct FusedKernel {
  std::string name; // k<index>_<kind>, unique in the plan
  KernelKind kind =
      KernelKind::elementwise;    // its anchor's (elementwise without one); picks the schedule
  std::vector<ValueId> nodes;     // computed inside (generators included), ascending
  std::vector<ValueId> inputs;    // read from buffers, ascending
  std::vector<ValueId> outputs;   // written to buffers, ascending
  std::vector<std::string> notes; // what fused into it, and what was refused and why
  // Computes only from params, state and runtime scalars (batch norm folded
  // into the weights, at inference): its results hold until those change.
  bool weights_only = false;
};

struct FusionPlan {
  std::vector<FusedKernel> kernels; // in execution order
  // Reshapes of stored values: no kernel computes them; readers get the
  // source's buffer under the new shape.
  struct View {
    ValueId value, source;
  };
  std::vector<View> views;
  // Stored values kept channels innermost ([N, H, W, C] in memory; every
  // kernel still indexes them as NCHW): set by passes/layout.h, ascending.
  std::vector<ValueId> channels_last;
  bool is_channels_last(ValueId v) const;
};

// Differential tests compare the fused kernels with unfused ones (the same
// lowerings, one kernel per stored value) to tell a fusion bug from a
// lowering bug.
struct FusionOptions {
  // False: every value that would be stored gets a kernel of its own. What
  // is never stored stays so (generators and the cheap recomputed
  // activations are still recomputed by each reader, and reshapes are still
  // views): those are properties of the values, not fusion decisions, and
  // the lowering relies on them (ValueClasses, passes/fusion_values.h).
  bool fuse = true;
};

FusionPlan fuse(const Graph& g, const FusionOptions& options = {});

// The kernels with their ops and the reasons, for `netc dump --after fusion`.
std::string print_fusion(const Graph& g, const FusionPlan& plan);

} // namespace netc
