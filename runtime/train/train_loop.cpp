#include "runtime/checkpoint.h"
#include "runtime/mpi/data_parallel.h"
#include "runtime/report.h"
#include "runtime/schedule.h"
#include "runtime/train/progress.h"
#include "runtime/train/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

namespace netc::rt {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Doubles go into the metadata in the shortest form that reads back exactly.
std::string exact(double v) { return fmt::format("{}", v); }

const std::string& meta(const SafetensorsFile& f, const std::string& key, const std::string& src) {
  return checkpoint_meta(f, key, src);
}

// A copy of the whole persistent region, allocated once before training.
class Snapshot {
public:
  explicit Snapshot(Executor& ex) {
    size_t n = 0;
    for (int s : ex.persistent_slots()) n += ex.bytes(s).size();
    bytes_.resize(n);
  }
  void take(Executor& ex) {
    auto at = bytes_.begin();
    for (int s : ex.persistent_slots())
      at = std::copy_n(ex.bytes(s).begin(), ex.bytes(s).size(), at);
  }
  void restore(Executor& ex) const {
    auto at = bytes_.begin();
    for (int s : ex.persistent_slots()) {
      std::span<std::byte> b = ex.bytes(s);
      std::copy_n(at, b.size(), b.begin());
      at += static_cast<std::ptrdiff_t>(b.size());
    }
  }

private:
  std::vector<std::byte> bytes_;
};

// The first trainable parameter with a NaN or Inf, or "".
std::string first_non_finite_param(Executor& ex) {
  for (const Init& init : ex.plan().inits) {
    if (!init.trainable || ex.slot_info(init.slot).type != ElemType::f32) continue;
    for (float v : ex.f32(init.slot))
      if (!std::isfinite(v)) return ex.slot_info(init.slot).name;
  }
  return "";
}

std::string percent(std::optional<double> a) {
  return a ? fmt::format("{:.2f}%", 100 * *a) : std::string("-");
}

} // namespace

const std::string& checkpoint_meta(const SafetensorsFile& file, const std::string& key,
                                   const std::string& source) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end())
    throw Error(fmt::format("checkpoint {} lacks the metadata {}", source, key));
  return it->second;
}

std::map<std::string, std::string> checkpoint_metadata(const Plan& plan, const RunRecord& run) {
  const LrSchedule::State& s = run.schedule;
  const EarlyStop& early = run.early;
  return {{"format", "pt"}, // what safetensors readers expect
          {"netc.model", plan.model},
          {"netc.fingerprint", plan.fingerprint},
          {"netc.epoch", std::to_string(run.epoch)},
          {"netc.step", std::to_string(run.step)},
          {"netc.seed", std::to_string(run.seed)},
          {"netc.batch", std::to_string(run.batch)},
          {"netc.lr0", exact(run.lr0)},
          {"netc.data", run.data},
          {"netc.data_dir", run.data_dir},
          {"netc.normalize", norm_mode_name(run.normalize)},
          {"netc.plateau.lr", exact(s.lr)},
          {"netc.plateau.best", exact(s.best)},
          {"netc.plateau.have_best", s.have_best ? "1" : "0"},
          {"netc.plateau.bad_epochs", std::to_string(s.bad_epochs)},
          {"netc.early.best", exact(early.best)},
          {"netc.early.have_best", early.have_best ? "1" : "0"},
          {"netc.early.bad_epochs", std::to_string(early.bad_epochs)},
          {"netc.early.best_epoch", std::to_string(early.best_epoch)}};
}

void add_normalizer(SafetensorsFile& file, const Normalizer& norm) {
  auto floats = [](const std::vector<float>& v) {
    auto b = std::as_bytes(std::span<const float>(v));
    return std::vector<std::byte>(b.begin(), b.end());
  };
  file.tensors.push_back(
      {"__norm__.mean", "F32", {static_cast<int64_t>(norm.mean().size())}, floats(norm.mean())});
  file.tensors.push_back(
      {"__norm__.std", "F32", {static_cast<int64_t>(norm.stddev().size())}, floats(norm.stddev())});
}

