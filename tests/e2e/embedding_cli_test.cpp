// The embedding layer end to end on tests/e2e/models/embedding.nn (ids ->
// embedding -> mean over the tokens -> dense): `netc gradcheck` at
// initialization and after training, 20 compiled training steps against the
// reference interpreter, and the located errors of malformed uses.
#include "run_netc.h"
#include "training_agreement.h"

#include <doctest/doctest.h>

using namespace netc::test;

namespace {

const std::string kModel = "tests/e2e/models/embedding.nn";

std::string check_error(const std::string& name, const std::string& source) {
  auto model = scratch_dir() / (name + ".nn");
  write_file(model, source);
  auto r = run_netc("check '" + model.string() + "'");
  CHECK(r.status != 0);
  return r.err;
}

} // namespace

TEST_CASE("gradcheck passes on the embedding model") {
  auto r = run_netc("gradcheck " + kModel + " --batch 3");
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(r.out.find("emb1.E") != std::string::npos);
  CHECK(r.out.find("all 3 parameters pass") != std::string::npos);
  auto trained = run_netc("gradcheck " + kModel + " --batch 3 --after-steps 50");
  CHECK_MESSAGE(trained.status == 0, trained.out, trained.err);
}

TEST_CASE("the compiled embedding model trains like the reference for 20 steps") {
  check_training_agrees("embedding", read_file(std::string(NETC_SOURCE_DIR "/") + kModel), 8);
}

TEST_CASE("embedding: malformed uses are located errors") {
  // The ids' declared count must be the vocabulary.
  std::string e = check_error("emb_vocab", "input ids : class(50)[batch, 6]\n"
                                           "output e = embedding(ids, 40, 8)\n");
  CHECK_MESSAGE(e.find(":2:") != std::string::npos, e);
  CHECK(e.find("embedding: vocab is 40, but the ids 'ids' are declared class(50) (line 1)") !=
        std::string::npos);
  e = check_error("emb_float", "input ids : f32[batch, 6]\noutput e = embedding(ids, 40, 8)\n");
  CHECK(e.find("embedding expects integer ids, found f32[batch,6]") != std::string::npos);
  e = check_error("emb_undeclared",
                  "input ids : i32[batch, 6]\noutput e = embedding(ids, 40, 8)\n");
  CHECK(e.find("have no declared count") != std::string::npos);
  e = check_error("emb_dim", "input ids : class(40)[batch, 6]\noutput e = embedding(ids, 40, 0)\n");
  CHECK(e.find("'dim' must be at least 1, found 0") != std::string::npos);
}
