// Runs a launch plan (plan/launch_plan.h) with a table of compiled kernels: the
// engine of every compiled model.
//
// All the work that allocates happens in the constructor: kernels resolved by
// name, the persistent region and the arena allocated once (64-byte aligned,
// zeroed), and a halide_buffer_t built for every argument of every kernel
// call, its host pointer at the slot's offset. set_batch() then rewrites only
// extents and strides, and run() only calls kernels and copies updates: a
// step allocates nothing (kernel-internal memory comes from the block cache,
// runtime/block_cache.h).
//
// Buffer descriptors follow Halide: dim 0 is the last row-major dimension
// (stride 1), and every stride is that of the dense row-major tensor at the
// current batch, so a dimension outside a batch dimension has a stride that
// depends on it (codegen declares the same, codegen/kernel.cpp).
#pragma once

#include "plan/launch_plan.h"
#include "runtime/error.h"
#include "runtime/kernel_entry.h"

#include <HalideRuntime.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace netc::rt {

// Told by Executor::run() after each kernel: data-parallel training starts
// reducing a gradient as soon as the kernel that writes it has run, and waits
// for every reduction before the first kernel that reads one
// (runtime/mpi/data_parallel.h).
class KernelObserver {
public:
  virtual ~KernelObserver() = default;
  virtual void after_kernel(const Program& program, size_t kernel) = 0;
};

class Executor {
public:
  // `kernels` ends with {nullptr, nullptr}. Throws Error for an
  // inconsistent plan or a kernel the table lacks. Installs the Halide hooks
  // (runtime/halide_hooks.h). The batch starts at max_batch.
  Executor(Plan plan, const KernelEntry* kernels);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const Plan& plan() const { return plan_; }
  int64_t batch() const { return batch_; }
  // 1 <= batch <= max_batch, else Error.
  void set_batch(int64_t batch);

  // Runs plan().train or plan().infer: its kernels in order, then its
  // updates. A kernel's non-zero return is an Error naming it (with
  // Halide's message). With `kernel_seconds` (one per kernel) it also times
  // each call, for `bench`; a kernel skipped gets -1.
  //
  // The program's first `prepare` kernels (Program::prepare) are skipped
  // when they ran in the previous call and nothing has changed since: no
  // other program ran and no persistent value was handed out for writing
  // (the mutable f32/i32/bytes of a persistent slot, set_hyper, initialize).
  void run(const Program& program, std::span<double> kernel_seconds = {});

  // Sets every initializer's values as the reference interpreter draws them
  // for `seed` (ir/init.h, streams named by the slots), zeros the rest of
  // the persistent region, restores the runtime scalars' defaults, and makes
  // `seed` the dropout seed.
  void initialize(uint64_t seed);
  void set_seed(uint64_t seed) { scalars_.seed = seed; }
  uint64_t seed() const { return scalars_.seed; }

  // Slots by name: params and state for checkpoints, hypers, and inputs,
  // outputs and the loss (whose names may repeat across the programs: a
  // program's NamedSlot ids are exact; by name, a persistent slot comes first,
  // then the lowest id). slot() throws Error for an unknown name.
  int find_slot(std::string_view name) const; // -1 when absent
  int slot(std::string_view name) const;
  const TensorSlot& slot_info(int slot) const;
  const std::vector<int>& persistent_slots() const { return persistent_; }
  // The slot's data at the current batch. f32()/i32() check the type.
  std::span<std::byte> bytes(int slot);
  std::span<float> f32(int slot);
  std::span<int32_t> i32(int slot);
  std::span<const float> f32(int slot) const;
  std::span<float> f32(std::string_view name) { return f32(slot(name)); }
  std::span<int32_t> i32(std::string_view name) { return i32(slot(name)); }

  // Runtime scalars (lr, betas, keep probabilities...) by name.
  void set_hyper(std::string_view name, double value);
  // Forces the next run to redo every program's prepare kernels (after
  // writing persistent memory through a pointer kept from earlier).
  void weights_changed() { prepared_for_ = nullptr; }
  double hyper(std::string_view name) const;

  // The descriptor a kernel receives for its buffer argument `arg` (an index
  // into KernelCall::args), for tests and dumps.
  const halide_buffer_t& buffer(const Program& program, size_t kernel, size_t arg) const;

  // Whether run() checks class(N) inputs first (on by default). `bench`
  // turns it off: it reruns a program on inputs filled once, and the memory
  // plan may reuse an input's arena bytes after its last reader, so later
  // runs see stale ids (clamped by the kernels, harmless for timing).
  void set_check_class_inputs(bool on) { check_inputs_ = on; }

  // Called after every kernel of every run, or nobody (nullptr); not owned.
  void set_observer(KernelObserver* observer) { observer_ = observer; }
  // --check-numerics: after every kernel, run() scans the kernel's f32
  // outputs and throws Error at the first NaN or Inf, naming the kernel, the
  // tensor, the element, the model line of the op that computed it (the
  // plan's KernelCall::sources) and the training step. Off by default: it
  // reads every output once more (docs/testing.md has the measured cost).
  void set_check_numerics(bool on) { check_numerics_ = on; }

private:
  struct FreeDeleter {
    void operator()(std::byte* p) const { std::free(p); }
  };
  using Memory = std::unique_ptr<std::byte[], FreeDeleter>;

  struct Call {
    int (*fn)(void**) = nullptr;
    size_t first_arg = 0; // into argv_
  };
  struct Prepared {
    std::vector<Call> calls;
  };
  // Storage for the scalar arguments; argv_ points here.
  struct Scalars {
    int32_t batch = 1;
    uint64_t seed = 0;
    uint32_t step = 0;
  };

  const Prepared& prepared(const Program& program) const;
  // The slot's data without marking the weights changed.
  std::span<std::byte> view(int slot) const;
  std::byte* base(const TensorSlot& s) const;
  const Hyper& find_hyper(std::string_view name) const;
  void prepare(const Program& program, Prepared& out, const KernelEntry* kernels);
  void add_scalars(const KernelCall& k);
  void describe(size_t buffer, int64_t batch);
  [[noreturn]] void kernel_failed(const Program& program, size_t kernel, int code) const;
  // Throws unless every input that declares class(N) (labels, embedding
  // ids) holds indices in 0..N-1: the kernels clamp such indices to stay in
  // bounds, and this says which value was wrong and where.
  void check_class_inputs(const Program& program);
  bool check_inputs_ = true;
  KernelObserver* observer_ = nullptr;
  // In runtime/executor_numerics.cpp.
  void check_numerics(const Program& program, size_t kernel) const;
  bool check_numerics_ = false;

  Plan plan_;
  Memory persistent_memory_, arena_memory_;
  std::vector<int> persistent_;
  std::vector<std::pair<std::string_view, int>> by_name_; // sorted, views into plan_.slots
  int step_slot_ = -1; // the optimizer's step counter, the dropout generator's step
  int64_t batch_ = 0;
  Scalars scalars_;
  // One descriptor per kernel argument of both programs; every pointer into
  // these vectors is taken after they reach their final size.
  std::vector<halide_buffer_t> buffers_;
  std::vector<int> buffer_slots_;
  std::vector<size_t> dim_starts_;
  std::vector<halide_dimension_t> dims_;
  std::vector<void*> argv_;
  Prepared train_, infer_;
  // The program whose prepare kernels' results are in the arena and current.
  const Program* prepared_for_ = nullptr;
};

} // namespace netc::rt
