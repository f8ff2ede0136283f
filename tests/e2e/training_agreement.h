// The compiled binary's training steps against the reference interpreter's:
// both train the same model from the same random initialization on the same
// random batches (`OUT train --random-data` and `netc run ... --random-init`),
// and the losses they print must agree step by step.
#pragma once

#include "run_netc.h"

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

namespace netc::test {

// The losses of every "step N  loss X" line.
inline std::vector<double> printed_losses(const std::string& text) {
  static const std::regex loss_line("step +([0-9]+) +loss +([-0-9.e+naif]+)");
  std::vector<double> v;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), loss_line);
       it != std::sregex_iterator(); ++it)
    v.push_back(std::stod((*it)[2]));
  return v;
}

// Compiles `source` (named `name`), trains it for `steps` steps compiled and
// in the reference interpreter, and checks the losses agree to `rel`. The
// kernels compute in f32 and the interpreter in double: one step's forward
// differs by ~1e-6 relative, and the differences grow through the updates,
// so 1e-4 relative over 20 steps leaves room for rounding and none for a
// wrong update (a wrong update moves the loss by 1e-3 or more within 2 steps).
inline void check_training_agrees(const std::string& name, const std::string& source, int batch,
                                  int steps = 20, double rel = 1e-4) {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = scratch_dir() / (name + ".nn");
  write_file(model, source);
  auto exe = scratch_dir() / name;
  auto c = run_netc("compile '" + model.string() + "' -o '" + exe.string() + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  std::string args =
      " --steps " + std::to_string(steps) + " --batch " + std::to_string(batch) + " --seed 3";
  auto ours = run_shell("'" + exe.string() + "' train --random-data" + args);
  auto ref = run_netc("run '" + model.string() + "' train --random-init" + args);
  REQUIRE_MESSAGE(ours.status == 0, ours.out);
  REQUIRE_MESSAGE(ref.status == 0, ref.err);
  auto a = printed_losses(ours.out), b = printed_losses(ref.out);
  REQUIRE(a.size() == size_t(steps));
  REQUIRE(b.size() == size_t(steps));
  for (size_t i = 0; i < size_t(steps); ++i) {
    CAPTURE(i + 1);
    CHECK(a[i] == doctest::Approx(b[i]).epsilon(rel));
  }
}

} // namespace netc::test
