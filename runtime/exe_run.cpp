// `OUT forward` and `OUT train` on random data: the compiled counterparts of
// `netc run MODEL forward|train --random-init`, with the same initial
// weights, the same batches and the same printout, so that the two can be
// compared line by line. `train --save` and `--resume` write and continue
// checkpoints as training on real data does (runtime/train/).
#include "runtime/checkpoint.h"
#include "runtime/exe_commands.h"
#include "runtime/mpi/data_parallel.h"
#include "runtime/random_inputs.h"
#include "runtime/train/train.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>
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

namespace {

// A checkpoint of a random-data run, written by the writer of real training
// (atomic, the same tensors and metadata): the weights can be evaluated on real
// data with `eval --weights C --data SPEC`, and `--random-data --resume C`
// continues the run. Its data is kRandomData and its normalization the
// identity: the random inputs are already standard normal.
void save_random_run(Executor& ex, const std::string& path, uint64_t seed, int64_t batch,
                     double lr0, int64_t steps) {
  const Plan& plan = ex.plan();
  SafetensorsFile f;
  add_persistent(f, ex);
  Normalizer identity;
  add_normalizer(f, identity);
  f.metadata =
      checkpoint_metadata(plan, {.step = steps,
                                 .seed = seed,
                                 .batch = batch,
                                 .lr0 = lr0,
                                 .data = kRandomData,
                                 .normalize = identity.mode(),
                                 .schedule = LrSchedule(plan.config.lr_decay, lr0).state()});
  write_safetensors(path, f);
}

} // namespace

int exe_train(Executor& ex, const RunOptions& o, std::ostream& out) {
  const Plan& plan = ex.plan();
  if (plan.train.loss < 0) throw Error(fmt::format("model '{}' has no loss", plan.model));
  int64_t batch = o.batch > 0 ? o.batch : default_batch(plan);
  uint64_t seed = o.seed;
  double lr0 = o.lr.value_or(plan.config.optimizer.lr);
  int64_t first_step = 0;
  std::optional<SafetensorsFile> resume;
  if (!o.resume.empty()) {
    // Checked before anything changes; the run's settings come from the
    // checkpoint unless flags say otherwise, as for real data.
    resume = read_safetensors(o.resume);
    check_fingerprint(*resume, plan, o.resume);
    if (checkpoint_meta(*resume, "netc.data", o.resume) != kRandomData)
      throw Error(fmt::format("checkpoint {} holds a run on {}, not on random data; resume "
                              "it without --random-data",
                              o.resume, checkpoint_meta(*resume, "netc.data", o.resume)));
    RunRecord run = read_run_record(*resume, o.resume); // every field range-checked
    first_step = run.step;
    if (!o.seed_given) seed = run.seed;
    if (o.batch <= 0) batch = std::min<int64_t>(run.batch, plan.max_batch);
    if (!o.lr) lr0 = run.lr0;
  }
  ex.set_batch(batch);
  ex.initialize(seed);
  if (resume) restore_persistent(*resume, ex, o.resume);
  if (o.lr) ex.set_hyper("lr", *o.lr);
  // Data-parallel: every rank draws the whole global batch (the same draw)
  // and computes its shard of it (runtime/mpi/data_parallel.h).
  std::optional<DataParallel> ranks;
  if (o.ranks) {
    ranks.emplace(ex, *o.ranks);
    ranks->set_overlap(overlap_from_env());
    ranks->seed_dropout(seed);
  }
  int64_t classes = guess_num_classes(plan);
  out << fmt::format(
      "model {}: training on random data, batch {}, seed {}{}{}\n", plan.model, batch, seed,
      ranks && ranks->size() > 1 ? fmt::format(", {} ranks (data-parallel)", ranks->size()) : "",
      resume ? fmt::format(", resumed after step {}", first_step) : "");
  // Noise has no image to shift or flip, and augmenting it would change the
  // steps that the random-data cross-checks compare.
  if (!plan.config.augment.empty())
    out << fmt::format("augment {}: not applied to random data\n",
                       augment_text(plan.config.augment));
  // Step k draws batch k whether or not the run was resumed in between, so
  // k steps + save + resume + the rest give the weights of a straight run.
  for (int64_t k = first_step; k < o.steps; ++k) {
    double loss = 0;
    if (ranks) {
      ex.set_batch(batch); // take_shard left it at the shard's size
      fill_random_inputs(ex, plan.train, seed, static_cast<uint32_t>(k), classes);
      ranks->take_shard(batch);
      loss = ranks->step();
    } else {
      fill_random_inputs(ex, plan.train, seed, static_cast<uint32_t>(k), classes);
      ex.run(plan.train);
      loss = read_scalar(ex, plan.train.loss);
    }
    out << fmt::format("step {:>5}  loss {:.9g}\n", k + 1, loss);
    out.flush(); // a long run shows its progress
    if (!std::isfinite(loss)) throw Error(fmt::format("the loss is {} at step {}", loss, k + 1));
  }
  if (ranks) ranks->sync_state(); // before rank 0 saves: one model
  if (!o.save.empty() && (!ranks || ranks->leader())) {
    save_random_run(ex, o.save, seed, batch, lr0, std::max(first_step, o.steps));
    out << fmt::format("saved {}\n", o.save);
  }
  return 0;
}

} // namespace netc::rt
