// The C interface of a compiled model (netc_model.h) over the Executor. The
// generated file of `netc compile --emit lib` defines the plan and the kernel
// table, as it does for an executable.
#include "runtime/capi/netc_model.h"

#include "runtime/checkpoint.h"
#include "runtime/executor.h"
#include "runtime/kernel_entry.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

extern "C" const char netc_plan_json[];
extern "C" const netc::rt::KernelEntry netc_kernels[];
extern "C" const float netc_initial_values[];
extern "C" const int64_t netc_initial_values_count;

struct netc_model {
  netc::rt::Executor ex;
  explicit netc_model(uint64_t seed)
      : ex(netc::rt::plan_with_values(netc_plan_json, netc_initial_values,
                                      netc_initial_values_count),
           netc_kernels) {
    ex.initialize(seed);
  }
};

namespace {

thread_local std::string last_error;

template <class F>
int guarded(F f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown error";
  }
  return -1;
}

int64_t per_example(const netc::rt::Executor& ex, int slot) {
  return slot < 0 ? 0 : ex.plan().slots[size_t(slot)].elements(1);
}

int first_input(const netc::rt::Program& p, size_t i) {
  return p.inputs.size() > i ? p.inputs[i].slot : -1;
}

} // namespace

extern "C" {

netc_model* netc_model_create(uint64_t seed) {
  netc_model* model = nullptr;
  guarded([&] { model = std::make_unique<netc_model>(seed).release(); });
  return model;
}

void netc_model_destroy(netc_model* model) { std::unique_ptr<netc_model> owned(model); }

const char* netc_last_error(void) { return last_error.c_str(); }

int netc_model_load_weights(netc_model* m, const char* path) {
  return guarded([&] {
    netc::rt::SafetensorsFile f = netc::rt::read_safetensors(path);
    netc::rt::restore_persistent(f, m->ex, path);
  });
}

int netc_model_save_weights(netc_model* m, const char* path) {
  return guarded([&] {
    netc::rt::SafetensorsFile f;
    f.metadata["netc.fingerprint"] = m->ex.plan().fingerprint;
    f.metadata["netc.model"] = m->ex.plan().model;
    netc::rt::add_persistent(f, m->ex);
    netc::rt::write_safetensors(path, f);
  });
}

int64_t netc_model_input_size(const netc_model* m) {
  return per_example(m->ex, first_input(m->ex.plan().infer, 0));
}
int64_t netc_model_label_size(const netc_model* m) {
  return per_example(m->ex, first_input(m->ex.plan().train, 1));
}
int64_t netc_model_output_size(const netc_model* m) {
  const auto& outs = m->ex.plan().infer.outputs;
  return outs.empty() ? 0 : per_example(m->ex, outs[0].slot);
}
int64_t netc_model_max_batch(const netc_model* m) { return m->ex.plan().max_batch; }

int netc_model_train_step(netc_model* m, const float* x, const void* labels, int64_t batch,
                          float* loss) {
  return guarded([&] {
    const netc::rt::Program& p = m->ex.plan().train;
    if (p.kernels.empty()) throw std::runtime_error("this model has no loss to train");
    m->ex.set_batch(batch);
    int xs = first_input(p, 0), ys = first_input(p, 1);
    std::memcpy(m->ex.bytes(xs).data(), x, size_t(per_example(m->ex, xs) * batch) * 4);
    if (ys >= 0)
      std::memcpy(m->ex.bytes(ys).data(), labels, size_t(per_example(m->ex, ys) * batch) * 4);
    m->ex.run(p);
    if (loss && p.loss >= 0) *loss = m->ex.f32(p.loss)[0];
  });
}

int netc_model_forward(netc_model* m, const float* x, int64_t batch, float* out) {
  return guarded([&] {
    const netc::rt::Program& p = m->ex.plan().infer;
    m->ex.set_batch(batch);
    int xs = first_input(p, 0);
    std::memcpy(m->ex.bytes(xs).data(), x, size_t(per_example(m->ex, xs) * batch) * 4);
    // The inference program also scores labels when the model has a loss;
    // forward is given none, so they are class 0 (a valid index: run()
    // checks class inputs) and the loss they give is not reported.
    for (const netc::rt::NamedSlot& in : p.inputs)
      if (in.slot != xs) std::ranges::fill(m->ex.bytes(in.slot), std::byte{0});
    m->ex.run(p);
    int o = p.outputs.at(0).slot;
    std::memcpy(out, m->ex.bytes(o).data(), size_t(per_example(m->ex, o) * batch) * 4);
  });
}

int netc_model_set_hyper(netc_model* m, const char* name, double value) {
  return guarded([&] { m->ex.set_hyper(name, value); });
}

} // extern "C"
