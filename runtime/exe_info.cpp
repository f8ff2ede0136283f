// `OUT info`: what the compiled model is and costs. FLOPs come from the
// plan's per-kernel counts (fixed + per example * batch); memory from the
// memory planner (the arena with and without reuse of dead tensors' bytes).
#include "runtime/exe_commands.h"

#include <algorithm>
#include <fmt/format.h>
#include <ostream>
#include <set>
#include <tuple>

namespace netc::rt {

namespace {

std::string kernel_table(const Program& p, int64_t batch) {
  std::string text = fmt::format("  {:>3}  {:<24} {:<12} {:>10}  {}\n", "#", "kernel", "kind",
                                 fmt::format("FLOPs@{}", batch), "ops");
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    const KernelCall& c = p.kernels[k];
    bool once = static_cast<int>(k) < p.prepare;
    text += fmt::format("  {:>3}  {:<24} {:<12} {:>10}  {}{}\n", k, c.name, c.kind,
                        si(kernel_flops(c, batch)), summarize_ops(c.ops),
                        once ? "  (once per weights change)" : "");
  }
  return text;
}

// The weights an inference batch reads: the persistent inputs of the kernels
// after the prepare kernels, and what the prepare kernels computed for them
// (folded batch norm, quantized weights), each counted once; and how many of
// those bytes are int8. A reshape of a prepared value (the int8 conv's
// weights in its kernel's layout) is a slot of its own at the prepared
// slot's offset, with its type and bytes: a view, read as that value.
std::pair<int64_t, int64_t> inference_weight_bytes(const Plan& plan) {
  using Place = std::tuple<Region, int64_t, int64_t, ElemType>; // region, offset, bytes, type
  auto place = [&](int s) {
    const TensorSlot& slot = plan.slots[size_t(s)];
    return Place{slot.region, slot.offset, slot.bytes(1), slot.type};
  };
  std::set<Place> prepared_places, counted;
  for (int k = 0; k < plan.infer.prepare; ++k) {
    const KernelCall& c = plan.infer.kernels[size_t(k)];
    for (size_t a = size_t(c.num_inputs); a < c.args.size(); ++a)
      prepared_places.insert(place(c.args[a]));
  }
  auto batched = [](const TensorSlot& slot) {
    return std::find(slot.shape.begin(), slot.shape.end(), kBatchDim) != slot.shape.end();
  };
  int64_t all = 0, int8 = 0;
  for (size_t k = size_t(plan.infer.prepare); k < plan.infer.kernels.size(); ++k) {
    const KernelCall& c = plan.infer.kernels[k];
    for (int a = 0; a < c.num_inputs; ++a) {
      int s = c.args[size_t(a)];
      const TensorSlot& slot = plan.slots[size_t(s)];
      bool weight = slot.region == Region::persistent
                        ? slot.shape.size() > 0
                        : !batched(slot) && prepared_places.count(place(s)) > 0;
      if (!weight || !counted.insert(place(s)).second) continue;
      all += slot.bytes(1);
      if (slot.type == ElemType::i8) int8 += slot.bytes(1);
    }
  }
  return {all, int8};
}

} // namespace

int exe_info(Executor& ex, std::ostream& out) {
  const Plan& plan = ex.plan();
  int64_t batch = default_batch(plan);
  double step = program_flops(plan.train, batch);
  double infer = program_flops(plan.infer, 1);
  std::string text = fmt::format("model {}\n", plan.model);
  text += fmt::format("  trainable parameters      {}\n", group_digits(plan.trainable_parameters));
  text += fmt::format("  FLOPs per training step   {} at batch {} ({} per example)\n",
                      si(step, "FLOP"), batch, si(step / static_cast<double>(batch), "FLOP"));
  text += fmt::format("  FLOPs per inference       {} per example (batch 1)\n", si(infer, "FLOP"));
  text += fmt::format("  arena                     {} ({} without reuse)\n",
                      human_bytes(plan.arena_bytes), human_bytes(plan.arena_bytes_without_reuse));
  text += fmt::format("  persistent                {} (params, optimizer state, scalars)\n",
                      human_bytes(plan.persistent_bytes));
  text += fmt::format("  max batch                 {} (default batch {})\n", plan.max_batch, batch);
  // Only when set, so that the output of models without it is unchanged.
  if (!plan.config.augment.empty())
    text += fmt::format("  augment                   {} (training batches only)\n",
                        augment_text(plan.config.augment));
  text += fmt::format("train step: {} kernels, {} updates\n", plan.train.kernels.size(),
                      plan.train.updates.size());
  text += kernel_table(plan.train, batch);
  text += fmt::format(
      "inference: {} kernels{}\n", plan.infer.kernels.size(),
      plan.infer.prepare > 0
          ? fmt::format(", the first {} only when the weights change", plan.infer.prepare)
          : "");
  text += kernel_table(plan.infer, 1);
  auto [weights, int8] = inference_weight_bytes(plan);
  text +=
      fmt::format("inference weights: {} bytes read per batch ({} of them int8)\n", weights, int8);
  out << text;
  return 0;
}

} // namespace netc::rt
