#include "runtime/train/model_io.h"

#include <cmath>
#include <fmt/format.h>

namespace netc::rt {

namespace {

int64_t non_batch_elements(const TensorSlot& s) {
  int64_t n = 1;
  for (int64_t d : s.shape)
    if (d != kBatchDim) n *= d;
  return n;
}

// The first output as [batch, C] class scores, or C = 0.
int64_t score_columns(const Plan& plan, const Program& p) {
  if (p.outputs.empty()) return 0;
  const TensorSlot& s = plan.slots[static_cast<size_t>(p.outputs.front().slot)];
  if (s.type != ElemType::f32 || s.shape.size() != 2 || s.shape[0] != kBatchDim) return 0;
  return s.shape[1] > 1 ? s.shape[1] : 0;
}

// An i32 input without a declared class count (IR not written with `label y :
// class(N)`): the width of the first output, the class scores, as a guess.
int64_t guessed_class_count(const Plan& plan) {
  int64_t c = score_columns(plan, plan.infer);
  if (c == 0) c = score_columns(plan, plan.train);
  return c > 0 ? c : 2;
}

} // namespace

DataLayout model_data_layout(const Plan& plan) {
  const Program& p = plan.train.inputs.empty() ? plan.infer : plan.train;
  if (p.inputs.empty()) throw Error(fmt::format("model '{}' has no inputs", plan.model));
  DataLayout layout;
  const TensorSlot& x = plan.slots[static_cast<size_t>(p.inputs[0].slot)];
  if (x.type != ElemType::f32 || x.shape.empty() || x.shape[0] != kBatchDim)
    throw Error(fmt::format("input {} is not an f32 batch of examples", x.name));
  layout.input_name = p.inputs[0].name;
  layout.example_shape.assign(x.shape.begin() + 1, x.shape.end());
  for (size_t i = 1; i < p.inputs.size(); ++i) {
    const TensorSlot& s = plan.slots[static_cast<size_t>(p.inputs[i].slot)];
    LabelField f;
    f.name = p.inputs[i].name;
    // The declared count: the compiler checked that the loss's logits have that
    // width, so a label checked against it never indexes past a logits row.
    if (s.type == ElemType::i32)
      f.classes = p.inputs[i].num_classes > 0 ? p.inputs[i].num_classes : guessed_class_count(plan);
    else
      f.width = non_batch_elements(s);
    layout.labels.push_back(f);
  }
  return layout;
}

ModelIo::ModelIo(Executor& ex, const Program& program, const DataLayout& layout) {
  const Plan& plan = ex.plan();
  auto find_input = [&](const std::string& name) {
    for (const NamedSlot& in : program.inputs)
      if (in.name == name) return in.slot;
    return -1;
  };
  int x = find_input(layout.input_name);
  if (x < 0) throw Error(fmt::format("the program has no input {}", layout.input_name));
  features_ = ex.f32(x).data();
  for (const LabelField& f : layout.labels) {
    int slot = find_input(f.name);
    LabelBuffer b;
    if (slot >= 0 && f.classes > 0) b.classes = ex.i32(slot).data();
    if (slot >= 0 && f.classes == 0) b.targets = ex.f32(slot).data();
    labels_.push_back(b);
  }
  if (!layout.labels.empty() && layout.labels[0].classes > 0) {
    if (!labels_[0].classes) {
      class_scratch_.resize(static_cast<size_t>(plan.max_batch));
      labels_[0].classes = class_scratch_.data();
    }
    classes_ = labels_[0].classes;
  }
  num_classes_ = score_columns(plan, program);
  if (num_classes_ > 0) {
    const NamedSlot& out = program.outputs.front();
    scores_ = ex.f32(out.slot).data();
    const std::string& slot_name = plan.slots[static_cast<size_t>(out.slot)].name;
    scores_are_probs_ = slot_name.find("softmax") != std::string::npos ||
                        out.name.find("prob") != std::string::npos;
  }
  loss_ = program.loss;
}

int64_t ModelIo::fill(Executor& ex, const BatchLoader& loader, int64_t k) const {
  int64_t b = loader.fill(k, features_, labels_);
  if (b != ex.batch()) ex.set_batch(b);
  return b;
}

int64_t argmax(const float* scores, int64_t n) {
  int64_t best = 0;
  for (int64_t c = 1; c < n; ++c)
    if (scores[c] > scores[best]) best = c;
  return best;
}

double scalar_value(Executor& ex, int slot) {
  if (ex.slot_info(slot).type == ElemType::i32) return ex.i32(slot)[0];
  return ex.f32(slot)[0];
}

EvalResult evaluate(Executor& ex, const BatchLoader& loader, const DataLayout& layout,
                    bool keep_predictions) {
  const Program& infer = ex.plan().infer;
  ModelIo io(ex, infer, layout);
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0;
  bool labeled = io.classes() && io.scores() && layout.labels[0].classes == io.num_classes();
  int64_t c = io.num_classes();
  for (int64_t k = 0; k < loader.num_batches(); ++k) {
    int64_t b = io.fill(ex, loader, k);
    ex.run(infer);
    std::span<const int64_t> rows = loader.batch_rows(k);
    if (io.loss_slot() >= 0) loss_sum += scalar_value(ex, io.loss_slot()) * static_cast<double>(b);
    for (int64_t i = 0; labeled && i < b; ++i) {
      const float* s = io.scores() + i * c;
      int64_t pred = argmax(s, c);
      int32_t y = io.classes()[i];
      correct += pred == y;
      // Probabilities of the predicted and the true class (softmax of logits).
      double p_pred = s[pred], p_true = s[y];
      if (!io.scores_are_probs()) {
        double z = 0;
        for (int64_t j = 0; j < c; ++j) z += std::exp(double(s[j]) - s[pred]);
        p_pred = 1 / z;
        p_true = std::exp(double(s[y]) - s[pred]) / z;
      }
      if (io.loss_slot() < 0) loss_sum -= std::log(std::max(p_true, 1e-12));
      if (keep_predictions) {
        r.rows.push_back(rows[static_cast<size_t>(i)]);
        r.labels.push_back(y);
        r.predicted.push_back(static_cast<int32_t>(pred));
        r.confidence.push_back(static_cast<float>(p_pred));
      }
    }
    r.count += b;
  }
  r.loss = r.count ? loss_sum / static_cast<double>(r.count) : std::nan("");
  if (labeled && r.count) r.accuracy = static_cast<double>(correct) / static_cast<double>(r.count);
  return r;
}

} // namespace netc::rt
