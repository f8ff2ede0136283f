// The subcommands of a compiled model's executable (runtime/exe_cli.h), one
// file each, and the number formatting they share.
#pragma once

#include "runtime/executor.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace netc::rt {

class Collective;

struct BenchOptions {
  int64_t batch = 0; // 0: the model's training batch
  int iters = 30;
  int warmup = 3;
  bool json = false;
  int threads = 0;  // 0: NETC_THREADS, HL_NUM_THREADS or one per core
  bool mpi = false; // the data-parallel step: compute, reduction and waiting
  Collective* ranks = nullptr;
};

struct RunOptions {
  int64_t batch = 0; // 0: the command's default
  uint64_t seed = 1;
  bool seed_given = false; // --seed: a resumed run keeps the checkpoint's seed unless given
  int64_t steps = 10;      // train: the steps of the whole run, resumed ones included
  std::optional<double> lr;
  std::string save, resume;    // train: checkpoints, as `train --save/--resume` on real data
  Collective* ranks = nullptr; // data-parallel (runtime/mpi/data_parallel.h), or alone
};

// The model's training batch (its train block), within the compiled maximum.
int64_t default_batch(const Plan& plan);
// FLOPs of one call of a kernel at a batch.
double kernel_flops(const KernelCall& k, int64_t batch);
// Bytes one call of a kernel must move at a batch: each buffer argument
// (inputs and outputs, each slot once) read or written once. The memory side
// of a roofline; caches can only make the real traffic larger.
double kernel_bytes(const Plan& plan, const KernelCall& k, int64_t batch);
// FLOPs of one call of a program at a batch, without its prepare kernels
// (which run only when the weights change).
double program_flops(const Program& p, int64_t batch);

int exe_info(Executor& ex, std::ostream& out);
int exe_bench(Executor& ex, const BenchOptions& o, int threads, std::ostream& out);
int exe_forward(Executor& ex, const RunOptions& o, std::ostream& out);
int exe_train(Executor& ex, const RunOptions& o, std::ostream& out);

// 1234567 -> "1,234,567"
std::string group_digits(int64_t n);
// (1.234e9, "FLOP") -> "1.23 GFLOP": three significant digits, an SI prefix.
std::string si(double value, std::string_view unit = "");
// 3145728 -> "3.0 MiB"
std::string human_bytes(int64_t bytes);
// 0.00123 -> "1.23 ms"
std::string human_seconds(double seconds);
// A kernel's op list within `width` characters: a fused optimizer update
// lists dozens of ops, so repeats are counted ("sub x9 mul x24 add x15 ...").
std::string summarize_ops(const std::string& ops, size_t width = 64);

} // namespace netc::rt
