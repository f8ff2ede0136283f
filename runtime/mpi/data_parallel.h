// Data-parallel training (docs/mpi.md): every rank holds the same weights,
// computes the gradients of its shard of each global batch, and the ranks
// sum the gradients before the optimizer's update, which every rank applies,
// so the weights stay identical without broadcasts.
//
// The step's plan must keep its gradients as outputs d/PARAM (`netc compile
// --mpi`, passes/pipeline.h): each is then a buffer of its own, written by
// one kernel before the first kernel that reads any of them (the optimizer's
// updates). Gradient g_r of rank r is that of the mean loss over its m_r
// examples of a global batch of b; the ranks sum w_r g_r with w_r = m_r / b,
// which is the gradient of the mean loss over the global batch. l1()/l2()
// terms (lambda/m W) would be counted once per rank: they act on the lowest
// rank with examples only (its w_r lambda / m_r = lambda / b), and the loss
// reported is the same weighted sum, so both equal one process's.
//
// Overlap: a gradient's sum starts right after the kernel that writes it
// (PyTorch DDP's buckets; here one bucket per gradient tensor) and advances
// after every later kernel; the step waits for the rest before the updates.
#pragma once

#include "runtime/data/batch.h"
#include "runtime/executor.h"
#include "runtime/mpi/collective.h"
#include "runtime/train/model_io.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace netc::rt {

// Where a data-parallel step spent its time (seconds, summed over steps).
struct StepTimes {
  double total = 0;  // whole steps
  double reduce = 0; // advancing the sums between kernels (overlapped)
  double wait = 0;   // waiting for the sums before the updates
  int64_t steps = 0;
  int64_t bytes = 0; // gradient bytes summed per step
};

class DataParallel final : public KernelObserver {
public:
  // Throws Error when the plan's training step has no gradient outputs or
  // no kernel boundary between the gradients and the updates.
  DataParallel(Executor& ex, Collective& ranks);
  ~DataParallel() override;
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return ranks_.rank(); }
  int size() const { return ranks_.size(); }
  bool leader() const { return ranks_.rank() == 0; }
  Collective& ranks() { return ranks_; }

  // Rows [first, last) of a global batch of b that this rank computes:
  // contiguous parts, sizes differing by at most one.
  std::pair<int64_t, int64_t> shard(int64_t b) const;

  // The training program's inputs hold a global batch of b (the executor's
  // batch): moves this rank's rows to the front and sets the executor's batch
  // to their count (1 for a rank without rows, which then counts 0).
  void take_shard(int64_t b);

  // One training step on the shard taken: kernels, the gradients summed,
  // the updates. Returns the loss of the global batch (every rank the same).
  double step();

  // Averages the persistent tensors that differ between ranks (batch norm's
  // running statistics, computed from each rank's shard), so that
  // evaluation and checkpoints see one model. Others are left bit for bit.
  void sync_state();

  // Sets the dropout seed after Executor::initialize(seed): rank 0 keeps
  // `seed` (one process's masks), other ranks draw their own masks. The
  // masks count examples within a rank's shard, so with dropout N ranks do
  // not reproduce one process's masks, only their distribution.
  void seed_dropout(uint64_t seed);

  // Evaluation of `whole`'s examples, sharded: each rank evaluates its
  // contiguous part and the ranks sum the counts, losses and hits. No
  // per-example predictions (a report evaluates on one rank).
  EvalResult evaluate(const BatchLoader& whole, const DataLayout& layout);

  // Off: every sum starts after the last backward kernel (for measuring).
  void set_overlap(bool on) { overlap_ = on; }
  const StepTimes& times() const { return times_; }
  void reset_times() { times_ = {}; }
  int64_t gradient_bytes() const;

  void after_kernel(const Program& program, size_t kernel) override;

private:
  struct Grad {
    int slot = -1;
    size_t writer = 0; // the kernel that writes it
  };
  Executor& ex_;
  Collective& ranks_;
  std::vector<Grad> grads_;            // in the order of their writers
  std::vector<std::vector<int>> done_; // per kernel: indices into grads_ written by it
  size_t boundary_ = 0;                // the first kernel that reads a gradient
  std::vector<int> lambdas_;           // l1/l2 lambda slots
  std::vector<float> lambda_values_;
  double weight_ = 1;      // m_r / b of the shard taken
  bool regularize_ = true; // this rank carries the l1/l2 terms this step
  bool overlap_ = true;
  StepTimes times_;
};

// Reads the NETC_MPI_OVERLAP environment variable: "0" turns overlap off.
bool overlap_from_env();

} // namespace netc::rt
