// The data layer in one include, and the one call that turns a TrainConfig into
// what the training loop consumes:
//
//   TrainingData td = prepare_training_data(config, layout);   // load, split, fit statistics
//   BatchLoader train(td.splits.train, td.normalizer, config.batch, config.seed, true);
//   for (epoch = 1..E) { train.start_epoch(epoch);
//     for (k < train.num_batches()) { B = train.fill(k, x, y); step(B); } }
//   BatchLoader val(td.splits.val, td.normalizer, config.batch, config.seed, false);
//
// Every failure is an rt::Error (runtime/error.h) whose message is ready for the user.
#pragma once

#include "ir/train_config.h"
#include "runtime/data/batch.h"
#include "runtime/data/data_spec.h"
#include "runtime/data/dataset.h"
#include "runtime/data/normalize.h"
#include "runtime/data/split.h"
#include "runtime/error.h"

namespace netc::rt {

struct TrainingData {
  LoadedData loaded;
  Splits splits;
  Normalizer normalizer; // fitted on splits.train; store its statistics in the checkpoint
};

// config.data / data_dir / split / normalize / seed.
TrainingData prepare_training_data(const TrainConfig& config, const DataLayout& layout);

} // namespace netc::rt