TrainSetup prepare_training(const Plan& plan, const TrainOptions& o) {
  if (plan.train.loss < 0) throw Error(fmt::format("model '{}' has no loss", plan.model));
  TrainSetup s;
  TrainConfig& config = s.config;
  config = plan.config;
  double& lr0 = s.lr0;
  lr0 = o.lr ? *o.lr : config.optimizer.lr;
  std::optional<SafetensorsFile>& resume = s.resume;

  // A resumed run takes its settings from the checkpoint unless flags say otherwise;
  // the checkpoint is checked before the (slow) data load.
  if (!o.resume.empty()) {
    resume = read_safetensors(o.resume);
    check_fingerprint(*resume, plan, o.resume);
    config.data = meta(*resume, "netc.data", o.resume);
    // Its weights saw no data and no normalization; only random steps continue it.
    if (config.data == kRandomData)
      throw Error(fmt::format("checkpoint {} holds a run on random data (train "
                              "--random-data); continue it with train --random-data "
                              "--resume {}",
                              o.resume, o.resume));
    // Every field is checked here, before the data load, not where it is used.
    s.resumed = read_run_record(*resume, o.resume);
    config.data_dir = s.resumed.data_dir;
    config.seed = s.resumed.seed;
    config.batch = s.resumed.batch;
    if (!o.lr) lr0 = s.resumed.lr0;
  }
  if (o.data) config.data = *o.data;
  if (o.data_dir) config.data_dir = *o.data_dir;
  if (o.epochs) config.epochs = *o.epochs;
  if (o.batch) config.batch = *o.batch;
  if (o.seed) config.seed = *o.seed;
  s.batch = std::clamp<int64_t>(config.batch, 1, plan.max_batch);
  s.layout = model_data_layout(plan);
  s.data = prepare_training_data(config, s.layout);
  s.norm = s.data.normalizer;
  if (resume) s.norm = stored_normalizer(*resume, s.layout.example_shape, o.resume);
  return s;
}

TrainResult run_training(Executor& ex, const TrainOptions& o, std::ostream& out) {
  return run_training(ex, o, prepare_training(ex.plan(), o), out);
}

