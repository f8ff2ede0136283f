// `netc gradcheck` on every example, at initialization and after training
// (the notes: check at initialization, and again after some training), and
// `netc run ... train` as a user runs it.
#include "run_netc.h"

#include <doctest/doctest.h>

using namespace netc::test;

namespace {
const char* kSmall[] = {"fmnist_mlp", "multilabel", "siamese", "transfer", "multitask"};
}

TEST_CASE("gradcheck passes on every example at initialization") {
  for (const char* name : kSmall) {
    CAPTURE(std::string(name));
    auto r = run_netc(std::string("gradcheck examples/") + name + ".nn");
    CHECK_MESSAGE(r.status == 0, r.out, r.err);
    CHECK(r.out.find("parameters pass") != std::string::npos);
  }
  auto cnn = run_netc("gradcheck examples/fmnist_cnn.nn --batch 2 --samples 6");
  CHECK_MESSAGE(cnn.status == 0, cnn.out, cnn.err);
}

TEST_CASE("gradcheck passes on every example after 50 training steps") {
  for (const char* name : kSmall) {
    CAPTURE(std::string(name));
    auto r = run_netc(std::string("gradcheck examples/") + name + ".nn --after-steps 50");
    CHECK_MESSAGE(r.status == 0, r.out, r.err);
    CHECK(r.out.find("after 50 training steps") != std::string::npos);
  }
  auto cnn = run_netc("gradcheck examples/fmnist_cnn.nn --after-steps 50 --batch 2 --samples 6");
  CHECK_MESSAGE(cnn.status == 0, cnn.out, cnn.err);
}

TEST_CASE("gradcheck fails, with the worst entries, when the tolerance cannot be met") {
  // 1e-13 is below what two-sided differences in double can resolve.
  auto r = run_netc("gradcheck examples/transfer.nn --tol 1e-13");
  CHECK(r.status == 1);
  CHECK(r.out.find("FAILED") != std::string::npos);
  CHECK(r.out.find("worst entries of") != std::string::npos);
}

TEST_CASE("run train prints a loss per step / --set checks its names and values") {
  auto r = run_netc("run examples/transfer.nn train --random-init --steps 3 --batch 4");
  CHECK(r.status == 0);
  CHECK(r.out.find("step     3  loss") != std::string::npos);
  auto bad = run_netc("run examples/transfer.nn train --random-init --set lr=x");
  CHECK(bad.status == 1);
  auto unknown = run_netc("run examples/transfer.nn train --random-init --set lrr=0.1");
  CHECK(unknown.status == 1);
  CHECK(unknown.err.find("did you mean 'lr'") != std::string::npos);
}

// The transformer: attention's batched matmuls, softmax over the last axis,
// layernorm, gelu and dense over [batch, 16, 64]. About 15 s of CPU time in
// all at batch 2 with 8 entries per parameter.
TEST_CASE("gradcheck passes on examples/vit.nn at initialization and after 50 steps") {
  auto init = run_netc("gradcheck examples/vit.nn --batch 2 --samples 8");
  CHECK_MESSAGE(init.status == 0, init.out, init.err);
  CHECK(init.out.find("parameters pass") != std::string::npos);
  auto trained = run_netc("gradcheck examples/vit.nn --batch 2 --samples 8 --after-steps 50");
  CHECK_MESSAGE(trained.status == 0, trained.out, trained.err);
  CHECK(trained.out.find("after 50 training steps") != std::string::npos);
}
