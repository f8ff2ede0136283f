// The launch plan: everything a compiled model needs at run time besides its
// kernels, as plain data. The compiler builds it (passes/plan.cpp) from the
// fused, memory-planned graphs; `netc compile` embeds it in the executable as
// JSON; the runtime reads it once at start-up, checks it
// (runtime/plan_check.h) and never allocates after. It is a library of its
// own (netc_plan) so that the compiler, which writes plans, does not link the
// runtime, which reads them. The types keep the runtime's namespace: they are
// the runtime's input format.
//
// Tensors live in two regions: `persistent` (params, optimizer state, running
// statistics, runtime scalars: they outlive a step and are what checkpoints
// save) and `arena` (the step's inputs and intermediates, at offsets reused
// by liveness). Offsets are planned for `max_batch`; a smaller batch (the
// last, partial one, or batch-1 inference) uses the same offsets.
#pragma once

#include "ir/train_config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc::rt {

enum class Region { persistent, arena };
// u8, i8: quantized activations and weights (passes/quantize.h); they live in
// the arena only, so checkpoints never hold them.
enum class ElemType { f32, i32, u8, i8 };
int elem_bytes(ElemType t);

inline constexpr int64_t kBatchDim = -1; // in TensorSlot::shape

struct TensorSlot {
  std::string name;           // a leaf's name, or "%ID op" for an intermediate
  std::vector<int64_t> shape; // row-major; kBatchDim marks the batch
  ElemType type = ElemType::f32;
  Region region = Region::arena;
  int64_t offset = 0; // bytes from the region's start, 64-byte aligned
  // A rank-4 [N, C, H, W] value stored channels innermost ([N, H, W, C] in
  // memory): an intermediate between convolution kernels of the inference
  // program (passes/layout.h). Indexed as NCHW by everyone; only the strides
  // the executor describes to the kernels differ.
  bool channels_last = false;

  int64_t elements(int64_t batch) const;
  int64_t bytes(int64_t batch) const;
};

// The IR axis at storage position k (0: innermost, stride 1) of a slot of
// `rank` axes: row-major, or for a channels-last slot C, W, H, N. The one
// rule the executor's strides, the kernels' declared strides
// (codegen/kernel.cpp) and the error messages' positions follow.
constexpr int storage_axis(int rank, bool channels_last, int k) {
  constexpr int kChannelsLast[] = {1, 3, 2, 0};
  return channels_last ? kChannelsLast[k] : rank - 1 - k;
}

// One call of a generated kernel: its buffer arguments, inputs then outputs.
struct KernelCall {
  std::string name;      // the generated function's name
  std::vector<int> args; // slot ids: inputs then outputs
  int num_inputs = 0;
  // Runtime scalars, passed after the input buffers and before the outputs
  // (Halide appends outputs to a pipeline's arguments), in the listed order:
  // "batch" (i32), "seed" (u64, dropout masks), "step" (u32, the "step" state).
  std::vector<std::string> scalars;
  // FLOPs of one call: fixed + per_example * batch.
  int64_t flops_fixed = 0;
  int64_t flops_per_example = 0;
  std::string kind; // matmul, conv, reduction, elementwise, generic
  std::string ops;  // the IR ops it computes, for `info` and `bench`
  // Per output, "LINE:COL OP": the model line whose op computes it (a
  // gradient carries its forward op's line), so that --check-numerics can
  // name the line behind a NaN. Empty in plans made by hand (tests).
  std::vector<std::string> sources;
};

// After the kernels: persistent[target] = value (unless the kernel already
// wrote the new value in place, in which case no update is listed).
struct Update {
  int target = -1;
  int value = -1;
};

struct NamedSlot {
  std::string name;
  int slot = -1;
  // An input of class indices: the count its label declares (`label y :
  // class(10)[batch]`), which every loaded label is checked against. 0 otherwise.
  int64_t num_classes = 0;
  // A label (`label y : ...`) rather than data: `--random-data` fills a float
  // label with 0/1 targets, as the reference session does, not with normal
  // samples, so that both draw the same batches.
  bool label = false;
};

struct Program {
  std::vector<KernelCall> kernels;
  // The first `prepare` kernels compute from params, state and runtime
  // scalars alone (inference: batch norm folded into the weights). Their
  // results stay in the arena, which no other kernel of this program
  // overwrites, so the executor skips them until the persistent values
  // change or another program runs (runtime/executor.h).
  int prepare = 0;
  std::vector<Update> updates;
  std::vector<NamedSlot> inputs;  // data and labels fed per step
  std::vector<NamedSlot> outputs; // model outputs
  int loss = -1;                  // slot of the loss, or -1
};

// How to initialize a persistent tensor (ir/init.h schemes).
struct Init {
  int slot = -1;
  std::string scheme = "zeros";
  int64_t fan_in = 1, fan_out = 1;
  double scale = 0;
  bool trainable = false; // a param that the optimizer updates
  bool is_state = false;  // optimizer moments, running statistics, the step counter
  // >= 0: the tensor starts from Plan::initial_values at this offset (the
  // weights an imported ONNX network brought) instead of `scheme`.
  int64_t values_offset = -1;
};

struct Hyper {
  std::string name;
  int slot = -1;
  double value = 0; // the model's default
};

struct Plan {
  std::string model;
  std::string source_file; // the model file the sources of KernelCall refer to
  std::string fingerprint; // identifies the model's parameters (checkpoint compatibility)
  int64_t max_batch = 1;
  std::vector<TensorSlot> slots;
  int64_t persistent_bytes = 0;
  int64_t arena_bytes = 0;
  int64_t arena_bytes_without_reuse = 0;
  std::vector<Init> inits;
  std::vector<Hyper> hypers;
  Program train; // one training step: forward, backward, update
  Program infer; // the inference forward
  TrainConfig config;
  int64_t trainable_parameters = 0;
  // Starting values of imported weights (Init::values_offset). Not part of the
  // JSON: `netc compile` links them into the binary beside it, and the JSON
  // records their count and a hash, so a plan and its values cannot mix.
  std::vector<float> initial_values;
  int64_t initial_values_count = 0;
  std::string initial_values_hash;
};

// FNV-1a of the values' bytes, as hex: Plan::initial_values_hash.
std::string hash_values(const std::vector<float>& values);

// plan_from_json, then the start values linked beside the plan; throws
// std::runtime_error when their count or hash is not the plan's.
Plan plan_with_values(const std::string& json, const float* values, int64_t count);

std::string plan_to_json(const Plan& plan);
// Throws std::runtime_error with a message on malformed input.
Plan plan_from_json(const std::string& json);

} // namespace netc::rt
