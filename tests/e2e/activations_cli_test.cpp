// gelu, relu6, hard_sigmoid, hard_swish and layernorm end to end on
// tests/e2e/models/activations.nn: `netc gradcheck` at initialization and
// after training, and 20 compiled training steps against the reference
// interpreter. (Their agreement with PyTorch is tests/e2e/torch_activations.py.)
#include "run_netc.h"
#include "training_agreement.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace netc::test;

namespace {
const std::string kModel = "tests/e2e/models/activations.nn";

std::string read_model() {
  std::ifstream in(std::string(NETC_SOURCE_DIR) + "/" + kModel);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
} // namespace

TEST_CASE("gradcheck passes on gelu, the hard activations and layernorm") {
  auto r = run_netc("gradcheck " + kModel + " --batch 3");
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(r.out.find("ln1.gamma") != std::string::npos);
  CHECK(r.out.find("all 10 parameters pass") != std::string::npos);
  auto trained = run_netc("gradcheck " + kModel + " --batch 3 --after-steps 20");
  CHECK_MESSAGE(trained.status == 0, trained.out, trained.err);
  CHECK(trained.out.find("after 20 training steps") != std::string::npos);
}

TEST_CASE("20 compiled training steps of gelu, hard activations and layernorm follow the "
          "reference") {
  std::string source = read_model();
  REQUIRE(!source.empty());
  check_training_agrees("activations", source, 5);
}
