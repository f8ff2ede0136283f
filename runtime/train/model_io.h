// How a compiled model meets the data layer: the data layout a plan implies,
// the executor buffers a batch is written into, and evaluation of a subset
// with the inference program (val/test metrics, `eval`).
//
// The plan does not mark which inputs are labels, so the convention is the
// training program's: its first input is the data, the others are labels (an
// i32 input is a class label with the class count its label declares, or
// without one the width of the model's first output; an f32 input holds
// targets).
#pragma once

#include "runtime/data/data.h"
#include "runtime/executor.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace netc::rt {

DataLayout model_data_layout(const Plan& plan);

// A program's input buffers (stable: a slot's address does not depend on the
// batch) and its first output, for accuracy.
class ModelIo {
public:
  ModelIo(Executor& ex, const Program& program, const DataLayout& layout);

  // Writes batch k of `loader` and sets the executor's batch; returns B.
  int64_t fill(Executor& ex, const BatchLoader& loader, int64_t k) const;

  // Class labels of the current batch (of the first label field), or null for
  // float targets.
  const int32_t* classes() const { return classes_; }
  // The first output as [B, C] scores (probabilities or logits), or null.
  const float* scores() const { return scores_; }
  int64_t num_classes() const { return num_classes_; }
  bool scores_are_probs() const { return scores_are_probs_; }
  int loss_slot() const { return loss_; }

private:
  float* features_ = nullptr;
  std::vector<LabelBuffer> labels_;
  std::vector<int32_t> class_scratch_; // when the program lacks the class label input
  int32_t* classes_ = nullptr;
  const float* scores_ = nullptr;
  int64_t num_classes_ = 0;
  bool scores_are_probs_ = false;
  int loss_ = -1;
};

// Index of the largest of `n` scores (the first on ties).
int64_t argmax(const float* scores, int64_t n);

struct EvalResult {
  int64_t count = 0;
  double loss = 0;                // mean over examples
  std::optional<double> accuracy; // class labels only
  // With keep_predictions: per example (in the loader's order).
  std::vector<int64_t> rows;
  std::vector<int32_t> labels, predicted;
  std::vector<float> confidence; // the predicted class's probability
};

// Runs the inference program over every batch of `loader` (batches of up to the
// executor's max batch). The loss is the program's loss slot when it has one,
// else the cross-entropy of the first output's probabilities. Restores no batch.
EvalResult evaluate(Executor& ex, const BatchLoader& loader, const DataLayout& layout,
                    bool keep_predictions = false);

// Reads a scalar slot (f32 or i32) as double.
double scalar_value(Executor& ex, int slot);

} // namespace netc::rt
