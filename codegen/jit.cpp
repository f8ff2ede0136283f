#include "codegen/jit.h"

#include "codegen/kernel.h"
#include "ir/error.h"
#include "plan/launch_plan.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <optional>

namespace netc::codegen {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Halide's extents: the concrete shape reversed (innermost first).
std::vector<int> halide_sizes(const std::vector<int64_t>& shape) {
  return std::vector<int>(shape.rbegin(), shape.rend());
}

void check_shape(const char* what, size_t i, const std::vector<int64_t>& got,
                 const std::vector<int64_t>& want) {
  if (got != want)
    internal_error(fmt::format("kernel {} {}: tensor of shape {}, expected {}", what, i,
                               to_string(Shape(got)), to_string(Shape(want))));
}

} // namespace

struct JitKernel::Impl {
  LoweredKernel k;
  std::vector<TensorType> in_types, out_types;
  double compile_s = 0;
  // The binding.
  int64_t batch = 0;
  std::vector<Halide::Buffer<>> in_bufs;
  std::vector<std::pair<const Tensor<float>*, size_t>> staged; // (source, input index)
  std::vector<Halide::Buffer<>> out_bufs;
  std::optional<Halide::Realization> realization;

  // Integer outputs (quantized values, int32 sums): realized into typed
  // buffers, then copied into the caller's float tensors, exact up to 2^24.
  std::vector<std::pair<Tensor<float>*, size_t>> unstaged; // (destination, output index)
  // Channels-last values (KernelSpec::channels_last): the caller's tensors
  // are row-major, the kernel's buffers channels innermost; inputs are copied
  // in at bind, outputs out after every run.
  std::vector<bool> in_channels_last, out_channels_last;
  std::vector<std::pair<Tensor<float>*, size_t>> unpermuted; // (destination, output index)

  // An f32 buffer of Halide sizes (w, h, c, n) in the launch plan's
  // channels-last storage order (Halide dim d is IR axis 3 - d).
  static Halide::Buffer<float> channels_last_buffer(const std::vector<int>& sizes) {
    std::vector<int> order;
    for (int k = 0; k < 4; ++k) order.push_back(3 - rt::storage_axis(4, true, k));
    return Halide::Buffer<float>(sizes, order);
  }

  template <class I>
  static void copy_in(const Tensor<float>& src, Halide::Buffer<>& b) {
    auto* d = static_cast<I*>(b.data());
    for (int64_t e = 0; e < src.size(); ++e) d[e] = static_cast<I>(src[e]);
  }
  template <class I>
  static void copy_out(const Halide::Buffer<>& b, Tensor<float>& dst) {
    const auto* s = static_cast<const I*>(b.data());
    for (int64_t e = 0; e < dst.size(); ++e) dst[e] = static_cast<float>(s[e]);
  }

  void stage_integers() {
    for (auto [src, i] : staged) {
      Halide::Buffer<>& b = in_bufs[i];
      if (b.type() == Halide::Int(32))
        copy_in<int32_t>(*src, b);
      else if (b.type() == Halide::UInt(8))
        copy_in<uint8_t>(*src, b);
      else if (b.type() == Halide::Int(8))
        copy_in<int8_t>(*src, b);
      else
        copy_in<int64_t>(*src, b);
    }
  }

  void unpermute_outputs() {
    for (auto [dst, i] : unpermuted)
      Halide::Buffer<float>(dst->data.data(), halide_sizes(dst->shape))
          .copy_from(Halide::Buffer<float>(out_bufs[i]));
  }

  void unstage_integers() {
    for (auto [dst, i] : unstaged) {
      const Halide::Buffer<>& b = out_bufs[i];
      if (b.type() == Halide::Int(32))
        copy_out<int32_t>(b, *dst);
      else if (b.type() == Halide::UInt(8))
        copy_out<uint8_t>(b, *dst);
      else
        copy_out<int8_t>(b, *dst);
    }
  }
};

JitKernel::JitKernel(const Graph& g, const KernelSpec& spec, const KernelOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Clock::time_point t0 = Clock::now();
  impl_->k = lower_kernel(g, spec, options);
  for (ValueId v : spec.inputs) {
    impl_->in_types.push_back(g.node(v).type);
    impl_->in_channels_last.push_back(spec.is_channels_last(v));
  }
  for (ValueId v : spec.outputs) {
    impl_->out_types.push_back(g.node(v).type);
    impl_->out_channels_last.push_back(spec.is_channels_last(v));
    DType t = g.node(v).type.dtype;
    if (t != DType::f32 && t != DType::i32 && t != DType::u8 && t != DType::i8)
      internal_error(fmt::format("kernel '{}': the JIT returns f32, i32, u8 and i8 values, "
                                 "output %{} is {}",
                                 spec.name, v, to_string(g.node(v).type)));
  }
  for (const TensorType& t : impl_->in_types)
    if (t.dtype == DType::f64)
      internal_error(
          fmt::format("kernel '{}': the JIT runs f32 kernels, found an f64 input", spec.name));
  impl_->k.pipeline.compile_jit(impl_->k.target);
  impl_->compile_s = seconds_since(t0);
}

