// `OUT train --check-numerics` and `netc run MODEL train --check-numerics`:
// a model that takes the log of a dense layer's (partly negative) output
// stops at the first kernel that writes a NaN, and the message names the
// kernel, the model line of the log and the step; without the flag only the
// loss says that something went wrong. A model that stays finite trains the
// same with and without the flag.
#include "run_netc.h"

#include <doctest/doctest.h>

using namespace netc::test;

namespace {

const char* kNanModel = R"(model nan_log
input x : f32[batch, 4]
label y : class(3)[batch]

h = dense(x, 6)
g = log(h)
logits = dense(g, 3)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  batch = 8
  epochs = 2
  optimizer = sgd(lr=0.1)
}
)";

bool has(const CommandResult& r, const std::string& part) {
  return r.out.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("--check-numerics names the kernel, the model line and the step of the first NaN") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = scratch_dir() / "nan_log.nn";
  write_file(model, kNanModel);
  std::string exe = (scratch_dir() / "nan_log").string();
  CommandResult c = run_netc("compile '" + model.string() + "' -o '" + exe + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);

  CommandResult checked = run_shell("'" + exe + "' train --random-data --steps 3 --check-numerics");
  CAPTURE(checked.out);
  CHECK(checked.status == 1);
  CHECK(has(checked, "check-numerics: kernel '"));
  CHECK(has(checked, "wrote nan to"));
  CHECK(has(checked, "in training step 1"));
  CHECK(has(checked, "nan_log.nn:6:5 log")); // g = log(h)

  // Off by default: the loss is what shows it, without a kernel or a line.
  CommandResult unchecked = run_shell("'" + exe + "' train --random-data --steps 3");
  CAPTURE(unchecked.out);
  CHECK(unchecked.status == 1);
  CHECK(has(unchecked, "the loss is nan"));
  CHECK_FALSE(has(unchecked, "check-numerics"));

  // `netc run` (the same compiled program, through the cache) takes the flag too.
  CommandResult run =
      run_netc("run '" + model.string() + "' train --random-data --steps 3 --check-numerics");
  CAPTURE(run.err);
  CHECK(run.status == 1);
  CHECK(run.err.find("nan_log.nn:6:5 log") != std::string::npos);
  CHECK(run.err.find("in training step 1") != std::string::npos);
}

TEST_CASE("--check-numerics changes nothing for a model that stays finite") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string text = kNanModel;
  text.replace(text.find("log(h)"), 6, "log(relu(h) + 1)");
  auto model = scratch_dir() / "finite_log.nn";
  write_file(model, text);
  std::string exe = (scratch_dir() / "finite_log").string();
  CommandResult c = run_netc("compile '" + model.string() + "' -o '" + exe + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  CommandResult plain = run_shell("'" + exe + "' train --random-data --steps 20");
  CommandResult checked =
      run_shell("'" + exe + "' train --random-data --steps 20 --check-numerics");
  CAPTURE(plain.out);
  CHECK(plain.status == 0);
  CHECK(checked.status == 0);
  CHECK(checked.out == plain.out); // the losses, bit for bit
}
