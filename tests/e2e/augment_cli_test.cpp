// A compiled binary whose train block augments: training says what it
// applies and trains differently from the same model without `augment`,
// `info` names the transforms, a random-data run says it does not augment, and
// evaluation is unaffected: a checkpoint evaluates the same in a binary with
// and without augmentation.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace netc::test;

namespace {

bool has(const CommandResult& r, const std::string& part) {
  return r.out.find(part) != std::string::npos;
}

// A small image classifier on 6x6 single-channel images; `augment` is the
// train block's line, or "" for none. Both binaries have the same name, so
// that their outputs can be compared whole.
std::string model(const std::string& augment) {
  return fmt::format(R"(model blobs
input x : f32[batch, 1, 6, 6]
label y : class(3)[batch]
logits = dense(flatten(relu(conv2d(x, 4, pad=same))), 3)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {{
  batch = 8
  epochs = 2
  optimizer = sgd(lr=0.05)
  {}
}}
)",
                     augment);
}

// 36 pixel columns and a label: a bright 2x2 blob whose column band is the class.
std::string csv() {
  std::string text;
  for (int p = 0; p < 36; ++p) text += fmt::format("p{},", p);
  text += "y\n";
  for (int r = 0; r < 80; ++r) {
    int label = r % 3, top = r % 5, left = 2 * label;
    for (int p = 0; p < 36; ++p) {
      int y = p / 6, x = p % 6;
      bool blob = y >= top && y < top + 2 && x >= left && x < left + 2;
      text += fmt::format("{},", blob ? 200 : (r * 7 + p) % 11);
    }
    text += fmt::format("{}\n", label);
  }
  return text;
}

// The lines of a training output that hold numbers that depend on the weights
// (the epoch lines without their timings).
std::string losses(const std::string& out) {
  std::string kept;
  size_t at = 0;
  while ((at = out.find("train loss ", at)) != std::string::npos) {
    kept += out.substr(at, out.find("lr", at) - at) + "\n";
    ++at;
  }
  return kept;
}

} // namespace

TEST_CASE("compiled: augment is applied to training only, said, and leaves eval unchanged") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto data = scratch_dir() / "blobs.csv";
  write_file(data, csv());
  std::string exe[2];
  const char* augment[2] = {"augment = shift(1), flip, cutout(2)", ""};
  for (int i = 0; i < 2; ++i) {
    auto file = scratch_dir() / fmt::format("m{}.nn", i);
    write_file(file, model(augment[i]));
    exe[i] = (scratch_dir() / fmt::format("m{}", i)).string();
    auto c = run_netc("compile '" + file.string() + "' -o '" + exe[i] + "'");
    REQUIRE_MESSAGE(c.status == 0, c.err);
  }
  std::string aug = "'" + exe[0] + "' ", plain = "'" + exe[1] + "' ";
  std::string on_data = "--data 'csv:" + data.string() + "' ";

  CommandResult info = run_shell(aug + "info");
  CHECK_MESSAGE(has(info, "augment                   shift(1), flip, cutout(2) (training "
                          "batches only)"),
                info.out);
  CHECK_FALSE(has(run_shell(plain + "info"), "augment"));

  std::string ckpt = (scratch_dir() / "aug.st").string();
  CommandResult trained = run_shell(aug + "train " + on_data + "--save '" + ckpt + "'");
  REQUIRE_MESSAGE(trained.status == 0, trained.out);
  CHECK_MESSAGE(has(trained, "\naugment shift(1), flip, cutout(2) (training batches only)\n"),
                trained.out);
  CommandResult again = run_shell(aug + "train " + on_data);
  REQUIRE_MESSAGE(again.status == 0, again.out);
  CommandResult unaugmented = run_shell(plain + "train " + on_data);
  REQUIRE_MESSAGE(unaugmented.status == 0, unaugmented.out);
  CHECK_FALSE(has(unaugmented, "augment"));
  // The same seed and data: augmentation is deterministic, and it does change training.
  CHECK(losses(trained.out) != "");
  CHECK(losses(trained.out) == losses(again.out));
  CHECK(losses(trained.out) != losses(unaugmented.out));

  // eval never augments: the same checkpoint scores the same in both binaries.
  CommandResult eval_aug = run_shell(aug + "eval --weights '" + ckpt + "'");
  CommandResult eval_plain = run_shell(plain + "eval --weights '" + ckpt + "'");
  REQUIRE_MESSAGE(eval_aug.status == 0, eval_aug.out);
  REQUIRE_MESSAGE(eval_plain.status == 0, eval_plain.out);
  CHECK(eval_aug.out == eval_plain.out);
  CHECK(has(eval_aug, "examples (the test split of csv:"));

  CommandResult random = run_shell(aug + "train --random-data --steps 2");
  CHECK_MESSAGE(random.status == 0, random.out);
  CHECK(has(random, "augment shift(1), flip, cutout(2): not applied to random data"));
}
