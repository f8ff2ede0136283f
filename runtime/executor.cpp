#include "runtime/executor.h"

#include "ir/init.h"
#include "runtime/halide_hooks.h"
#include "runtime/plan_check.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <tuple>
#include <utility>

namespace netc::rt {

namespace {

constexpr size_t kRegionAlignment = 64;

// Zeroed, so that the first step reads defined values and the pages are
// touched before timing starts.
auto allocate_region(int64_t bytes, const char* what) {
  size_t size = std::max<size_t>(kRegionAlignment, static_cast<size_t>(bytes));
  size = (size + kRegionAlignment - 1) / kRegionAlignment * kRegionAlignment;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(kRegionAlignment, size));
  if (!p) throw Error(fmt::format("cannot allocate {} bytes for the {}", size, what));
  std::memset(p, 0, size);
  return p;
}

halide_type_t halide_type(ElemType t) {
  switch (t) {
  case ElemType::f32: return halide_type_t(halide_type_float, 32);
  case ElemType::i32: return halide_type_t(halide_type_int, 32);
  case ElemType::u8: return halide_type_t(halide_type_uint, 8);
  case ElemType::i8: return halide_type_t(halide_type_int, 8);
  }
  return halide_type_t(halide_type_float, 32);
}

const char* type_name(ElemType t) {
  switch (t) {
  case ElemType::f32: return "f32";
  case ElemType::i32: return "i32";
  case ElemType::u8: return "u8";
  case ElemType::i8: return "i8";
  }
  return "?";
}

const KernelEntry* find_kernel(const KernelEntry* table, const std::string& name) {
  for (const KernelEntry* e = table; e && e->name; ++e)
    if (name == e->name) return e;
  return nullptr;
}

std::string table_summary(const KernelEntry* table) {
  std::string names;
  int n = 0;
  for (const KernelEntry* e = table; e && e->name; ++e, ++n)
    if (n < 8) {
      names += n ? ", " : "";
      names += e->name;
    }
  if (n > 8) names += ", ...";
  return fmt::format("{} kernels{}{}", n, n ? ": " : "", names);
}

} // namespace

Executor::Executor(Plan plan, const KernelEntry* kernels) : plan_(std::move(plan)) {
  check_plan(plan_);
  install_halide_hooks();
  persistent_memory_.reset(allocate_region(plan_.persistent_bytes, "persistent region"));
  arena_memory_.reset(allocate_region(plan_.arena_bytes, "arena"));

  for (size_t i = 0; i < plan_.slots.size(); ++i) {
    const TensorSlot& s = plan_.slots[i];
    by_name_.emplace_back(s.name, static_cast<int>(i));
    if (s.region == Region::persistent) persistent_.push_back(static_cast<int>(i));
  }
  // By name, then persistent before arena: a name lookup finds the param or
  // state of that name rather than one program's input of the same name.
  std::sort(by_name_.begin(), by_name_.end(), [&](const auto& a, const auto& b) {
    auto key = [&](const auto& e) {
      return std::tuple(e.first,
                        plan_.slots[static_cast<size_t>(e.second)].region != Region::persistent,
                        e.second);
    };
    return key(a) < key(b);
  });
  int step = find_slot("step");
  if (step >= 0 && slot_info(step).region == Region::persistent &&
      slot_info(step).type == ElemType::f32 && slot_info(step).shape.empty())
    step_slot_ = step;

  // Reserve the exact sizes first: argv_ and the descriptors point into these
  // vectors, so they must never reallocate.
  size_t num_buffers = 0, num_dims = 0, num_args = 0;
  for (const Program* p : {&plan_.train, &plan_.infer})
    for (const KernelCall& k : p->kernels) {
      num_buffers += k.args.size();
      num_args += k.args.size() + k.scalars.size();
      for (int a : k.args) num_dims += plan_.slots[static_cast<size_t>(a)].shape.size();
    }
  buffers_.reserve(num_buffers);
  buffer_slots_.reserve(num_buffers);
  dim_starts_.reserve(num_buffers);
  dims_.reserve(num_dims);
  argv_.reserve(num_args);
  prepare(plan_.train, train_, kernels);
  prepare(plan_.infer, infer_, kernels);
  set_batch(plan_.max_batch);
}

