// `OUT forward` and `OUT train` on random data: the compiled counterparts of
// `netc run MODEL forward|train --random-init`, with the same initial
// weights, the same batches and the same printout, so that the two can be
// compared line by line. Real data and the full training loop come next.
#include "runtime/exe_commands.h"
#include "runtime/random_inputs.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <ostream>

namespace netc::rt {

namespace {

// Rows of the last dimension, at most `max_rows` of them (as `netc run`).
std::string format_tensor(std::span<const float> t, int64_t cols, int64_t max_rows = 8) {
  int64_t rows = cols ? static_cast<int64_t>(t.size()) / cols : 0;
  std::string out;
  for (int64_t r = 0; r < rows && r < max_rows; ++r) {
    out += "  ";
    for (int64_t c = 0; c < cols && c < 16; ++c)
      out += fmt::format(" {:>10.5g}", t[static_cast<size_t>(r * cols + c)]);
    if (cols > 16) out += fmt::format("  ... ({} columns)", cols);
    out += "\n";
  }
  if (rows > max_rows) out += fmt::format("  ... ({} rows)\n", rows);
  return out;
}

std::string shape_text(const TensorSlot& s, int64_t batch) {
  std::string text = "[";
  for (size_t i = 0; i < s.shape.size(); ++i) {
    if (i) text += ",";
    text += std::to_string(s.shape[i] == kBatchDim ? batch : s.shape[i]);
  }
  text += "]";
  return text;
}

double read_scalar(Executor& ex, int slot) {
  if (ex.slot_info(slot).type == ElemType::i32) return ex.i32(slot)[0];
  return ex.f32(slot)[0];
}

} // namespace

int exe_forward(Executor& ex, const RunOptions& o, std::ostream& out) {
  const Plan& plan = ex.plan();
  // 2 as `netc run MODEL forward`, unless compiled for batch 1 only.
  int64_t batch = o.batch > 0 ? o.batch : std::min<int64_t>(2, plan.max_batch);
  ex.set_batch(batch);
  ex.initialize(o.seed);
  fill_random_inputs(ex, plan.infer, o.seed, 0, guess_num_classes(plan));
  ex.run(plan.infer);
  std::string text =
      fmt::format("model {}: forward, batch {}, seed {}\n", plan.model, batch, o.seed);
  for (const NamedSlot& output : plan.infer.outputs) {
    const TensorSlot& s = ex.slot_info(output.slot);
    int64_t cols = s.shape.empty() ? 1 : (s.shape.back() == kBatchDim ? batch : s.shape.back());
    std::vector<float> values;
    if (s.type == ElemType::i32) {
      for (int32_t v : ex.i32(output.slot)) values.push_back(static_cast<float>(v));
    } else {
      std::span<const float> data = ex.f32(output.slot);
      values.assign(data.begin(), data.end());
    }
    text += fmt::format("output {} {}\n{}", output.name, shape_text(s, batch),
                        format_tensor(values, cols));
  }
  if (plan.infer.loss >= 0)
    text += fmt::format("loss {}\n", static_cast<float>(read_scalar(ex, plan.infer.loss)));
  out << text;
  return 0;
}

int exe_train(Executor& ex, const RunOptions& o, std::ostream& out) {
  const Plan& plan = ex.plan();
  if (plan.train.loss < 0) throw RuntimeError(fmt::format("model '{}' has no loss", plan.model));
  int64_t batch = o.batch > 0 ? o.batch : default_batch(plan);
  ex.set_batch(batch);
  ex.initialize(o.seed);
  if (o.lr) ex.set_hyper("lr", *o.lr);
  int64_t classes = guess_num_classes(plan);
  out << fmt::format("model {}: training on random data, batch {}, seed {}\n", plan.model, batch,
                     o.seed);
  for (int64_t k = 0; k < o.steps; ++k) {
    fill_random_inputs(ex, plan.train, o.seed, static_cast<uint32_t>(k), classes);
    ex.run(plan.train);
    double loss = read_scalar(ex, plan.train.loss);
    out << fmt::format("step {:>5}  loss {:.9g}\n", k + 1, loss);
    out.flush(); // a long run shows its progress
    if (!std::isfinite(loss))
      throw RuntimeError(fmt::format("the loss is {} at step {}", loss, k + 1));
  }
  return 0;
}

} // namespace netc::rt
