// `OUT bench`: per-kernel and per-step times of the training step and of
// inference, on random data. The machines are noisy, so every figure is a
// median over the timed iterations, after a few warm-up steps that also
// fill the block cache and start Halide's thread pool.
#include "runtime/exe_commands.h"
#include "runtime/mpi/data_parallel.h"
#include "runtime/random_inputs.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>

namespace netc::rt {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Timing {
  std::vector<double> kernels; // median seconds per kernel
  std::vector<int> calls;      // timed calls per kernel; 0: prepared once, timed in warm-up
  double step = 0;             // median seconds per step
  double rest = 0;             // median of step - sum(kernels): updates and call overhead
};

// Times the program's steps and kernels. Inference skips its prepare kernels
// (Program::prepare) while the weights do not change: they run in the first
// warm-up call, which is when they are timed.
Timing time_program(Executor& ex, const Program& p, const BenchOptions& o) {
  using Clock = std::chrono::steady_clock;
  size_t n = p.kernels.size();
  auto iters = static_cast<size_t>(o.iters);
  std::vector<double> seconds(n), warm(n, 0.0), steps(iters), rest(iters);
  std::vector<std::vector<double>> per_kernel(n);
  ex.weights_changed();
  for (int i = 0; i < std::max(1, o.warmup); ++i) {
    ex.run(p, seconds);
    for (size_t k = 0; k < n; ++k) warm[k] = std::max(warm[k], seconds[k]);
  }
  for (size_t i = 0; i < iters; ++i) {
    Clock::time_point start = Clock::now();
    ex.run(p, seconds);
    steps[i] = std::chrono::duration<double>(Clock::now() - start).count();
    double sum = 0;
    for (size_t k = 0; k < n; ++k) {
      if (seconds[k] < 0) continue; // skipped: prepared before
      per_kernel[k].push_back(seconds[k]);
      sum += seconds[k];
    }
    rest[i] = std::max(0.0, steps[i] - sum);
  }
  Timing t;
  for (size_t k = 0; k < n; ++k) {
    t.calls.push_back(static_cast<int>(per_kernel[k].size()));
    t.kernels.push_back(per_kernel[k].empty() ? warm[k] : median(per_kernel[k]));
  }
  t.step = median(steps);
  t.rest = median(rest);
  return t;
}

double per_second(double count, double seconds) { return seconds > 0 ? count / seconds : 0; }

std::string report(const char* title, const Plan& plan, const Program& p, const Timing& t,
                   int64_t batch, int iters, nlohmann::json& kernels_json) {
  std::string text =
      fmt::format("{} ({} kernels, {} updates)\n", title, p.kernels.size(), p.updates.size());
  text += fmt::format("  {:<24} {:<12} {:>6} {:>10} {:>9} {:>7}\n", "kernel", "kind", "calls",
                      "median", "GFLOP/s", "share");
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    const KernelCall& c = p.kernels[k];
    double gflops = per_second(kernel_flops(c, batch), t.kernels[k]) / 1e9;
    bool once = t.calls[k] == 0;
    double share = once ? 0 : per_second(100 * t.kernels[k], t.step);
    text += fmt::format("  {:<24} {:<12} {:>6} {:>10} {:>9.1f} {:>6.1f}%{}\n", c.name, c.kind,
                        once ? "once" : std::to_string(t.calls[k]), human_seconds(t.kernels[k]),
                        gflops, share, once ? "  (when the weights change)" : "");
    kernels_json.push_back({{"name", c.name},
                            {"kind", c.kind},
                            {"ops", c.ops},
                            {"flops", kernel_flops(c, batch)},
                            {"bytes", kernel_bytes(plan, c, batch)},
                            {"median_us", t.kernels[k] * 1e6},
                            {"calls", t.calls[k]},
                            {"gflops", gflops},
                            {"share", share / 100}});
  }
  text += fmt::format("  {:<24} {:<12} {:>6} {:>10} {:>9} {:>6.1f}%\n", "(updates, overhead)", "",
                      iters, human_seconds(t.rest), "-", per_second(100 * t.rest, t.step));
  text += fmt::format("  step: median {}, {} images/s, {:.1f} GFLOP/s\n", human_seconds(t.step),
                      group_digits(static_cast<int64_t>(per_second(double(batch), t.step))),
                      per_second(program_flops(p, batch), t.step) / 1e9);
  return text;
}

// Per-step means of one setting of the data-parallel step.
struct Split {
  double step = 0, compute = 0, reduce = 0, wait = 0;
};

Split time_data_parallel(DataParallel& dp, const BenchOptions& o, bool overlap) {
  dp.set_overlap(overlap);
  for (int i = 0; i < std::max(1, o.warmup); ++i) dp.step();
  dp.reset_times();
  for (int i = 0; i < o.iters; ++i) dp.step();
  const StepTimes& t = dp.times();
  auto n = static_cast<double>(t.steps);
  Split s{t.total / n, 0, t.reduce / n, t.wait / n};
  s.compute = std::max(0.0, s.step - s.reduce - s.wait);
  return s;
}