Executor::~Executor() = default;

void Executor::prepare(const Program& program, Prepared& out, const KernelEntry* kernels) {
  const char* which = &program == &plan_.train ? "train" : "infer";
  for (const KernelCall& k : program.kernels) {
    const KernelEntry* entry = find_kernel(kernels, k.name);
    if (!entry || !entry->fn)
      throw Error(fmt::format("the {} program calls kernel '{}', which this executable "
                              "does not contain (its table has {})",
                              which, k.name, table_summary(kernels)));
    out.calls.push_back({entry->fn, argv_.size()});
    for (size_t i = 0; i < k.args.size(); ++i) {
      if (i == static_cast<size_t>(k.num_inputs)) add_scalars(k);
      int a = k.args[i];
      const TensorSlot& s = plan_.slots[static_cast<size_t>(a)];
      halide_buffer_t b{};
      b.host = reinterpret_cast<uint8_t*>(base(s) + s.offset);
      b.type = halide_type(s.type);
      b.dimensions = static_cast<int32_t>(s.shape.size());
      b.dim = s.shape.empty() ? nullptr : dims_.data() + dims_.size();
      dim_starts_.push_back(dims_.size());
      dims_.resize(dims_.size() + s.shape.size());
      buffer_slots_.push_back(a);
      buffers_.push_back(b);
      argv_.push_back(&buffers_.back());
    }
    if (k.args.size() == static_cast<size_t>(k.num_inputs)) add_scalars(k);
  }
}

void Executor::add_scalars(const KernelCall& k) {
  for (const std::string& s : k.scalars)
    argv_.push_back(s == "batch"  ? static_cast<void*>(&scalars_.batch)
                    : s == "seed" ? static_cast<void*>(&scalars_.seed)
                                  : static_cast<void*>(&scalars_.step));
}

void Executor::describe(size_t i, int64_t batch) {
  const TensorSlot& s = plan_.slots[static_cast<size_t>(buffer_slots_[i])];
  halide_dimension_t* dim = dims_.data() + dim_starts_[i];
  int rank = static_cast<int>(s.shape.size());
  // Halide dimension d is IR axis rank-1-d; the strides grow in storage order.
  int64_t stride = 1;
  for (int k = 0; k < rank; ++k) {
    int axis = storage_axis(rank, s.channels_last, k);
    int64_t e = s.shape[static_cast<size_t>(axis)];
    if (e == kBatchDim) e = batch;
    dim[rank - 1 - axis] =
        halide_dimension_t(0, static_cast<int32_t>(e), static_cast<int32_t>(stride));
    stride *= e;
  }
}

void Executor::set_batch(int64_t batch) {
  if (batch < 1 || batch > plan_.max_batch)
    throw Error(fmt::format("batch {} is outside 1..{}: model '{}' was compiled for at "
                            "most {} examples per batch",
                            batch, plan_.max_batch, plan_.model, plan_.max_batch));
  if (batch == batch_) return;
  batch_ = batch;
  scalars_.batch = static_cast<int32_t>(batch);
  for (size_t i = 0; i < buffers_.size(); ++i) describe(i, batch);
}

const Executor::Prepared& Executor::prepared(const Program& program) const {
  if (&program == &plan_.train) return train_;
  if (&program == &plan_.infer) return infer_;
  throw Error("Executor::run: the program is not one of this executor's plan");
}

