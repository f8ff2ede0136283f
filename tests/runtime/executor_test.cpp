// The executor on a hand-built plan with hand-written kernels
// (runtime/test_model.h): buffer descriptors, batch changes, initialization,
// runtime scalars, updates after the kernels, and the errors it reports.
#include "runtime/executor.h"
#include "runtime/test_model.h"

#include "ir/init.h"
#include "runtime/random_inputs.h"

#include <doctest/doctest.h>
#include <string>
#include <utility>

using namespace netc;
using namespace netc::rt;

namespace {

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct Fixture {
  std::vector<KernelEntry> table = test::kernel_table();
  Executor ex{test::make_plan(), table.data()};
  const Program& train = ex.plan().train;
  const Program& infer = ex.plan().infer;
};

} // namespace

TEST_CASE("descriptors point into the regions, innermost dimension first, f32 and i32") {
  Fixture f;
  CHECK(f.ex.batch() == test::kMaxBatch);
  // train_fwd(x [batch,3], W [3,2], b [2]) -> logits [batch,2]
  const halide_buffer_t& x = f.ex.buffer(f.train, 0, 0);
  CHECK(x.dimensions == 2);
  CHECK(x.type.code == halide_type_float);
  CHECK(x.type.bits == 32);
  CHECK(x.dim[0].extent == 3);
  CHECK(x.dim[0].stride == 1);
  CHECK(x.dim[0].min == 0);
  CHECK(x.dim[1].extent == test::kMaxBatch);
  CHECK(x.dim[1].stride == 3);
  CHECK(x.host == reinterpret_cast<uint8_t*>(f.ex.f32(f.train.inputs[0].slot).data()));
  CHECK(reinterpret_cast<uintptr_t>(x.host) % 64 == 0);
  const halide_buffer_t& y = f.ex.buffer(f.train, 1, 1);
  CHECK(y.type.code == halide_type_int);
  CHECK(y.type.bits == 32);
  CHECK(y.dimensions == 1);
  CHECK(y.dim[0].extent == test::kMaxBatch);
  const halide_buffer_t& loss = f.ex.buffer(f.train, 1, 2);
  CHECK(loss.dimensions == 0);
  // The same tensor gets the same host pointer in every call that reads it.
  const halide_buffer_t& W_fwd = f.ex.buffer(f.train, 0, 1);
  const halide_buffer_t& W_sgd = f.ex.buffer(f.train, 3, 0);
  CHECK(W_fwd.host == W_sgd.host);
  CHECK(W_fwd.host == reinterpret_cast<uint8_t*>(f.ex.f32("W").data()));
  CHECK(W_fwd.dim[0].extent == 2);
  CHECK(W_fwd.dim[1].extent == 3);
  CHECK(W_fwd.dim[1].stride == 2);
}

TEST_CASE("set_batch rewrites extents, and strides outside a batch dimension") {
  Fixture f;
  f.ex.set_batch(3);
  const halide_buffer_t& x = f.ex.buffer(f.infer, 1, 0);
  CHECK(x.dim[1].extent == 3);
  CHECK(x.dim[1].stride == 3);
  // xT [3, batch]: the batch is innermost, so the outer stride is the batch.
  const halide_buffer_t& xt = f.ex.buffer(f.infer, 1, 1);
  CHECK(xt.dim[0].extent == 3);
  CHECK(xt.dim[0].stride == 1);
  CHECK(xt.dim[1].extent == 3);
  CHECK(xt.dim[1].stride == 3);
  f.ex.set_batch(5);
  CHECK(xt.dim[0].extent == 5);
  CHECK(xt.dim[1].stride == 5);
  CHECK(f.ex.f32(f.infer.inputs[0].slot).size() == 15);
  CHECK(f.ex.f32("W").size() == 6); // persistent: no batch
  // The kernel sees the layout it is told: a transpose at batch 5.
  std::span<float> in = f.ex.f32(f.infer.inputs[0].slot);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  f.ex.run(f.infer);
  std::span<float> out = f.ex.f32(f.infer.outputs[1].slot);
  REQUIRE(out.size() == 15);
  for (int r = 0; r < 5; ++r)
    for (int k = 0; k < 3; ++k) CHECK(out[static_cast<size_t>(k * 5 + r)] == in[size_t(r * 3 + k)]);
}

