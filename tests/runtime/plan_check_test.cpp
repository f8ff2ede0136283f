// Inconsistent launch plans are refused with a message before anything runs.
#include "runtime/error.h"
#include "runtime/plan_check.h"
#include "runtime/test_model.h"

#include <doctest/doctest.h>
#include <string>

using namespace netc::rt;

namespace {

std::string check(const Plan& p) {
  try {
    check_plan(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "ok";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("the test model's plan is consistent, and survives JSON") {
  Plan p = test::make_plan();
  CHECK(check(p) == "ok");
  Plan q = plan_from_json(plan_to_json(p));
  CHECK(check(q) == "ok");
  CHECK(q.train.kernels.back().scalars == std::vector<std::string>{"step", "seed", "batch"});
  CHECK(plan_to_json(q) == plan_to_json(p));
}

TEST_CASE("plan errors name what is wrong") {
  Plan p = test::make_plan();
  SUBCASE("a slot outside its region") {
    p.slots[4].offset = p.arena_bytes - 4;
    CHECK(contains(check(p), "slot 'x'"));
    CHECK(contains(check(p), "does not fit"));
  }
  SUBCASE("a bad slot id") {
    p.train.kernels[2].args[1] = 99;
    CHECK(contains(check(p), "kernel 'train_grad' of the train program refers to slot 99"));
  }
  SUBCASE("an update between different sizes") {
    p.train.updates[0].value = p.train.updates[1].value;
    CHECK(contains(check(p), "copies"));
  }
  SUBCASE("an update of an arena tensor") {
    p.train.updates[0].target = 4;
    CHECK(contains(check(p), "not persistent"));
  }
  SUBCASE("an unknown initializer") {
    p.inits[0].scheme = "kaiming";
    CHECK(contains(check(p), "unknown initializer 'kaiming'"));
  }
  SUBCASE("an unknown scalar") {
    p.train.kernels[0].scalars = {"epoch"};
    CHECK(contains(check(p), "unknown scalar 'epoch'"));
  }
  SUBCASE("a hyper that is not a scalar") {
    p.hypers[0].slot = 0;
    CHECK(contains(check(p), "not a persistent f32 scalar"));
  }
  SUBCASE("two persistent tensors of one name") {
    p.slots[1].name = "W";
    CHECK(contains(check(p), "two persistent slots are named 'W'"));
  }
  SUBCASE("a negative dimension") {
    p.slots[0].shape = {-3, 2};
    CHECK(contains(check(p), "dimension of -3"));
  }
}

TEST_CASE("malformed JSON is an error, not a crash") {
  CHECK_THROWS_AS(plan_from_json("{"), std::runtime_error);
  CHECK_THROWS_AS(plan_from_json(R"({"model": 3})"), std::runtime_error);
}
