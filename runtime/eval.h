// `OUT eval` (error analysis, SPEC section 4) and `OUT predict`: both load a
// checkpoint written by `train`, with its normalization statistics.
//
// eval evaluates the test split of the checkpoint's training data (the same
// split, from the same seed), or every example of --data when it is given.
#pragma once

#include "runtime/executor.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace netc::rt {

struct EvalOptions {
  std::string weights;
  std::optional<std::string> data, data_dir;
  int64_t errors = 10; // misclassified examples listed
  std::string report;
};

struct PredictOptions {
  std::string weights, input;
};

int exe_eval(Executor& ex, const EvalOptions& o, std::ostream& out);
int exe_predict(Executor& ex, const PredictOptions& o, std::ostream& out);

} // namespace netc::rt