TEST_CASE("a batch outside 1..max_batch is an error that names the maximum") {
  Fixture f;
  CHECK(contains(error_of([&] { f.ex.set_batch(9); }), "outside 1..8"));
  CHECK(contains(error_of([&] { f.ex.set_batch(0); }), "outside 1..8"));
  CHECK(f.ex.batch() == test::kMaxBatch); // unchanged
}

TEST_CASE("a kernel missing from the table is named") {
  std::vector<KernelEntry> table = test::kernel_table("train_grad");
  std::string e = error_of([&] { Executor ex(test::make_plan(), table.data()); });
  CHECK(contains(e, "'train_grad'"));
  CHECK(contains(e, "train program"));
  CHECK(contains(e, "train_fwd")); // what the table has
}

TEST_CASE("initialize draws the reference interpreter's weights for the seed") {
  Fixture f;
  f.ex.f32("b")[0] = 42; // stale values are reset
  f.ex.set_hyper("lr", 3);
  f.ex.initialize(7);
  std::vector<float> expected(6);
  REQUIRE(netc::initialize(std::span<float>(expected), "glorot", 3, 2, 0, 7, "W"));
  std::span<float> W = f.ex.f32("W");
  CHECK(std::vector<float>(W.begin(), W.end()) == expected);
  CHECK(f.ex.f32("b")[0] == 0);
  CHECK(f.ex.f32("step")[0] == 0);
  CHECK(f.ex.hyper("lr") == doctest::Approx(0.1));
  CHECK(f.ex.seed() == 7);
  f.ex.initialize(8);
  CHECK(f.ex.f32("W")[0] != expected[0]);
}

TEST_CASE("runtime scalars are set and read by name, and an unknown one lists the known") {
  Fixture f;
  f.ex.initialize(1);
  f.ex.set_hyper("lr", 0.5);
  CHECK(f.ex.hyper("lr") == 0.5);
  std::string e = error_of([&] { f.ex.set_hyper("learning_rate", 1); });
  CHECK(contains(e, "'learning_rate'"));
  CHECK(contains(e, "lr"));
  CHECK(contains(error_of([&] { f.ex.f32("nothing"); }), "no tensor 'nothing'"));
  CHECK(contains(error_of([&] { f.ex.i32("W"); }), "not i32"));
}

TEST_CASE("a training step runs the kernels, then applies the updates") {
  Fixture f;
  f.ex.set_batch(5);
  f.ex.initialize(3);
  f.ex.set_hyper("lr", 0.25);
  fill_random_inputs(f.ex, f.train, 3, 0, 2);
  std::span<float> W = f.ex.f32("W"), b = f.ex.f32("b");
  std::vector<float> W0(W.begin(), W.end()), b0(b.begin(), b.end());
  test::Reference r = test::reference_step(W0, b0, f.ex.f32(f.train.inputs[0].slot).data(),
                                           f.ex.i32(f.train.inputs[1].slot).data(), 5, 0.25);
  test::seen = {};
  f.ex.run(f.train);
  for (size_t i = 0; i < W.size(); ++i) CHECK(W[i] == doctest::Approx(r.W[i]).epsilon(1e-6));
  for (size_t i = 0; i < b.size(); ++i) CHECK(b[i] == doctest::Approx(r.b[i]).epsilon(1e-6));
  CHECK(f.ex.f32(f.train.loss)[0] == doctest::Approx(r.loss).epsilon(1e-6));
  // The last kernel still read the old W: updates come after every kernel.
  CHECK(test::seen.w00 == W0[0]);
  CHECK(W[0] != W0[0]);
  // Scalars in the listed order: the step counter before this step, the seed, the batch.
  CHECK(test::seen.step == 0);
  CHECK(test::seen.seed == 3);
  CHECK(test::seen.batch == 5);
  CHECK(f.ex.f32("step")[0] == 1);
  float w00 = W[0];
  f.ex.run(f.train);
  CHECK(test::seen.step == 1);
  CHECK(test::seen.w00 == w00); // the second step reads the first's update
  CHECK(test::seen.calls == 2);
}

