#include "runtime/mpi/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <string_view>

namespace netc::rt {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool reads(const KernelCall& k, int slot) {
  return std::find(k.args.begin(), k.args.begin() + k.num_inputs, slot) !=
         k.args.begin() + k.num_inputs;
}

bool writes(const KernelCall& k, int slot) {
  return std::find(k.args.begin() + k.num_inputs, k.args.end(), slot) != k.args.end();
}

} // namespace

bool overlap_from_env() {
  const char* v = std::getenv("NETC_MPI_OVERLAP");
  return !(v && std::string_view(v) == "0");
}

DataParallel::DataParallel(Executor& ex, Collective& ranks) : ex_(ex), ranks_(ranks) {
  const Program& train = ex.plan().train;
  if (train.loss < 0) throw Error(fmt::format("model '{}' has no loss", ex.plan().model));
  size_t n = train.kernels.size();
  boundary_ = n;
  std::vector<int> slots;
  for (const NamedSlot& o : train.outputs)
    if (o.name.starts_with("d/")) slots.push_back(o.slot);
  if (slots.empty())
    throw Error(fmt::format("model '{}' was compiled without --mpi: its training step does not "
                            "keep the gradients that the ranks must sum (netc compile --mpi)",
                            ex.plan().model));
  for (size_t k = 0; k < n; ++k)
    for (int s : slots)
      if (reads(train.kernels[k], s)) boundary_ = std::min(boundary_, k);
  done_.resize(n);
  for (int s : slots) {
    // The last writer before the boundary; none after it may write it.
    std::optional<size_t> writer;
    for (size_t k = 0; k < n; ++k)
      if (writes(train.kernels[k], s)) {
        if (k >= boundary_)
          throw Error(fmt::format("model '{}': kernel {} writes the gradient {} after the "
                                  "updates began (kernel {}); the step cannot be split for "
                                  "data-parallel training",
                                  ex.plan().model, train.kernels[k].name, ex.slot_info(s).name,
                                  train.kernels[boundary_].name));
        writer = k;
      }
    if (!writer)
      throw Error(fmt::format("model '{}': no kernel writes the gradient {}", ex.plan().model,
                              ex.slot_info(s).name));
    if (ex.slot_info(s).type != ElemType::f32)
      throw Error(fmt::format("gradient {} is not f32", ex.slot_info(s).name));
    grads_.push_back({s, *writer});
  }
  std::stable_sort(grads_.begin(), grads_.end(),
                   [](const Grad& a, const Grad& b) { return a.writer < b.writer; });
  for (size_t i = 0; i < grads_.size(); ++i) done_[grads_[i].writer].push_back(static_cast<int>(i));
  for (const Hyper& h : ex.plan().hypers)
    if (h.name == "l1.lambda" || h.name == "l2.lambda") lambdas_.push_back(h.slot);
  ex_.set_observer(this);
}

DataParallel::~DataParallel() { ex_.set_observer(nullptr); }

int64_t DataParallel::gradient_bytes() const {
  int64_t bytes = 0;
  for (const Grad& g : grads_) bytes += ex_.slot_info(g.slot).bytes(1);
  return bytes;
}

std::pair<int64_t, int64_t> DataParallel::shard(int64_t b) const {
  auto r = static_cast<int64_t>(rank()), n = static_cast<int64_t>(size());
  return {r * b / n, (r + 1) * b / n};
}