void Executor::run(const Program& program, std::span<double> kernel_seconds) {
  using Clock = std::chrono::steady_clock;
  const Prepared& p = prepared(program);
  bool timed = !kernel_seconds.empty();
  if (timed && kernel_seconds.size() != p.calls.size())
    throw Error("Executor::run: one time per kernel expected");
  // The step counter counts completed steps; kernels that write it in place
  // run after every reader (passes/fusion.h), so one read per step suffices.
  if (step_slot_ >= 0) {
    float step = reinterpret_cast<const float*>(view(step_slot_).data())[0];
    scalars_.step = step > 0 ? static_cast<uint32_t>(step) : 0;
  }
  if (check_inputs_) check_class_inputs(program);
  size_t first = prepared_for_ == &program ? static_cast<size_t>(program.prepare) : 0;
  prepared_for_ = nullptr; // until every kernel has run
  if (timed) std::fill(kernel_seconds.begin(), kernel_seconds.begin() + first, -1.0);
  for (size_t k = first; k < p.calls.size(); ++k) {
    Clock::time_point start = timed ? Clock::now() : Clock::time_point{};
    if (int code = p.calls[k].fn(argv_.data() + p.calls[k].first_arg))
      kernel_failed(program, k, code);
    if (check_numerics_) check_numerics(program, k);
    if (timed) kernel_seconds[k] = std::chrono::duration<double>(Clock::now() - start).count();
    if (observer_) observer_->after_kernel(program, k);
  }
  for (const Update& u : program.updates) {
    const TensorSlot& t = plan_.slots[static_cast<size_t>(u.target)];
    const TensorSlot& v = plan_.slots[static_cast<size_t>(u.value)];
    std::memmove(base(t) + t.offset, base(v) + v.offset, static_cast<size_t>(t.bytes(batch_)));
  }
  if (program.updates.empty()) prepared_for_ = &program;
}

void Executor::check_class_inputs(const Program& program) {
  for (const NamedSlot& in : program.inputs) {
    if (in.num_classes <= 0 || slot_info(in.slot).type != ElemType::i32) continue;
    std::span<const int32_t> v = i32(in.slot);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] >= 0 && v[i] < in.num_classes) continue;
      // The position in the input's shape at the current batch.
      const TensorSlot& s = plan_.slots[static_cast<size_t>(in.slot)];
      std::vector<int64_t> at(s.shape.size());
      auto rest = static_cast<int64_t>(i);
      for (size_t a = s.shape.size(); a-- > 0;) {
        int64_t d = s.shape[a] == kBatchDim ? batch_ : s.shape[a];
        at[a] = rest % d;
        rest /= d;
      }
      throw Error(fmt::format("input '{}' holds {} at position [{}], outside the 0..{} of its "
                              "class({})",
                              in.name, v[i], fmt::join(at, ","), in.num_classes - 1,
                              in.num_classes));
    }
  }
}

void Executor::kernel_failed(const Program& program, size_t kernel, int code) const {
  const KernelCall& k = program.kernels[kernel];
  std::string detail = take_halide_error();
  std::string message = fmt::format("kernel '{}' ({}) failed with Halide error code {}", k.name,
                                    k.ops.empty() ? k.kind : k.ops, code);
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  throw Error(message);
}

void Executor::initialize(uint64_t seed) {
  prepared_for_ = nullptr;
  std::memset(persistent_memory_.get(), 0, static_cast<size_t>(plan_.persistent_bytes));
  for (const Init& init : plan_.inits) {
    const TensorSlot& s = slot_info(init.slot);
    if (init.values_offset >= 0) { // an imported weight: its values (bounds: check_plan)
      std::span<float> dst = f32(init.slot);
      std::copy_n(plan_.initial_values.begin() + init.values_offset, dst.size(), dst.begin());
      continue;
    }
    bool known = s.type == ElemType::f32
                     ? netc::initialize(f32(init.slot), init.scheme, init.fan_in, init.fan_out,
                                        init.scale, seed, s.name)
                     : netc::initialize(i32(init.slot), init.scheme, init.fan_in, init.fan_out,
                                        init.scale, seed, s.name);
    if (!known) // check_plan rejects these; kept for plans changed since
      throw Error(fmt::format("'{}' has an unknown initializer '{}'", s.name, init.scheme));
  }
  for (const Hyper& h : plan_.hypers) f32(h.slot)[0] = static_cast<float>(h.value);
  scalars_.seed = seed;
}

