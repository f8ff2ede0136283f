#include "runtime/plan_check.h"

#include "ir/init.h"
#include "runtime/error.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <limits>
#include <set>

namespace netc::rt {

namespace {

// Halide's buffer descriptors hold extents and strides as int32.
constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();

[[noreturn]] void fail(const std::string& what) {
  std::string message = "invalid launch plan: ";
  message += what;
  throw Error(message);
}

void check_slot(const Plan& plan, const TensorSlot& s) {
  if (s.name.empty()) fail("a slot has no name");
  int64_t elements = 1;
  for (int64_t d : s.shape) {
    if (d != kBatchDim && d <= 0) fail(fmt::format("slot '{}' has a dimension of {}", s.name, d));
    elements *= d == kBatchDim ? plan.max_batch : d;
    if (elements > kMaxElements)
      fail(
          fmt::format("slot '{}' has more than 2^31 elements at batch {}", s.name, plan.max_batch));
  }
  // (Checkpoints and the user's tensors are NCHW: only intermediates may be stored otherwise.)
  if (s.channels_last && (s.shape.size() != 4 || s.region != Region::arena))
    fail(fmt::format("slot '{}' is stored channels-last but is not a rank-4 intermediate", s.name));
  int64_t size = s.region == Region::persistent ? plan.persistent_bytes : plan.arena_bytes;
  if (s.offset < 0 || s.offset % 4 != 0 || s.offset + s.bytes(plan.max_batch) > size)
    fail(fmt::format("slot '{}' ({} bytes at offset {}) does not fit its region of {} bytes",
                     s.name, s.bytes(plan.max_batch), s.offset, size));
}

void check_id(const Plan& plan, int id, const std::string& what) {
  if (id < 0 || static_cast<size_t>(id) >= plan.slots.size())
    fail(fmt::format("{} refers to slot {}, but the plan has {} slots", what, id,
                     plan.slots.size()));
}

void check_program(const Plan& plan, const Program& p, const char* program) {
  if (p.prepare < 0 || static_cast<size_t>(p.prepare) > p.kernels.size())
    fail(fmt::format("the {} program prepares with {} of its {} kernels", program, p.prepare,
                     p.kernels.size()));
  if (p.prepare > 0 && !p.updates.empty())
    fail(fmt::format("the {} program has updates, so it cannot skip its first kernels", program));
  for (const KernelCall& k : p.kernels) {
    std::string what = fmt::format("kernel '{}' of the {} program", k.name, program);
    if (k.name.empty()) fail(fmt::format("a kernel of the {} program has no name", program));
    if (k.num_inputs < 0 || static_cast<size_t>(k.num_inputs) > k.args.size())
      fail(fmt::format("{} has {} inputs among {} arguments", what, k.num_inputs, k.args.size()));
    for (int a : k.args) check_id(plan, a, what);
    // --check-numerics indexes the sources by output.
    size_t outputs = k.args.size() - static_cast<size_t>(k.num_inputs);
    if (!k.sources.empty() && k.sources.size() != outputs)
      fail(fmt::format("{} has {} sources for its {} outputs", what, k.sources.size(), outputs));
    for (const std::string& s : k.scalars)
      if (!is_kernel_scalar(s))
        fail(fmt::format("{} takes an unknown scalar '{}' (batch, seed or step)", what, s));
  }
  for (const Update& u : p.updates) {
    std::string what = fmt::format("an update of the {} program", program);
    check_id(plan, u.target, what);
    check_id(plan, u.value, what);
    const TensorSlot& t = plan.slots[static_cast<size_t>(u.target)];
    const TensorSlot& v = plan.slots[static_cast<size_t>(u.value)];
    if (t.region != Region::persistent)
      fail(fmt::format("{} writes '{}', which is not persistent", what, t.name));
    if (t.type != v.type || t.bytes(plan.max_batch) != v.bytes(plan.max_batch))
      fail(fmt::format("{} copies '{}' ({} bytes) into '{}' ({} bytes)", what, v.name,
                       v.bytes(plan.max_batch), t.name, t.bytes(plan.max_batch)));
  }
  for (const NamedSlot& n : p.inputs) check_id(plan, n.slot, fmt::format("input '{}'", n.name));
  for (const NamedSlot& n : p.outputs) check_id(plan, n.slot, fmt::format("output '{}'", n.name));
  if (p.loss != -1) check_id(plan, p.loss, fmt::format("the loss of the {} program", program));
}

} // namespace

bool is_kernel_scalar(const std::string& name) {
  return name == "batch" || name == "seed" || name == "step";
}

void check_plan(const Plan& plan) {
  if (plan.max_batch < 1 || plan.max_batch > kMaxElements)
    fail(fmt::format("max_batch is {}", plan.max_batch));
  if (plan.persistent_bytes < 0 || plan.arena_bytes < 0) fail("a region has a negative size");
  std::set<std::string_view> names;
  for (const TensorSlot& s : plan.slots) {
    check_slot(plan, s);
    // Arena names repeat across the programs (each has its own input "x" and
    // "%12 add"), but a persistent tensor is one named thing: its checkpoint entry.
    if (s.region == Region::persistent && !names.insert(s.name).second)
      fail(fmt::format("two persistent slots are named '{}'", s.name));
  }
  check_program(plan, plan.train, "train");
  check_program(plan, plan.infer, "infer");
  const auto& schemes = init_scheme_names();
  for (const Init& init : plan.inits) {
    check_id(plan, init.slot, "an initializer");
    const TensorSlot& s = plan.slots[static_cast<size_t>(init.slot)];
    if (s.region != Region::persistent)
      fail(fmt::format("the initializer of '{}' targets the arena", s.name));
    if (std::find(schemes.begin(), schemes.end(), init.scheme) == schemes.end())
      fail(fmt::format("'{}' has an unknown initializer '{}'", s.name, init.scheme));
    if (init.values_offset >= 0 &&
        (s.type != ElemType::f32 ||
         init.values_offset > static_cast<int64_t>(plan.initial_values.size()) - s.elements(1)))
      fail(fmt::format("the start values of '{}' lie outside the plan's {} values", s.name,
                       plan.initial_values.size()));
  }
  if (static_cast<int64_t>(plan.initial_values.size()) != plan.initial_values_count)
    fail(fmt::format("the plan expects {} start values, it holds {}", plan.initial_values_count,
                     plan.initial_values.size()));
  for (const Hyper& h : plan.hypers) {
    check_id(plan, h.slot, fmt::format("runtime scalar '{}'", h.name));
    const TensorSlot& s = plan.slots[static_cast<size_t>(h.slot)];
    if (s.region != Region::persistent || s.type != ElemType::f32 || s.elements(1) != 1 ||
        std::count(s.shape.begin(), s.shape.end(), kBatchDim) != 0)
      fail(fmt::format("runtime scalar '{}' is not a persistent f32 scalar", h.name));
  }
}

} // namespace netc::rt
