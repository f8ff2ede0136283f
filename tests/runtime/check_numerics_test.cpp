// Executor::set_check_numerics on the hand-written test model
// (runtime/test_model.h): off by default; on, the first kernel whose output
// holds a NaN or Inf stops the step, named with its tensor, element, model
// line and step; a plan whose sources do not match its outputs is refused.
#include "runtime/executor.h"
#include "runtime/test_model.h"

#include "runtime/random_inputs.h"

#include <cmath>
#include <doctest/doctest.h>
#include <limits>
#include <string>

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

// The test model with model lines for train_fwd's and train_loss's outputs.
Plan located_plan() {
  Plan plan = test::make_plan();
  plan.source_file = "tiny.nn";
  plan.train.kernels[0].sources = {"4:12 add"};
  plan.train.kernels[1].sources = {"6:6 softmax_cross_entropy", "6:6 sub"};
  plan.infer.kernels[0].sources = {"5:16 softmax"};
  return plan;
}

} // namespace

TEST_CASE("check-numerics is off by default: a NaN runs through to the loss") {
  std::vector<KernelEntry> table = test::kernel_table();
  Executor ex(located_plan(), table.data());
  ex.set_batch(4);
  ex.initialize(1);
  fill_random_inputs(ex, ex.plan().train, 1, 0, 2);
  ex.f32("W")[1] = std::numeric_limits<float>::quiet_NaN();
  ex.run(ex.plan().train);
  CHECK(std::isnan(ex.f32(ex.plan().train.loss)[0]));
}

TEST_CASE("check-numerics names the first kernel that writes a NaN, its tensor, line and step") {
  std::vector<KernelEntry> table = test::kernel_table();
  Executor ex(located_plan(), table.data());
  ex.set_batch(4);
  ex.initialize(1);
  fill_random_inputs(ex, ex.plan().train, 1, 0, 2);
  ex.set_check_numerics(true);
  ex.run(ex.plan().train); // finite: nothing to report
  ex.run(ex.plan().train);

  ex.f32("W")[1] = std::numeric_limits<float>::quiet_NaN();
  std::string e = error_of([&] { ex.run(ex.plan().train); });
  CAPTURE(e);
  // train_fwd computes logits = x W + b: column 1 of every row is NaN.
  CHECK(contains(e, "check-numerics: kernel 'train_fwd' (matmul) wrote nan to %5 add[0,1]"));
  CHECK(contains(e, "in training step 3"));
  CHECK(contains(e, "computed at tiny.nn:4:12 add"));

  // Inference: no step of its own; it says how many steps were done.
  std::string i = error_of([&] { ex.run(ex.plan().infer); });
  CAPTURE(i);
  CHECK(contains(i, "kernel 'infer_fwd'"));
  CHECK(contains(i, "in inference (after 2 training steps)"));
  CHECK(contains(i, "tiny.nn:5:16 softmax"));
}

TEST_CASE("check-numerics reports an Inf, and a kernel without a recorded line says so") {
  std::vector<KernelEntry> table = test::kernel_table();
  Plan plan = located_plan();
  plan.train.kernels[0].sources.clear();
  Executor ex(plan, table.data());
  ex.set_batch(2);
  ex.initialize(1);
  fill_random_inputs(ex, ex.plan().train, 1, 0, 2);
  ex.f32("b")[0] = std::numeric_limits<float>::infinity();
  ex.set_check_numerics(true);
  std::string e = error_of([&] { ex.run(ex.plan().train); });
  CAPTURE(e);
  CHECK(contains(e, "wrote inf to %5 add[0,0]"));
  CHECK(contains(e, "in training step 1"));
  CHECK(contains(e, "no model line recorded for it"));
}

TEST_CASE("a plan whose kernel sources do not match its outputs is refused") {
  std::vector<KernelEntry> table = test::kernel_table();
  Plan plan = located_plan();
  plan.train.kernels[1].sources = {"6:6 sub"}; // two outputs
  std::string e = error_of([&] { Executor ex(plan, table.data()); });
  CHECK(contains(e, "kernel 'train_loss' of the train program has 1 sources for its 2 outputs"));
}