int Executor::find_slot(std::string_view name) const {
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  return it != by_name_.end() && it->first == name ? it->second : -1;
}

int Executor::slot(std::string_view name) const {
  int id = find_slot(name);
  if (id < 0) throw Error(fmt::format("model '{}' has no tensor '{}'", plan_.model, name));
  return id;
}

const TensorSlot& Executor::slot_info(int slot) const {
  if (slot < 0 || static_cast<size_t>(slot) >= plan_.slots.size())
    throw Error(fmt::format("no slot {} (the plan has {})", slot, plan_.slots.size()));
  return plan_.slots[static_cast<size_t>(slot)];
}

std::byte* Executor::base(const TensorSlot& s) const {
  return s.region == Region::persistent ? persistent_memory_.get() : arena_memory_.get();
}

std::span<std::byte> Executor::view(int slot) const {
  const TensorSlot& s = slot_info(slot);
  return {base(s) + s.offset, static_cast<size_t>(s.bytes(batch_))};
}

std::span<std::byte> Executor::bytes(int slot) {
  if (slot_info(slot).region == Region::persistent) prepared_for_ = nullptr;
  return view(slot);
}

std::span<float> Executor::f32(int slot) {
  std::span<const float> data = std::as_const(*this).f32(slot);
  if (slot_info(slot).region == Region::persistent) prepared_for_ = nullptr;
  return {const_cast<float*>(data.data()), data.size()};
}

std::span<const float> Executor::f32(int slot) const {
  const TensorSlot& s = slot_info(slot);
  if (s.type != ElemType::f32)
    throw Error(fmt::format("tensor '{}' is {}, not f32", s.name, type_name(s.type)));
  return {reinterpret_cast<const float*>(view(slot).data()),
          static_cast<size_t>(s.elements(batch_))};
}

std::span<int32_t> Executor::i32(int slot) {
  const TensorSlot& s = slot_info(slot);
  if (s.type != ElemType::i32)
    throw Error(fmt::format("tensor '{}' is {}, not i32", s.name, type_name(s.type)));
  if (s.region == Region::persistent) prepared_for_ = nullptr;
  return {reinterpret_cast<int32_t*>(view(slot).data()), static_cast<size_t>(s.elements(batch_))};
}

const Hyper& Executor::find_hyper(std::string_view name) const {
  for (const Hyper& h : plan_.hypers)
    if (h.name == name) return h;
  std::string known;
  for (const Hyper& h : plan_.hypers) {
    known += known.empty() ? "" : ", ";
    known += h.name;
  }
  throw Error(fmt::format("model '{}' has no runtime scalar '{}' (it has: {})", plan_.model, name,
                          known.empty() ? "none" : known));
}

void Executor::set_hyper(std::string_view name, double value) {
  f32(find_hyper(name).slot)[0] = static_cast<float>(value);
}

double Executor::hyper(std::string_view name) const { return f32(find_hyper(name).slot)[0]; }

const halide_buffer_t& Executor::buffer(const Program& program, size_t kernel, size_t arg) const {
  const Prepared& p = prepared(program);
  if (kernel >= p.calls.size() || arg >= program.kernels[kernel].args.size())
    throw Error("Executor::buffer: no such kernel argument");
  const KernelCall& k = program.kernels[kernel];
  size_t at = arg < static_cast<size_t>(k.num_inputs) ? arg : arg + k.scalars.size();
  return *static_cast<const halide_buffer_t*>(argv_[p.calls[kernel].first_arg + at]);
}

} // namespace netc::rt