TEST_CASE("a failing kernel is reported by name with Halide's message") {
  Plan plan = test::make_plan();
  plan.train.kernels[1].name = "train_fail";
  std::vector<KernelEntry> table = test::kernel_table();
  Executor ex(plan, table.data());
  std::string e = error_of([&] { ex.run(ex.plan().train); });
  CHECK(contains(e, "kernel 'train_fail'"));
  CHECK(contains(e, "-7"));
  CHECK(contains(e, "accessed at 9")); // captured by the executor's error handler
}

TEST_CASE("the executor installs its allocator into the Halide runtime") {
  Fixture f;
  CHECK(test::halide_allocator_installed());
  f.ex.run(f.train);
  CHECK(test::halide_mallocs() > 0);
}

TEST_CASE("a program of another plan is refused") {
  Fixture f;
  Plan other = test::make_plan();
  CHECK(contains(error_of([&] { f.ex.run(other.train); }), "not one of this executor's plan"));
}

TEST_CASE("prepare kernels are skipped until a persistent value may have changed") {
  Plan plan = test::make_plan();
  plan.infer.prepare = 1; // pretend infer_fwd computes from the weights alone
  std::vector<KernelEntry> table = test::kernel_table();
  Executor ex{plan, table.data()};
  const Program& infer = ex.plan().infer;
  ex.initialize(1);
  std::vector<double> seconds(infer.kernels.size());
  auto ran_prepare = [&] {
    ex.run(infer, seconds);
    CHECK(seconds[1] >= 0); // the other kernels always run
    return seconds[0] >= 0;
  };
  CHECK(ran_prepare());
  CHECK_FALSE(ran_prepare());
  std::span<const float> read = std::as_const(ex).f32(ex.slot("W")); // reading changes nothing
  CHECK(read.size() == size_t(test::kFeatures * test::kClasses));
  CHECK_FALSE(ran_prepare());
  ex.f32("W")[0] += 1; // handed out for writing
  CHECK(ran_prepare());
  ex.set_hyper("lr", 0.5);
  CHECK(ran_prepare());
  fill_random_inputs(ex, ex.plan().train, 1, 0, 2);
  ex.run(ex.plan().train); // another program shares the arena and updates the weights
  CHECK(ran_prepare());
  ex.initialize(2);
  CHECK(ran_prepare());
  ex.weights_changed();
  CHECK(ran_prepare());
  CHECK_FALSE(ran_prepare());
}

TEST_CASE("a plan whose prepare count exceeds its kernels is refused") {
  Plan plan = test::make_plan();
  plan.infer.prepare = 3;
  std::vector<KernelEntry> table = test::kernel_table();
  CHECK(contains(error_of([&] { Executor ex(plan, table.data()); }), "prepares with 3 of its 2"));
}

TEST_CASE("an input outside its declared class count stops the step before any kernel runs") {
  Fixture f;
  f.ex.set_batch(3);
  f.ex.initialize(3);
  fill_random_inputs(f.ex, f.train, 3, 0, 2);
  std::span<float> W = f.ex.f32("W");
  std::vector<float> W0(W.begin(), W.end());
  std::span<int32_t> y = f.ex.i32(f.train.inputs[1].slot);
  y[2] = 7; // `y` is declared class(2)
  test::seen = {};
  CHECK(error_of([&] { f.ex.run(f.train); }) ==
        "input 'y' holds 7 at position [2], outside the 0..1 of its class(2)");
  CHECK(test::seen.calls == 0);
  CHECK(std::vector<float>(W.begin(), W.end()) == W0); // no update either
  y[2] = -1;
  CHECK(contains(error_of([&] { f.ex.run(f.train); }), "holds -1 at position [2]"));
  y[2] = 1;
  CHECK(error_of([&] { f.ex.run(f.train); }) == "(no error)");
}