void DataParallel::take_shard(int64_t b) {
  auto [first, last] = shard(b);
  const Program& train = ex_.plan().train;
  for (const NamedSlot& in : train.inputs) {
    const TensorSlot& s = ex_.slot_info(in.slot);
    if (s.shape.empty() || s.shape[0] != kBatchDim)
      throw Error(fmt::format("input '{}' does not lead with the batch dimension: it cannot be "
                              "split between ranks",
                              in.name));
    std::span<std::byte> bytes = ex_.bytes(in.slot);
    size_t row = bytes.size() / static_cast<size_t>(b);
    if (first > 0 && last > first)
      std::memmove(bytes.data(), bytes.data() + static_cast<size_t>(first) * row,
                   static_cast<size_t>(last - first) * row);
  }
  weight_ = static_cast<double>(last - first) / static_cast<double>(b);
  // The lowest rank with examples carries l1()/l2(): rank r has none when
  // floor(r b / n) == floor((r + 1) b / n).
  int carrier = 0;
  while (carrier + 1 < size() && (static_cast<int64_t>(carrier) + 1) * b / size() == 0) ++carrier;
  regularize_ = rank() == carrier;
  ex_.set_batch(std::max<int64_t>(1, last - first));
}

void DataParallel::after_kernel(const Program& program, size_t kernel) {
  if (&program != &ex_.plan().train) return;
  auto t = Clock::now();
  for (int i : done_[kernel]) {
    std::span<float> g = ex_.f32(grads_[static_cast<size_t>(i)].slot);
    if (weight_ != 1) {
      auto w = static_cast<float>(weight_);
      for (float& v : g) v *= w;
    }
    if (overlap_) ranks_.start(g);
  }
  if (overlap_) ranks_.progress();
  times_.reduce += since(t);
  if (kernel + 1 != boundary_) return;
  t = Clock::now();
  if (!overlap_)
    for (const Grad& g : grads_) ranks_.start(ex_.f32(g.slot));
  ranks_.finish();
  times_.wait += since(t);
}

double DataParallel::step() {
  auto t = Clock::now();
  const Plan& plan = ex_.plan();
  if (!regularize_) {
    lambda_values_.clear();
    for (int s : lambdas_) {
      lambda_values_.push_back(ex_.f32(s)[0]);
      ex_.f32(s)[0] = 0;
    }
  }
  ex_.run(plan.train);
  if (!regularize_)
    for (size_t i = 0; i < lambdas_.size(); ++i) ex_.f32(lambdas_[i])[0] = lambda_values_[i];
  double loss[1] = {weight_ * scalar_value(ex_, plan.train.loss)};
  ranks_.sum(loss);
  times_.total += since(t);
  times_.steps += 1;
  times_.bytes = gradient_bytes();
  return loss[0];
}

void DataParallel::seed_dropout(uint64_t seed) {
  ex_.set_seed(seed ^ (static_cast<uint64_t>(rank()) * 0x9E3779B97F4A7C15ULL));
}

EvalResult DataParallel::evaluate(const BatchLoader& whole, const DataLayout& layout) {
  auto [first, last] = shard(whole.size());
  Subset part = whole.subset();
  part.rows.assign(whole.subset().rows.begin() + first, whole.subset().rows.begin() + last);
  EvalResult mine;
  if (!part.rows.empty()) {
    BatchLoader loader(std::move(part), whole.normalizer(), whole.batch_size(), 0, false);
    mine = rt::evaluate(ex_, loader, layout);
  }
  auto count = static_cast<double>(mine.count);
  double sums[4] = {count, mine.loss * count, mine.accuracy.value_or(0) * count,
                    mine.accuracy ? 1.0 : 0.0};
  ranks_.sum(sums);
  EvalResult all;
  all.count = static_cast<int64_t>(sums[0]);
  if (all.count > 0) {
    all.loss = sums[1] / sums[0];
    if (sums[3] > 0) all.accuracy = sums[2] / sums[0];
  }
  return all;
}

void DataParallel::sync_state() {
  if (size() == 1) return;
  for (const Init& init : ex_.plan().inits) {
    if (init.trainable || ex_.slot_info(init.slot).type != ElemType::f32) continue;
    if (ranks_.same_everywhere(ex_.bytes(init.slot))) continue;
    std::span<float> v = ex_.f32(init.slot);
    ranks_.sum(v);
    for (float& x : v) x /= static_cast<float>(size());
  }
}

} // namespace netc::rt