JitKernel::~JitKernel() = default;
JitKernel::JitKernel(JitKernel&&) noexcept = default;
JitKernel& JitKernel::operator=(JitKernel&&) noexcept = default;

const KernelSpec& JitKernel::spec() const { return impl_->k.spec; }
KernelKind JitKernel::kind() const { return impl_->k.kind; }
const std::string& JitKernel::schedule_notes() const { return impl_->k.schedule_notes; }
double JitKernel::compile_seconds() const { return impl_->compile_s; }

void JitKernel::bind(int64_t batch, std::span<const Tensor<float>* const> inputs,
                     std::span<Tensor<float>* const> outputs) {
  Impl& m = *impl_;
  if (inputs.size() != m.in_types.size() || outputs.size() != m.out_types.size())
    internal_error(fmt::format("kernel '{}' takes {} inputs and {} outputs, given {} and {}",
                               m.k.spec.name, m.in_types.size(), m.out_types.size(), inputs.size(),
                               outputs.size()));
  m.batch = batch;
  m.in_bufs.clear();
  m.staged.clear();
  m.out_bufs.clear();
  m.unstaged.clear();
  m.unpermuted.clear();
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t> want = m.in_types[i].shape.concrete(batch);
    check_shape("input", i, inputs[i]->shape, want);
    std::vector<int> sizes = halide_sizes(want);
    if (m.in_channels_last[i]) {
      Halide::Buffer<float> b = Impl::channels_last_buffer(sizes);
      b.copy_from(Halide::Buffer<float>(const_cast<float*>(inputs[i]->data.data()), sizes));
      m.in_bufs.emplace_back(b);
    } else if (m.in_types[i].dtype == DType::f32) {
      // Halide never writes an input buffer; the view drops const for its API.
      m.in_bufs.emplace_back(
          Halide::Buffer<float>(const_cast<float*>(inputs[i]->data.data()), sizes));
    } else {
      m.in_bufs.emplace_back(halide_type(m.in_types[i].dtype), sizes);
      m.staged.emplace_back(inputs[i], i);
    }
    m.k.inputs[i].set(m.in_bufs.back());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::vector<int64_t> want = m.out_types[i].shape.concrete(batch);
    check_shape("output", i, outputs[i]->shape, want);
    if (m.out_channels_last[i]) {
      m.out_bufs.emplace_back(Impl::channels_last_buffer(halide_sizes(want)));
      m.unpermuted.emplace_back(outputs[i], i);
    } else if (m.out_types[i].dtype == DType::f32) {
      m.out_bufs.emplace_back(Halide::Buffer<float>(outputs[i]->data.data(), halide_sizes(want)));
    } else {
      m.out_bufs.emplace_back(halide_type(m.out_types[i].dtype), halide_sizes(want));
      m.unstaged.emplace_back(outputs[i], i);
    }
  }
  m.realization.emplace(m.out_bufs);
  m.k.scalars.batch.set(static_cast<int32_t>(batch));
}

void JitKernel::run(const StepScalars& scalars) {
  Impl& m = *impl_;
  if (!m.realization) internal_error(fmt::format("kernel '{}' runs before bind", m.k.spec.name));
  m.stage_integers();
  m.k.scalars.seed.set(scalars.seed);
  m.k.scalars.step.set(static_cast<uint32_t>(scalars.step));
  m.k.pipeline.realize(*m.realization, m.k.target);
  m.unstage_integers();
  m.unpermute_outputs();
}

std::vector<Tensor<float>> JitKernel::run(int64_t batch,
                                          std::span<const Tensor<float>* const> inputs,
                                          const StepScalars& scalars) {
  std::vector<Tensor<float>> outs;
  for (const TensorType& t : impl_->out_types) outs.emplace_back(t.shape.concrete(batch));
  std::vector<Tensor<float>*> out_ptrs;
  for (auto& t : outs) out_ptrs.push_back(&t);
  bind(batch, inputs, out_ptrs);
  run(scalars);
  return outs;
}

KernelTiming time_kernel(JitKernel& kernel, int samples, double min_sample_s,
                         const StepScalars& scalars) {
  kernel.run(scalars); // warm-up: caches, the thread pool
  KernelTiming t;
  t.samples = std::max(1, samples);
  // Calls per sample: enough to last min_sample_s, estimated from one call.
  Clock::time_point t0 = Clock::now();
  kernel.run(scalars);
  double one = std::max(seconds_since(t0), 1e-9);
  t.calls_per_sample = std::max(1, static_cast<int>(min_sample_s / one));
  std::vector<double> times;
  for (int s = 0; s < t.samples; ++s) {
    t0 = Clock::now();
    for (int c = 0; c < t.calls_per_sample; ++c) kernel.run(scalars);
    times.push_back(seconds_since(t0) / t.calls_per_sample);
  }
  std::sort(times.begin(), times.end());
  t.median_s = times[times.size() / 2];
  t.min_s = times.front();
  return t;
}

} // namespace netc::codegen
