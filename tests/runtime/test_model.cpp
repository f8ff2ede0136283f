#include "runtime/test_model.h"

#include "runtime/thread_pool.h"

#include <HalideRuntime.h>

#include <cmath>
#include <cstring>
#include <string>

namespace netc::rt::test {

Seen seen;

namespace {

// ---- The Halide runtime stand-in: only what the executor hooks into. ----
halide_malloc_t custom_malloc = nullptr;
halide_free_t custom_free = nullptr;
halide_error_handler_t error_handler = nullptr;
halide_do_par_for_t custom_par_for = nullptr;
int64_t mallocs = 0;

void* halide_malloc(size_t bytes) {
  ++mallocs;
  return custom_malloc ? custom_malloc(nullptr, bytes) : std::malloc(bytes);
}
void halide_free(void* p) { custom_free ? custom_free(nullptr, p) : std::free(p); }
void halide_error(const char* message) {
  if (error_handler) error_handler(nullptr, message);
}

// ---- Buffer access through the descriptors (Halide order: dim 0 innermost). ----
bool is(const halide_buffer_t* b, halide_type_code_t code, int rank) {
  return b->host && b->type.code == code && b->type.bits == 32 && b->dimensions == rank;
}
template <class T>
T& at(halide_buffer_t* b) {
  return *reinterpret_cast<T*>(b->host);
}
template <class T>
T& at(halide_buffer_t* b, int i) {
  return reinterpret_cast<T*>(b->host)[i * b->dim[0].stride];
}
template <class T>
T& at(halide_buffer_t* b, int i, int j) { // row i, column j of a row-major matrix
  return reinterpret_cast<T*>(b->host)[j * b->dim[0].stride + i * b->dim[1].stride];
}
int rows(const halide_buffer_t* b) { return b->dim[1].extent; }
halide_buffer_t* arg(void** args, int i) { return static_cast<halide_buffer_t*>(args[i]); }

constexpr auto f = halide_type_float;
constexpr auto i = halide_type_int;

int fwd(halide_buffer_t* x, halide_buffer_t* W, halide_buffer_t* b, halide_buffer_t* out,
        bool softmax) {
  if (!is(x, f, 2) || !is(W, f, 2) || !is(b, f, 1) || !is(out, f, 2)) return -1;
  if (x->dim[0].extent != kFeatures || rows(out) != rows(x)) return -2;
  for (int r = 0; r < rows(x); ++r) {
    float z[kClasses];
    for (int c = 0; c < kClasses; ++c) {
      z[c] = at<float>(b, c);
      for (int k = 0; k < kFeatures; ++k) z[c] += at<float>(x, r, k) * at<float>(W, k, c);
    }
    float m = std::max(z[0], z[1]);
    float sum = std::exp(z[0] - m) + std::exp(z[1] - m);
    for (int c = 0; c < kClasses; ++c)
      at<float>(out, r, c) = softmax ? std::exp(z[c] - m) / sum : z[c];
  }
  return 0;
}

int train_fwd(void** a) { return fwd(arg(a, 0), arg(a, 1), arg(a, 2), arg(a, 3), false); }
int infer_fwd(void** a) { return fwd(arg(a, 0), arg(a, 1), arg(a, 2), arg(a, 3), true); }

int train_loss(void** a) {
  halide_buffer_t *logits = arg(a, 0), *y = arg(a, 1), *loss = arg(a, 2), *d = arg(a, 3);
  if (!is(logits, f, 2) || !is(y, i, 1) || !is(loss, f, 0) || !is(d, f, 2)) return -1;
  int batch = rows(logits);
  if (y->dim[0].extent != batch) return -2;
  double total = 0;
  for (int r = 0; r < batch; ++r) {
    float z0 = at<float>(logits, r, 0), z1 = at<float>(logits, r, 1);
    float m = std::max(z0, z1);
    float lse = m + std::log(std::exp(z0 - m) + std::exp(z1 - m));
    int label = at<int32_t>(y, r);
    if (label < 0 || label >= kClasses) return -3;
    total += lse - (label ? z1 : z0);
    for (int c = 0; c < kClasses; ++c)
      at<float>(d, r, c) = (std::exp((c ? z1 : z0) - lse) - (c == label ? 1.0f : 0.0f)) / batch;
  }
  at<float>(loss) = static_cast<float>(total / batch);
  return 0;
}

int train_grad(void** a) {
  halide_buffer_t *x = arg(a, 0), *d = arg(a, 1), *dW = arg(a, 2), *db = arg(a, 3);
  if (!is(x, f, 2) || !is(d, f, 2) || !is(dW, f, 2) || !is(db, f, 1)) return -1;
  int batch = rows(x);
  // Kernel-internal memory, as Halide's code asks for a Func computed at root.
  auto* scratch = static_cast<float*>(halide_malloc(sizeof(float) * batch * kClasses));
  if (!scratch) return -4;
  for (int r = 0; r < batch; ++r)
    for (int c = 0; c < kClasses; ++c) scratch[r * kClasses + c] = at<float>(d, r, c);
  for (int c = 0; c < kClasses; ++c) {
    float s = 0;
    for (int r = 0; r < batch; ++r) s += scratch[r * kClasses + c];
    at<float>(db, c) = s;
    for (int k = 0; k < kFeatures; ++k) {
      float w = 0;
      for (int r = 0; r < batch; ++r) w += at<float>(x, r, k) * scratch[r * kClasses + c];
      at<float>(dW, k, c) = w;
    }
  }
  halide_free(scratch);
  return 0;
}

int train_sgd(void** a) {
  halide_buffer_t *W = arg(a, 0), *dW = arg(a, 1), *b = arg(a, 2), *db = arg(a, 3);
  halide_buffer_t *lr = arg(a, 4), *step = arg(a, 5);
  halide_buffer_t *W2 = arg(a, 9), *b2 = arg(a, 10), *step2 = arg(a, 11);
  if (!is(W, f, 2) || !is(lr, f, 0) || !is(step, f, 0) || !is(step2, f, 0)) return -1;
  seen.calls++;
  seen.step = *static_cast<uint32_t*>(a[6]); // scalars between the inputs and the outputs
  seen.seed = *static_cast<uint64_t*>(a[7]);
  seen.batch = *static_cast<int32_t*>(a[8]);
  seen.w00 = at<float>(W, 0, 0);
  float rate = at<float>(lr);
  for (int c = 0; c < kClasses; ++c) {
    at<float>(b2, c) = at<float>(b, c) - rate * at<float>(db, c);
    for (int k = 0; k < kFeatures; ++k)
      at<float>(W2, k, c) = at<float>(W, k, c) - rate * at<float>(dW, k, c);
  }
  at<float>(step2) = at<float>(step) + 1;
  return 0;
}

int infer_transpose(void** a) {
  halide_buffer_t *x = arg(a, 0), *xt = arg(a, 1);
  if (!is(x, f, 2) || !is(xt, f, 2) || rows(xt) != kFeatures) return -1;
  for (int r = 0; r < rows(x); ++r)
    for (int k = 0; k < kFeatures; ++k) at<float>(xt, k, r) = at<float>(x, r, k);
  return 0;
}

int train_fail(void**) {
  halide_error("Input buffer x is accessed at 9, which is beyond the max (7)");
  return -7; // halide_error_code_access_out_of_bounds... any non-zero code
}

// Lays out slots 64-byte aligned at the maximum batch, as the memory planner does.
struct Layout {
  Plan& p;
  int add(const std::string& name, std::vector<int64_t> shape, Region region,
          ElemType type = ElemType::f32) {
    TensorSlot s{name, std::move(shape), type, region, 0};
    int64_t& end = region == Region::persistent ? p.persistent_bytes : p.arena_bytes;
    s.offset = end;
    end += (s.bytes(p.max_batch) + 63) / 64 * 64;
    p.arena_bytes_without_reuse += region == Region::arena ? s.bytes(p.max_batch) : 0;
    p.slots.push_back(s);
    return static_cast<int>(p.slots.size()) - 1;
  }
};

KernelCall call(const char* name, std::vector<int> in, std::vector<int> out, const char* kind,
                int64_t fixed, int64_t per_example) {
  KernelCall k;
  k.name = name;
  k.num_inputs = static_cast<int>(in.size());
  k.args = std::move(in);
  k.args.insert(k.args.end(), out.begin(), out.end());
  k.kind = kind;
  k.ops = kind;
  k.flops_fixed = fixed;
  k.flops_per_example = per_example;
  return k;
}

} // namespace

// The stand-in definitions of the Halide runtime's setters.
extern "C" {
halide_malloc_t halide_set_custom_malloc(halide_malloc_t m) {
  halide_malloc_t old = custom_malloc;
  custom_malloc = m;
  return old;
}
halide_free_t halide_set_custom_free(halide_free_t f) {
  halide_free_t old = custom_free;
  custom_free = f;
  return old;
}
halide_error_handler_t halide_set_error_handler(halide_error_handler_t h) {
  halide_error_handler_t old = error_handler;
  error_handler = h;
  return old;
}
halide_do_par_for_t halide_set_custom_do_par_for(halide_do_par_for_t f) {
  halide_do_par_for_t old = custom_par_for;
  custom_par_for = f;
  return old;
}
}

int64_t halide_mallocs() { return mallocs; }
bool halide_allocator_installed() { return custom_malloc && custom_free; }
int halide_threads() { return custom_par_for == parallel_for ? pool_threads() : 0; }

Plan make_plan() {
  Plan p;
  p.model = "softmax_regression";
  p.fingerprint = "0123456789abcdef";
  p.max_batch = kMaxBatch;
  p.config.batch = 4;
  Layout l{p};
  int W = l.add("W", {kFeatures, kClasses}, Region::persistent);
  int b = l.add("b", {kClasses}, Region::persistent);
  int lr = l.add("lr", {}, Region::persistent);
  int step = l.add("step", {}, Region::persistent);
  int x = l.add("x", {kBatchDim, kFeatures}, Region::arena);
  int y = l.add("y", {kBatchDim}, Region::arena, ElemType::i32);
  int logits = l.add("%5 add", {kBatchDim, kClasses}, Region::arena);
  int loss = l.add("%9 softmax_cross_entropy", {}, Region::arena);
  int dlogits = l.add("%12 sub", {kBatchDim, kClasses}, Region::arena);
  int dW = l.add("%14 matmul", {kFeatures, kClasses}, Region::arena);
  int db = l.add("%15 reduce_sum", {kClasses}, Region::arena);
  int W2 = l.add("%20 sub", {kFeatures, kClasses}, Region::arena);
  int b2 = l.add("%21 sub", {kClasses}, Region::arena);
  int step2 = l.add("%22 add", {}, Region::arena);
  int x_inf = l.add("x", {kBatchDim, kFeatures}, Region::arena); // the infer program's own
  int probs = l.add("%7 softmax", {kBatchDim, kClasses}, Region::arena);
  int xt = l.add("%8 transpose", {kFeatures, kBatchDim}, Region::arena);

  p.inits = {{W, "glorot", kFeatures, kClasses, 0, true, false},
             {b, "zeros", 1, 1, 0, true, false},
             {step, "zeros", 1, 1, 0, false, true}};
  p.hypers = {{"lr", lr, 0.1}};
  p.trainable_parameters = kFeatures * kClasses + kClasses;

  p.train.kernels = {
      call("train_fwd", {x, W, b}, {logits}, "matmul", kClasses, 2 * kFeatures * kClasses),
      call("train_loss", {logits, y}, {loss, dlogits}, "reduction", 0, 10),
      call("train_grad", {x, dlogits}, {dW, db}, "matmul", 0, 2 * kFeatures * kClasses),
      call("train_sgd", {W, dW, b, db, lr, step}, {W2, b2, step2}, "elementwise", 17, 0)};
  p.train.kernels.back().scalars = {"step", "seed", "batch"};
  p.train.updates = {{W, W2}, {b, b2}, {step, step2}};
  p.train.inputs = {{"x", x}, {"y", y, kClasses}}; // as `label y : class(2)[batch]`
  p.train.loss = loss;

  p.infer.kernels = {
      call("infer_fwd", {x_inf, W, b}, {probs}, "matmul", kClasses, 2 * kFeatures * kClasses),
      call("infer_transpose", {x_inf}, {xt}, "elementwise", 0, 0)};
  p.infer.inputs = {{"x", x_inf}};
  p.infer.outputs = {{"probs", probs}, {"xT", xt}};
  return p;
}

std::vector<KernelEntry> kernel_table(const char* without) {
  std::vector<KernelEntry> all = {{"train_fwd", train_fwd},
                                  {"train_loss", train_loss},
                                  {"train_grad", train_grad},
                                  {"train_sgd", train_sgd},
                                  {"train_fail", train_fail},
                                  {"infer_fwd", infer_fwd},
                                  {"infer_transpose", infer_transpose}};
  std::vector<KernelEntry> table;
  for (const KernelEntry& e : all)
    if (!without || std::strcmp(e.name, without) != 0) table.push_back(e);
  table.push_back({nullptr, nullptr});
  return table;
}

Reference reference_step(const std::vector<float>& W, const std::vector<float>& b, const float* x,
                         const int32_t* y, int64_t batch, double lr) {
  Reference out{std::vector<double>(W.begin(), W.end()), std::vector<double>(b.begin(), b.end())};
  std::vector<double> dW(W.size()), db(b.size());
  for (int64_t r = 0; r < batch; ++r) {
    double z[kClasses];
    for (int c = 0; c < kClasses; ++c) {
      z[c] = b[static_cast<size_t>(c)];
      for (int k = 0; k < kFeatures; ++k)
        z[c] += double(x[r * kFeatures + k]) * W[k * kClasses + c];
    }
    double m = std::max(z[0], z[1]);
    double lse = m + std::log(std::exp(z[0] - m) + std::exp(z[1] - m));
    out.loss += (lse - z[y[r]]) / static_cast<double>(batch);
    for (int c = 0; c < kClasses; ++c) {
      double d = (std::exp(z[c] - lse) - (c == y[r] ? 1 : 0)) / static_cast<double>(batch);
      db[static_cast<size_t>(c)] += d;
      for (int k = 0; k < kFeatures; ++k) dW[k * kClasses + c] += x[r * kFeatures + k] * d;
    }
  }
  for (size_t j = 0; j < W.size(); ++j) out.W[j] -= lr * dW[j];
  for (size_t j = 0; j < b.size(); ++j) out.b[j] -= lr * db[j];
  return out;
}

} // namespace netc::rt::test
