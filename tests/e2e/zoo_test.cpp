// The model zoo of issue 11, each example as a user runs it: it compiles, its
// compiled inference graph (fused, batch norm folded) computes what the
// reference interpreter does on the unoptimized graph, its compiled training
// steps follow the reference's, and its gradients pass gradcheck at
// initialization and after some training. Accuracy runs take minutes to hours
// and live in the README's table, not here.
#include "training_agreement.h"

#include <doctest/doctest.h>

#include <regex>

using namespace netc::test;

namespace {

// The numbers of the printed tensor after the line that starts with `marker`.
std::vector<double> numbers_after(const std::string& text, const std::string& marker, size_t n) {
  std::vector<double> out;
  auto pos = text.find(marker);
  if (pos == std::string::npos) return out;
  std::istringstream in(text.substr(text.find('\n', pos) + 1));
  double v;
  while (out.size() < n && in >> v) out.push_back(v);
  return out;
}

// `OUT forward` (the compiled inference graph) against `netc run forward
// --random-init` (the interpreter on the parsed graph, in double): the same
// parameters and inputs come from the same seed. Printed with 5 significant
// digits, so 1e-4 relative.
void check_forward_agrees(const std::string& model, const std::string& exe, int batch) {
  std::string args = " forward --batch " + std::to_string(batch) + " --seed 5";
  auto ours = run_shell("'" + exe + "'" + args);
  auto ref = run_netc("run examples/" + model + ".nn --random-init" + args);
  REQUIRE_MESSAGE(ours.status == 0, ours.out);
  REQUIRE_MESSAGE(ref.status == 0, ref.err);
  std::smatch m;
  REQUIRE(std::regex_search(ref.out, m, std::regex("output (\\w+) \\[(\\d+),(\\d+)\\]")));
  size_t n = std::stoul(m[2]) * std::stoul(m[3]);
  auto a = numbers_after(ours.out, "output " + m[1].str(), n);
  auto b = numbers_after(ref.out, "output " + m[1].str(), n);
  REQUIRE(a.size() == n);
  REQUIRE(b.size() == n);
  for (size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-4).scale(1e-3));
  }
}

void check_example(const std::string& model, const std::string& gradcheck_args,
                   int train_batch = 3) {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string exe = (scratch_dir() / model).string();
  auto c = run_netc("compile examples/" + model + ".nn -o '" + exe + "'");
  REQUIRE_MESSAGE(c.status == 0, c.out, c.err);
  SUBCASE("forward") { check_forward_agrees(model, exe, 3); }
  SUBCASE("training steps") {
    // 8 steps at batch 3 by default: batch norm's batch statistics over 3
    // examples, an odd batch that no vector width divides.
    check_training_agrees(model, read_file(NETC_SOURCE_DIR "/examples/" + model + ".nn"),
                          train_batch, 8);
  }
  SUBCASE("gradcheck") {
    auto init = run_netc("gradcheck examples/" + model + ".nn " + gradcheck_args);
    CHECK_MESSAGE(init.status == 0, init.out, init.err);
    auto trained =
        run_netc("gradcheck examples/" + model + ".nn --after-steps 10 " + gradcheck_args);
    CHECK_MESSAGE(trained.status == 0, trained.out, trained.err);
    CHECK(trained.out.find("after 10 training steps") != std::string::npos);
  }
}

} // namespace

TEST_CASE("zoo: resnet compiles, agrees with the reference and passes gradcheck") {
  check_example("resnet", "--batch 2 --samples 3");
}

TEST_CASE("zoo: inception compiles, agrees with the reference and passes gradcheck") {
  check_example("inception", "--batch 2 --samples 3");
}

TEST_CASE("zoo: mobilenet compiles, agrees with the reference and passes gradcheck") {
  check_example("mobilenet", "--batch 2 --samples 3");
}

TEST_CASE("zoo: lstm compiles, agrees with the reference and passes gradcheck") {
  check_example("lstm", "--batch 2 --samples 4");
}

// At batch 12 some of the 10 classes repeat, so some triplets have a positive
// other than the anchor and the hinge is not zero everywhere.
TEST_CASE("zoo: triplet compiles, agrees with the reference and passes gradcheck") {
  check_example("triplet", "--batch 12 --samples 2", 13);
}
