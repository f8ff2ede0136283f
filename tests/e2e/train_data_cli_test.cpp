// A compiled binary on small CSV data, end to end: labels are checked against
// the count their label declares, a train block without `split` splits data
// that has no test set 0.8 / 0.1 / 0.1, and a random-data run saves a
// checkpoint that eval and --resume accept. (The in-process tests of
// tests/runtime cover the cases; this one runs what `netc compile` writes.)
#include "run_netc.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace netc::test;

namespace {

bool has(const CommandResult& r, const std::string& part) {
  return r.out.find(part) != std::string::npos;
}

// The first output is 5 wide and is not the class scores: a class count
// guessed from it would let labels 3 and 4 through to a 3-wide loss.
const char* kModel = R"(model labels
input x : f32[batch, 3]
label y : class(3)[batch]
h = dense(x, 5)
output features = h
logits = dense(relu(h), 3)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  batch = 8
  epochs = 2
  optimizer = sgd(lr=0.1)
}
)";

// "a,b,c,y" and 50 rows with labels 0..2; `bad_row` (if any) gets label 4.
std::string csv(int bad_row = -1) {
  std::string text = "a,b,c,y\n";
  for (int r = 0; r < 50; ++r)
    text += fmt::format("{},{},{},{}\n", r % 7 - 3, r % 5, r % 3, r == bad_row ? 4 : r % 3);
  return text;
}

} // namespace

TEST_CASE("compiled: labels against the declared count, the default CSV split, random-data "
          "checkpoints") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = scratch_dir() / "labels.nn";
  write_file(model, kModel);
  std::string exe = (scratch_dir() / "labels").string();
  auto c = run_netc("compile '" + model.string() + "' -o '" + exe + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  auto good = scratch_dir() / "good.csv", bad = scratch_dir() / "bad.csv";
  write_file(good, csv());
  write_file(bad, csv(7));
  std::string q = "'" + exe + "' ";

  CommandResult rejected = run_shell(q + "train --data 'csv:" + bad.string() + "'");
  CHECK(rejected.status == 1);
  CHECK_MESSAGE(has(rejected, "label 4 at row 7 (line 9) of " + bad.string() +
                                  " is outside the 3 classes of the model's label y (0..2)"),
                rejected.out);

  std::string ckpt = (scratch_dir() / "c.st").string();
  CommandResult trained =
      run_shell(q + "train --data 'csv:" + good.string() + "' --save '" + ckpt + "'");
  REQUIRE_MESSAGE(trained.status == 0, trained.out);
  CHECK(has(trained, "(40 train / 5 val / 5 test)"));
  CHECK(has(trained, "split 0.8 / 0.1 / 0.1 (the default for data without a test set of its own"));
  CommandResult evaluated = run_shell(q + "eval --weights '" + ckpt + "'");
  CHECK_MESSAGE(evaluated.status == 0, evaluated.out);
  CHECK(has(evaluated, "5 examples (the test split of csv:"));

  std::string random = (scratch_dir() / "r.st").string();
  CommandResult smoke = run_shell(q + "train --random-data --steps 3 --save '" + random + "'");
  REQUIRE_MESSAGE(smoke.status == 0, smoke.out);
  CHECK(has(smoke, "saved " + random));
  CommandResult on_data =
      run_shell(q + "eval --weights '" + random + "' --data 'csv:" + good.string() + "'");
  CHECK_MESSAGE(on_data.status == 0, on_data.out);
  CHECK(has(on_data, "50 examples (every example of csv:"));
  CommandResult more = run_shell(q + "train --random-data --steps 5 --resume '" + random + "'");
  CHECK_MESSAGE(more.status == 0, more.out);
  CHECK(has(more, "resumed after step 3"));
  CHECK(has(more, "step     5  loss"));
}
