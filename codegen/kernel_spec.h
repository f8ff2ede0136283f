// What a kernel is, independent of Halide: a set of nodes of a Graph that one
// generated function computes, the values it reads from outside and the values
// it hands back. The fusion pass produces these; tests write them by hand.
// Kept free of Halide.h so that the JIT's and the runtime's users need not
// compile it.
#pragma once

#include "ir/graph.h"
#include "ir/op_traits.h"

#include <string>
#include <string_view>
#include <vector>

namespace netc {
struct CompiledProgram; // passes/plan.h
struct FusedKernel;     // passes/fusion.h
} // namespace netc

namespace netc::codegen {

struct KernelSpec {
  std::string name;
  std::vector<ValueId> nodes;   // computed inside the kernel, in topological order
  std::vector<ValueId> inputs;  // produced outside: each becomes an ImageParam, in this order
  std::vector<ValueId> outputs; // used outside: each becomes an output Func, in this order
  // An output shares its buffer with an input (an optimizer update written
  // over its parameter): the schedule must compute every element once and
  // never recompute a tail (a second pass would read the updated value).
  bool writes_in_place = false;
  // Fusion's kind for the kernel; the scheduler picks the schedule by it.
  KernelKind kind = KernelKind::elementwise;
  // Inputs and outputs whose buffers are stored channels innermost (rank 4,
  // [N, H, W, C] in memory: passes/layout.h). The kernel indexes them as
  // NCHW like any other value; their buffers' strides say otherwise.
  std::vector<ValueId> channels_last;
  bool is_channels_last(ValueId v) const;
};

// The schedule a kernel got (codegen/schedule*.cpp): matmul and conv kernels
// get their kind's recipe unless it refuses the kernel, every other kind the
// generic schedule. The dumps print its name.
enum class Schedule {
  pointwise, // "elementwise": the generic schedule of pure outputs
  staged,    // "reduction": the generic schedule, with stages to place
  matmul,    // "matmul": HALIDE-NOTES' register-blocked recipe
  conv,      // "conv": a conv2d, dx or dW recipe
  generic,   // "generic": the recipe refused the kernel (the notes say why)
  none,      // "unscheduled": KernelOptions::schedule was false
};
std::string_view schedule_name(Schedule s);

struct KernelOptions {
  bool training = false;   // LowerOptions::training
  bool schedule = true;    // false: leave the pipeline unscheduled (autoschedulers, debugging)
  bool no_asserts = false; // release kernels whose buffers the caller has checked
};

// The spec of a kernel that computes `nodes` (any order), of the kind fusion
// gives such a kernel: its anchor's (a matmul's or a conv's when there are
// several: their recipes own the loop nest). Its inputs are the
// operands produced outside the set; Constant and BatchSize leaves join the
// kernel instead (they become Exprs), and the other leaves in `nodes` (input,
// param, state, hyper) become inputs. Its outputs are `outputs` when given,
// otherwise every node that something outside the kernel uses (another node,
// a graph output, the loss, an update), or else the last node.
KernelSpec make_kernel_spec(const Graph& g, std::vector<ValueId> nodes,
                            std::vector<ValueId> outputs = {}, std::string name = "");

// The spec of kernel `k` of a compiled program (named PREFIX_NAME), as `netc
// compile` and the dumps lower it: its buffers' layouts, and whether it
// writes over its inputs, come from the program's plans.
KernelSpec program_kernel_spec(const CompiledProgram& program, const FusedKernel& k);

// A kernel of one op: the node and the Constant/BatchSize leaves it reads.
KernelSpec single_op_kernel(const Graph& g, ValueId node, std::string name = "");

// True for the leaves that a kernel computes itself (Constant, BatchSize).
inline bool is_inline_leaf(OpKind kind) { return op_traits(kind).role == FusionRole::inline_leaf; }

// The floating-point operations of one call at the given batch extent: each
// node's FLOPs rule (per example) times the batch when the node touches the
// batch dimension.
int64_t kernel_flops(const Graph& g, const KernelSpec& spec, int64_t batch);

} // namespace netc::codegen
