#include "runtime/random_inputs.h"

#include "ir/init.h"
#include "ir/random.h"

namespace netc::rt {

void fill_random_inputs(Executor& ex, const Program& program, uint64_t seed, uint32_t draw,
                        int64_t num_classes) {
  for (const NamedSlot& in : program.inputs) {
    uint32_t stream = name_stream(in.name) ^ (draw * 0x9e3779b9U);
    if (ex.slot_info(in.slot).type == ElemType::i32) {
      // The label's declared count when it has one (as `netc run --random-init`).
      int64_t count = in.num_classes > 0 ? in.num_classes : num_classes;
      auto classes = static_cast<uint32_t>(count > 0 ? count : 2);
      std::span<int32_t> labels = ex.i32(in.slot);
      for (size_t i = 0; i < labels.size(); ++i)
        labels[i] =
            static_cast<int32_t>(hash32(seed, stream, 3, static_cast<uint32_t>(i)) % classes);
    } else if (in.label) {
      // 0/1 targets, as tools/reference_session.cpp draws a float label.
      std::span<float> targets = ex.f32(in.slot);
      for (size_t i = 0; i < targets.size(); ++i)
        targets[i] = uniform01(seed, stream, 3, static_cast<uint32_t>(i)) < 0.5f ? 0.0f : 1.0f;
    } else {
      std::span<float> data = ex.f32(in.slot);
      for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<float>(counter_normal(seed, stream, static_cast<uint32_t>(i)));
    }
  }
}

int64_t guess_num_classes(const Plan& plan) {
  for (const Program* p : {&plan.train, &plan.infer}) {
    if (p->outputs.empty()) continue;
    const TensorSlot& s = plan.slots[static_cast<size_t>(p->outputs.front().slot)];
    if (!s.shape.empty() && s.shape.back() > 1) return s.shape.back();
  }
  return 2;
}

} // namespace netc::rt
