// Loading examples into memory, shaped and checked for the model that will
// consume them. Every format ends up the same: float features [N, example
// shape] (uint8 pixels scaled to [0, 1] by 1/255, as bench/ref_torch.py does)
// and a float label matrix [N, L] whose columns feed the model's label inputs
// in order (a class label takes one column, holding an exact small integer).
#pragma once

#include "runtime/data/data_spec.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace netc::rt {

// One label input of the model.
struct LabelField {
  std::string name;    // for messages, e.g. "y"
  int64_t classes = 0; // > 0: an i32 class index in [0, classes) (a `class(K)` label)
  int64_t width = 1;   // classes == 0: f32 targets, `width` values per example
  int64_t columns() const { return classes > 0 ? 1 : width; }
};

// What the model consumes per example: its data input's shape without the batch
// dimension, and its label inputs (none for inference-only data).
struct DataLayout {
  std::string input_name = "x";
  std::vector<int64_t> example_shape; // e.g. {1, 28, 28}
  std::vector<LabelField> labels;
  int64_t example_elements() const;
  int64_t label_columns() const;
};

struct Dataset {
  std::string source;                   // the file(s), for messages
  int64_t size = 0;                     // N
  std::vector<int64_t> example_shape;   // the layout's
  std::vector<float> features;          // [N, example_elements], raw (not normalized)
  std::vector<LabelField> label_fields; // the layout's, for unlabeled data none
  int64_t label_columns = 0;            // L, the fields' columns
  std::vector<float> labels;            // [N, L]

  int64_t example_elements() const;
  const float* example(int64_t row) const { return features.data() + row * example_elements(); }
  // The class index in label column `column` (a class field's column), e.g. for a
  // confusion matrix.
  int32_t class_label(int64_t row, int64_t column) const {
    return static_cast<int32_t>(labels[static_cast<size_t>(row * label_columns + column)]);
  }
};

// The examples of a spec and, for fashion-mnist only, the dataset's own test set.
struct LoadedData {
  std::shared_ptr<const Dataset> examples;
  std::shared_ptr<const Dataset> test; // null when the data has no test set of its own
};

// Loads and checks a spec against the layout; throws Error on a missing,
// truncated or malformed file, a shape that does not fit the model's input,
// labels out of range, or images and labels of different counts.
LoadedData load_data(const DataSpec& spec, const DataLayout& layout);
LoadedData load_data(const std::string& spec, const std::string& data_dir,
                     const DataLayout& layout);

// Unlabeled inputs for `predict`: a .npy file (X), a .csv file (every column a
// feature) or an IDX file (gzipped or raw), chosen by the file's name.
Dataset load_inputs(const std::string& path, const DataLayout& layout);

} // namespace netc::rt
