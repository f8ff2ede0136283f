// --check-numerics (Executor::set_check_numerics): the first NaN or Inf that
// any kernel writes stops the run with a message that says where it came
// from. A loss that turns NaN only says that something diverged; by then the
// NaN has flowed through every later kernel. Checking each kernel's outputs
// as soon as it returns finds the first one, and the plan's sources
// (KernelCall::sources) map it back to the model line of the op.
#include "runtime/executor.h"

#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <vector>

namespace netc::rt {

namespace {

// "[3,0]": the position of flat element `i` in the slot's shape at `batch`
// (the shape's own order, NCHW, also for a slot stored channels-last).
std::string position(const TensorSlot& s, size_t i, int64_t batch) {
  int r = static_cast<int>(s.shape.size());
  std::vector<int64_t> at(s.shape.size());
  auto rest = static_cast<int64_t>(i);
  for (int k = 0; k < r; ++k) {
    auto a = static_cast<size_t>(storage_axis(r, s.channels_last, k));
    int64_t d = s.shape[a] == kBatchDim ? batch : s.shape[a];
    at[a] = d > 0 ? rest % d : 0;
    rest = d > 0 ? rest / d : 0;
  }
  return fmt::format("[{}]", fmt::join(at, ","));
}

} // namespace

void Executor::check_numerics(const Program& program, size_t kernel) const {
  const KernelCall& k = program.kernels[kernel];
  for (size_t a = static_cast<size_t>(k.num_inputs); a < k.args.size(); ++a) {
    int slot = k.args[a];
    const TensorSlot& s = slot_info(slot);
    if (s.type != ElemType::f32) continue;
    std::span<const std::byte> bytes = view(slot);
    size_t n = bytes.size() / sizeof(float);
    const std::byte* p = bytes.data();
    for (size_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, p + i * sizeof(float), sizeof v);
      if (std::isfinite(v)) continue;
      size_t out = a - static_cast<size_t>(k.num_inputs);
      std::string source = out < k.sources.size() ? k.sources[out] : std::string();
      std::string where =
          source.empty()
              ? std::string("no model line recorded for it")
              : fmt::format("computed at {}:{}",
                            plan_.source_file.empty() ? plan_.model : plan_.source_file, source);
      std::string when = &program == &plan_.train
                             ? fmt::format("in training step {}", scalars_.step + 1)
                             : fmt::format("in inference (after {} training steps)", scalars_.step);
      throw Error(fmt::format("check-numerics: kernel '{}' ({}) wrote {} to {}{} {}; {}", k.name,
                              k.ops.empty() ? k.kind : k.ops, v, s.name, position(s, i, batch_),
                              when, where));
    }
  }
}

} // namespace netc::rt
