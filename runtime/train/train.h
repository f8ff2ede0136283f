// `OUT train` on real data (SPEC sections 3 and 4): the train block's
// defaults overridden by flags; load, split, normalize with training
// statistics; per epoch reshuffle, train over every batch (the last one
// partial) with the learning rate of the schedule, evaluate train and val;
// early stopping restores the best weights; reduce-on-plateau; a JSON line
// per epoch; checkpoints; the test evaluation at the end.
//
// Resume equivalence: checkpoints are written at epoch boundaries, and
// everything a later epoch depends on is either in the checkpoint (the
// persistent region with the step counter that seeds dropout, the schedule's
// and early stopping's state, the best weights, the normalization) or a pure
// function of (seed, epoch) (the batch order, runtime/data/batch.h). So E
// epochs straight and k epochs + save + resume + E - k epochs give bitwise
// the same weights.
#pragma once

#include "runtime/checkpoint.h"
#include "runtime/executor.h"
#include "runtime/schedule.h"
#include "runtime/train/model_io.h"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netc::rt {

class Collective;

struct TrainOptions {
  std::optional<std::string> data, data_dir;
  std::optional<int64_t> epochs, batch;
  std::optional<double> lr;
  std::optional<uint64_t> seed;
  std::string log, save, resume, report;
  std::optional<double> bayes_error;
  std::map<std::string, double> hypers; // set after initialization (tune)
  bool progress = false;                // a progress bar (on a terminal)
  bool quiet = false;                   // no per-epoch lines (tune)
  bool evaluate_test = true;
  Collective* ranks = nullptr; // data-parallel (runtime/mpi/data_parallel.h), or alone
};

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0;
  std::optional<double> train_accuracy, val_loss, val_accuracy;
  double lr = 0, seconds = 0, images_per_second = 0;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  int64_t epochs_run = 0, best_epoch = 0;
  bool stopped_early = false;
  std::optional<EvalResult> val, test; // after training (best weights restored)
  std::optional<double> train_loss, train_accuracy;
  double seconds = 0;
  int64_t num_classes = 0;
  std::string data;                 // the data spec trained on
  std::vector<AugmentStep> augment; // applied to the training batches
};

// Early stopping's state; in the checkpoint so that a resumed run stops where
// a straight one does.
struct EarlyStop {
  double best = 0;
  bool have_best = false;
  int64_t bad_epochs = 0, best_epoch = 0;
};

// What a checkpoint records of its run besides the tensors: the metadata
// that `train --resume` continues from and `eval` reads.
struct RunRecord {
  int64_t epoch = 0; // epochs done
  int64_t step = 0;  // steps done
  uint64_t seed = 1;
  int64_t batch = 1;
  double lr0 = 0;
  std::string data, data_dir; // the data spec; kRandomData for `train --random-data`
  NormMode normalize = NormMode::none;
  LrSchedule::State schedule;
  EarlyStop early;
};

// Everything a run needs before the first step: the effective configuration
// (train block, checkpoint, flags), the loaded and split data and its
// normalization. Loading is the slow part, so `tune` prepares once and trains
// many times from the same setup.
struct TrainSetup {
  TrainConfig config;
  double lr0 = 0;
  int64_t batch = 1;
  std::optional<SafetensorsFile> resume;
  RunRecord resumed; // the checkpoint's record, when resume is set
  DataLayout layout;
  TrainingData data;
  Normalizer norm;
};
TrainSetup prepare_training(const Plan& plan, const TrainOptions& o);

// Throws rt::Error with a message for the user.
TrainResult run_training(Executor& ex, const TrainOptions& o, std::ostream& out);
// The same from a prepared setup; initializes the executor (or restores the
// resumed checkpoint), so repeated calls start from the same weights.
TrainResult run_training(Executor& ex, const TrainOptions& o, const TrainSetup& setup,
                         std::ostream& out);

// `OUT train`: run_training, then the summary (and the report with --report).
int exe_train_data(Executor& ex, const TrainOptions& o, std::ostream& out);

// The data spec recorded by `train --random-data`: no data set at all.
inline constexpr const char* kRandomData = "random";

// A checkpoint's metadata, "netc.*" keys (and "format" for safetensors readers).
std::map<std::string, std::string> checkpoint_metadata(const Plan& plan, const RunRecord& run);
// The normalization statistics as the tensors __norm__.mean and __norm__.std.
void add_normalizer(SafetensorsFile& file, const Normalizer& norm);
// The run record of a checkpoint (runtime/train/run_record.cpp): every field
// present and in range, else Error naming `source` and the field.
RunRecord read_run_record(const SafetensorsFile& file, const std::string& source);
// Its "netc.seed" alone (eval needs no more).
uint64_t checkpoint_seed(const SafetensorsFile& file, const std::string& source);
// Metadata `key` of a checkpoint; throws Error naming `source` when absent.
const std::string& checkpoint_meta(const SafetensorsFile& file, const std::string& key,
                                   const std::string& source);

} // namespace netc::rt