TrainResult run_training(Executor& ex, const TrainOptions& o, const TrainSetup& setup,
                         std::ostream& out) {
  const Plan& plan = ex.plan();
  const TrainConfig& config = setup.config;
  // A trial of `tune` sets its own rate on a shared setup.
  const double lr0 = o.lr ? *o.lr : setup.lr0;
  const int64_t batch = setup.batch;
  const std::optional<SafetensorsFile>& resume = setup.resume;
  const DataLayout& layout = setup.layout;
  const TrainingData& td = setup.data;
  const Normalizer& norm = setup.norm;
  BatchLoader train(td.splits.train, norm, batch, config.seed, true);
  // Only this loader augments: val, test and the train-accuracy sample are seen as they are.
  if (!config.augment.empty())
    train.augment_with(Augmenter(config.augment, layout.example_shape, config.seed));
  BatchLoader val(td.splits.val, norm, plan.max_batch, config.seed, false);
  // Train accuracy: the training program's outputs may share arena memory with
  // the backward pass (the planner does not keep them live), so the inference
  // program scores a fixed sample of the training split after each epoch, as
  // large as the val split (at least 1000, at most 10000 examples).
  Subset train_sample = td.splits.train;
  train_sample.rows.resize(static_cast<size_t>(std::min<int64_t>(
      train_sample.size(), std::clamp<int64_t>(td.splits.val.size(), 1000, 10000))));
  BatchLoader train_eval(train_sample, norm, plan.max_batch, config.seed, false);

  ex.initialize(config.seed);
  // Data-parallel (runtime/mpi/data_parallel.h): every rank loads the data,
  // takes its shard of every global batch and of every evaluation; rank 0
  // alone writes the log and the checkpoints.
  std::optional<DataParallel> ranks;
  if (o.ranks) {
    ranks.emplace(ex, *o.ranks);
    ranks->set_overlap(overlap_from_env());
    ranks->seed_dropout(config.seed);
  }
  const bool leader = !ranks || ranks->leader();
  auto eval = [&](const BatchLoader& loader) {
    return ranks ? ranks->evaluate(loader, layout) : evaluate(ex, loader, layout);
  };
  bool has_lr = std::any_of(plan.hypers.begin(), plan.hypers.end(),
                            [](const Hyper& h) { return h.name == "lr"; });
  for (const auto& [name, value] : o.hypers) ex.set_hyper(name, value);
  LrSchedule schedule(config.lr_decay, lr0, train.num_batches(), config.epochs);
  EarlyStop early;
  Snapshot best(ex);
  int64_t first_epoch = 1, step = 0;
  if (resume) {
    const std::string& src = o.resume;
    restore_persistent(*resume, ex, src);
    const RunRecord& run = setup.resumed; // range-checked by prepare_training
    first_epoch = run.epoch + 1;
    step = run.step;
    schedule.restore(run.schedule);
    early = run.early;
    if (early.have_best && config.early_stop.enabled) {
      restore_persistent(*resume, ex, src, "__best__.");
      best.take(ex);
      restore_persistent(*resume, ex, src);
    }
  }

  auto save = [&](int64_t epoch) {
    if (o.save.empty() || !leader) return;
    SafetensorsFile f;
    add_persistent(f, ex);
    if (config.early_stop.enabled && early.have_best) {
      // The best weights go in as their own tensors, read from the snapshot.
      Snapshot now(ex);
      now.take(ex);
      best.restore(ex);
      add_persistent(f, ex, "__best__.");
      now.restore(ex);
    }
    add_normalizer(f, norm);
    f.metadata = checkpoint_metadata(plan, {.epoch = epoch,
                                            .step = step,
                                            .seed = config.seed,
                                            .batch = batch,
                                            .lr0 = lr0,
                                            .data = config.data,
                                            .data_dir = config.data_dir,
                                            .normalize = norm.mode(),
                                            .schedule = schedule.state(),
                                            .early = early});
    write_safetensors(o.save, f);
  };

  std::ofstream log;
  if (!o.log.empty() && leader) {
    log.open(o.log, resume ? std::ios::app : std::ios::trunc);
    if (!log) throw Error(fmt::format("cannot write the log {}", o.log));
  }

  TrainResult result;
  result.data = config.data;
  result.augment = config.augment;
  result.epochs_run = first_epoch - 1;
  ModelIo io(ex, plan.train, layout);
  result.num_classes = layout.labels.empty() ? 0 : layout.labels[0].classes;
  Progress progress(out, o.progress && !o.quiet);
  if (!o.quiet)
    out << fmt::format("model {}: training on {} ({} train / {} val / {} test), batch {}, {} "
                       "epochs, seed {}{}{}\n",
                       plan.model, config.data, train.size(), val.size(), td.splits.test.size(),
                       batch, config.epochs, config.seed,
                       ranks && ranks->size() > 1
                           ? fmt::format(", {} ranks (data-parallel)", ranks->size())
                           : "",
                       resume ? fmt::format(", resumed after epoch {}", first_epoch - 1) : "")
        << split_summary(config.split, td.loaded) << "\n"
        << (config.augment.empty() ? ""
                                   : fmt::format("augment {} (training batches only)\n",
                                                 augment_text(config.augment)));
  auto start = Clock::now();
  for (int64_t epoch = first_epoch; epoch <= config.epochs; ++epoch) {
    auto epoch_start = Clock::now();
    train.start_epoch(epoch);
    progress.start_epoch(epoch, config.epochs, train.num_batches());
    double loss_sum = 0, lr = lr0;
    int64_t seen = 0;
    for (int64_t k = 0; k < train.num_batches(); ++k) {
      int64_t b = io.fill(ex, train, k);
      lr = schedule.rate(epoch, step + 1);
      if (has_lr) ex.set_hyper("lr", lr);
      double loss = 0;
      if (ranks) {
        ranks->take_shard(b);
        loss = ranks->step(); // of the global batch
      } else {
        ex.run(plan.train);
        loss = scalar_value(ex, plan.train.loss);
      }
      ++step;
      if (!std::isfinite(loss)) {
        progress.abort();
        std::string param = first_non_finite_param(ex);
        throw Error(fmt::format(
            "training stopped: the loss is {} at step {} (epoch {}, batch {} of {}); {}; the "
            "last saved checkpoint is unchanged",
            loss, step, epoch, k + 1, train.num_batches(),
            param.empty() ? std::string("every parameter is still finite")
                          : fmt::format("parameter {} is no longer finite", param)));
      }
      loss_sum += loss * static_cast<double>(b);
      seen += b;
      progress.update(k + 1, loss_sum / static_cast<double>(seen), seen,
                      seconds_since(epoch_start));
    }
    double train_seconds = seconds_since(epoch_start);
    // A finite loss can hide an overflowed parameter that only the next step's
    // loss would show: check before anything is evaluated or saved.
    if (std::string param = first_non_finite_param(ex); !param.empty()) {
      progress.abort();
      throw Error(fmt::format("training stopped: parameter {} is not finite after step {} "
                              "(the end of epoch {}); the last saved checkpoint is unchanged",
                              param, step, epoch));
    }
    if (ranks) ranks->sync_state(); // batch norm's running statistics: one model
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / static_cast<double>(seen);
    rec.train_accuracy = eval(train_eval).accuracy;
    if (val.size() > 0) {
      EvalResult v = eval(val);
      rec.val_loss = v.loss;
      rec.val_accuracy = v.accuracy;
    }
    rec.lr = lr;
    rec.seconds = seconds_since(epoch_start);
    rec.images_per_second = static_cast<double>(seen) / train_seconds;
    result.history.push_back(rec);
    result.epochs_run = epoch;
    progress.end_epoch();
    if (!o.quiet)
      out << fmt::format("epoch {:>3}/{}  train loss {:.4f} acc {}  val loss {} acc {}  lr {:.3g}  "
                         "{:.1f} s  {:.0f} images/s\n",
                         epoch, config.epochs, rec.train_loss, percent(rec.train_accuracy),
                         rec.val_loss ? fmt::format("{:.4f}", *rec.val_loss) : "-",
                         percent(rec.val_accuracy), rec.lr, rec.seconds, rec.images_per_second)
          << std::flush;
    if (log) {
      nlohmann::ordered_json j = {
          {"epoch", epoch},
          {"train_loss", rec.train_loss},
          {"train_accuracy", rec.train_accuracy ? *rec.train_accuracy : NAN},
          {"val_loss", rec.val_loss ? *rec.val_loss : NAN},
          {"val_accuracy", rec.val_accuracy ? *rec.val_accuracy : NAN},
          {"lr", rec.lr},
          {"seconds", rec.seconds},
          {"images_per_second", rec.images_per_second}};
      log << j.dump() << "\n" << std::flush;
    }

    double watched = rec.val_loss ? *rec.val_loss : rec.train_loss;
    schedule.end_epoch(watched);
    bool stop = false;
    if (config.early_stop.enabled) {
      double metric = watched;
      if (config.early_stop.on == "val_error" && rec.val_accuracy) metric = 1 - *rec.val_accuracy;
      if (!early.have_best || metric < early.best) {
        early = {metric, true, 0, epoch};
        best.take(ex);
      } else if (++early.bad_epochs >= config.early_stop.patience) {
        stop = true;
      }
    }
    save(epoch);
    if (stop) {
      result.stopped_early = true;
      if (!o.quiet)
        out << fmt::format("early stopping: no improvement of {} for {} epochs; restoring the "
                           "weights of epoch {}\n",
                           config.early_stop.on, early.bad_epochs, early.best_epoch);
      break;
    }
  }
  if (config.early_stop.enabled && early.have_best) {
    best.restore(ex);
    result.best_epoch = early.best_epoch;
  }
  result.seconds = seconds_since(start);
  if (!result.history.empty()) {
    result.train_loss = result.history.back().train_loss;
    result.train_accuracy = result.history.back().train_accuracy;
  }
  // The report's confusion matrix needs each example's prediction: then
  // every rank evaluates everything rather than its shard.
  bool keep = !o.report.empty();
  auto final_eval = [&](const BatchLoader& loader) {
    return keep || !ranks ? evaluate(ex, loader, layout, keep) : ranks->evaluate(loader, layout);
  };
  if (val.size() > 0) result.val = final_eval(val);
  if (o.evaluate_test && td.splits.test.size() > 0) {
    BatchLoader test(td.splits.test, norm, plan.max_batch, config.seed, false);
    result.test = final_eval(test);
  }
  if (log && result.test) {
    nlohmann::ordered_json j = {
        {"final", true},
        {"test_loss", result.test->loss},
        {"test_accuracy", result.test->accuracy ? *result.test->accuracy : NAN},
        {"epochs", result.epochs_run},
        {"seconds", result.seconds}};
    log << j.dump() << "\n" << std::flush;
  }
  save(result.epochs_run);
  return result;
}

int exe_train_data(Executor& ex, const TrainOptions& o, std::ostream& out) {
  TrainResult r = run_training(ex, o, out);
  if (r.test)
    out << fmt::format("test loss {:.4f}  accuracy {}  ({} examples, {} epochs, {:.1f} s)\n",
                       r.test->loss, percent(r.test->accuracy), r.test->count, r.epochs_run,
                       r.seconds);
  if (!o.save.empty()) out << fmt::format("saved {}\n", o.save);
  if (!o.report.empty() && (!o.ranks || o.ranks->rank() == 0))
    out << fmt::format(
        "report: {}\n",
        write_report(o.report, training_report(ex.plan().model, r.data, r, o.bayes_error)));
  return 0;
}

} // namespace netc::rt