// `bench --mpi`: the training step as data-parallel training runs it, on
// every rank of the job, with and without overlap. Compute is the step
// minus the time spent in the sums: advancing them between kernels
// (reduction) and waiting for them before the updates (waiting).
int bench_data_parallel(Executor& ex, const BenchOptions& o, int threads, std::ostream& out) {
  const Plan& plan = ex.plan();
  int64_t batch = o.batch > 0 ? o.batch : default_batch(plan);
  ex.set_batch(batch);
  ex.initialize(1);
  ex.set_check_class_inputs(false); // reruns on stale inputs (executor.h)
  fill_random_inputs(ex, plan.train, 1, 0, guess_num_classes(plan));
  DataParallel dp(ex, *o.ranks);
  dp.take_shard(batch);
  auto [first, last] = dp.shard(batch);
  out << fmt::format("model {}: bench --mpi, {} ranks, global batch {} (rank 0: {} examples), {} "
                     "threads per rank, {} iterations after {} warm-up\n",
                     plan.model, dp.size(), batch, last - first, threads, o.iters, o.warmup);
  nlohmann::json j = {{"model", plan.model}, {"ranks", dp.size()},
                      {"batch", batch},      {"threads", threads},
                      {"iters", o.iters},    {"gradient_bytes", dp.gradient_bytes()}};
  for (bool overlap : {true, false}) {
    Split s = time_data_parallel(dp, o, overlap);
    // Every rank times its own step; the figures are the ranks' means.
    double all[4] = {s.step, s.compute, s.reduce, s.wait};
    dp.ranks().sum(all);
    for (double& v : all) v /= dp.size();
    double ips = per_second(static_cast<double>(batch), all[0]);
    out << fmt::format("  {:<11} step {}  compute {} ({:.1f}%)  reduction {} ({:.1f}%)  "
                       "waiting {} ({:.1f}%)  {} images/s\n",
                       overlap ? "overlapped" : "at the end", human_seconds(all[0]),
                       human_seconds(all[1]), per_second(100 * all[1], all[0]),
                       human_seconds(all[2]), per_second(100 * all[2], all[0]),
                       human_seconds(all[3]), per_second(100 * all[3], all[0]),
                       group_digits(static_cast<int64_t>(ips)));
    j[overlap ? "overlap" : "no_overlap"] = {{"step_ms", all[0] * 1e3},
                                             {"compute_ms", all[1] * 1e3},
                                             {"reduce_ms", all[2] * 1e3},
                                             {"wait_ms", all[3] * 1e3},
                                             {"images_per_second", ips}};
  }
  out << fmt::format("  gradients summed per step: {} (rank means of every figure)\n",
                     human_bytes(dp.gradient_bytes()));
  if (o.json) out << j.dump() << "\n";
  return 0;
}

} // namespace

int exe_bench(Executor& ex, const BenchOptions& o, int threads, std::ostream& out) {
  if (o.mpi) return bench_data_parallel(ex, o, threads, out);
  const Plan& plan = ex.plan();
  int64_t batch = o.batch > 0 ? o.batch : default_batch(plan);
  ex.set_batch(batch);
  ex.initialize(1);
  ex.set_check_class_inputs(false); // reruns on stale inputs (executor.h)
  int64_t classes = guess_num_classes(plan);
  out << fmt::format("model {}: bench, batch {}, {} threads, {} iterations after {} warm-up\n",
                     plan.model, batch, threads, o.iters, o.warmup);
  out.flush();

  // One program: its table, and its figures for the JSON line (null for a
  // program the model does not have: no loss, no training step).
  auto bench = [&](const char* title, const Program& p, nlohmann::json& ms, nlohmann::json& ips,
                   nlohmann::json& kernels) {
    if (p.kernels.empty()) {
      out << fmt::format("{}: none (the model has no {})\n", title,
                         &p == &plan.train ? "loss" : "outputs");
      return;
    }
    fill_random_inputs(ex, p, 1, 0, classes);
    Timing t = time_program(ex, p, o);
    out << report(title, plan, p, t, batch, o.iters, kernels);
    out.flush();
    ms = t.step * 1e3;
    ips = per_second(static_cast<double>(batch), t.step);
  };
  nlohmann::json j = {{"model", plan.model},
                      {"batch", batch},
                      {"threads", threads},
                      {"iters", o.iters},
                      {"step_ms", nullptr},
                      {"images_per_second", nullptr},
                      {"infer_ms", nullptr},
                      {"infer_images_per_second", nullptr},
                      {"train_kernels", nlohmann::json::array()},
                      {"infer_kernels", nlohmann::json::array()}};
  bench("training step", plan.train, j["step_ms"], j["images_per_second"], j["train_kernels"]);
  bench("inference", plan.infer, j["infer_ms"], j["infer_images_per_second"], j["infer_kernels"]);
  if (o.json) out << j.dump() << "\n";
  return 0;
}

} // namespace netc::rt
