// The decoder-side ops end to end on tests/e2e/models/decoder.nn (conv ->
// pool -> conv2d_transpose / bilinear upsample -> conv): `netc gradcheck`
// at initialization and after training, and a compiled training run.
#include "run_netc.h"

#include <doctest/doctest.h>

using namespace netc::test;

namespace {
const std::string kDecoder = "tests/e2e/models/decoder.nn";
}

TEST_CASE("gradcheck passes on a decoder with conv2d_transpose and upsample") {
  auto r = run_netc("gradcheck " + kDecoder + " --batch 2");
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(r.out.find("deconv1.W") != std::string::npos);
  CHECK(r.out.find("all 8 parameters pass") != std::string::npos);
  auto trained = run_netc("gradcheck " + kDecoder + " --batch 2 --after-steps 20");
  CHECK_MESSAGE(trained.status == 0, trained.out, trained.err);
  CHECK(trained.out.find("after 20 training steps") != std::string::npos);
}

TEST_CASE("a decoder with conv2d_transpose and upsample compiles and trains") {
  auto r = run_netc("run " + kDecoder + " train --random-data --steps 5 --batch 3");
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(r.out.find("step     5  loss") != std::string::npos);
  CHECK(r.out.find("nan") == std::string::npos);
}
