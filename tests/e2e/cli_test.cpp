// The command line as a user meets it: the summaries the issue promises,
// dumps, the reference forward pass, and clean failures.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <filesystem>

using namespace netc::test;

namespace {
const char* kExamples[] = {"fmnist_mlp", "fmnist_cnn", "multilabel",
                           "siamese",    "transfer",   "multitask"};
}

TEST_CASE("check reports the mlp's 235,914 trainable parameters, as PyTorch counts them") {
  auto r = run_netc("check examples/fmnist_mlp.nn");
  CHECK(r.status == 0);
  CHECK(r.err == "");
  CHECK(r.out.find("235,914 trainable parameters") != std::string::npos);
  CHECK(r.out.find("dense1") != std::string::npos);
  CHECK(r.out.find("FLOPs per example") != std::string::npos);
}

TEST_CASE("check reports the cnn's 421,834 trainable parameters") {
  auto r = run_netc("check examples/fmnist_cnn.nn");
  CHECK(r.status == 0);
  CHECK(r.out.find("421,834 trainable parameters") != std::string::npos);
}

TEST_CASE("every example checks, dumps as text and DOT, and runs forward") {
  for (const char* name : kExamples) {
    CAPTURE(name);
    std::string model = std::string("examples/") + name + ".nn";
    auto check = run_netc("check " + model);
    CHECK(check.status == 0);
    CHECK(check.err == "");
    auto text = run_netc("dump " + model + " --after parse");
    CHECK(text.status == 0);
    CHECK(text.out.rfind("model ", 0) == 0);
    auto dot = run_netc("dump " + model + " --after all --format dot");
    CHECK(dot.status == 0);
    CHECK(dot.out.find("digraph") != std::string::npos);
    auto run = run_netc("run " + model + " forward --random-init --batch 3 --seed 7");
    CHECK(run.status == 0);
    CHECK(run.err == "");
    CHECK(run.out.find("reference forward, batch 3") != std::string::npos);
  }
}

TEST_CASE("the dump of each example matches its golden file") {
  // Regenerate with: NETC_UPDATE_GOLDEN=1 build/tests/test_e2e -tc='*golden*'
  bool update = std::getenv("NETC_UPDATE_GOLDEN") != nullptr;
  for (const char* name : kExamples) {
    CAPTURE(name);
    auto r = run_netc(std::string("dump examples/") + name + ".nn --after parse");
    REQUIRE(r.status == 0);
    auto golden =
        std::filesystem::path(NETC_SOURCE_DIR) / "tests/golden" / (std::string(name) + ".ir");
    if (update) write_file(golden, r.out);
    REQUIRE(std::filesystem::exists(golden));
    CHECK(r.out == read_file(golden));
  }
}

TEST_CASE("forward on the mlp gives probabilities that sum to one per row") {
  auto r = run_netc("run examples/fmnist_mlp.nn forward --random-init --batch 2");
  REQUIRE(r.status == 0);
  auto pos = r.out.find("output probs [2,10]");
  REQUIRE(pos != std::string::npos);
  std::istringstream rows(r.out.substr(r.out.find('\n', pos) + 1));
  for (int row = 0; row < 2; ++row) {
    double sum = 0, p = 0;
    for (int c = 0; c < 10; ++c) {
      REQUIRE(static_cast<bool>(rows >> p));
      CHECK(p > 0.0);
      sum += p;
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
  }
  CHECK(r.out.find("loss ") != std::string::npos);
}

TEST_CASE("the same seed gives the same forward output / another seed another") {
  auto a = run_netc("run examples/fmnist_cnn.nn forward --random-init --batch 2 --seed 3");
  auto b = run_netc("run examples/fmnist_cnn.nn forward --random-init --batch 2 --seed 3");
  auto c = run_netc("run examples/fmnist_cnn.nn forward --random-init --batch 2 --seed 4");
  REQUIRE(a.status == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
}

TEST_CASE("usage errors and unknown stages fail cleanly") {
  auto none = run_netc("");
  CHECK(none.status == 2);
  auto stage = run_netc("dump examples/fmnist_mlp.nn --after fusoin");
  CHECK(stage.status == 1);
  CHECK(stage.out == "");
  CHECK(stage.err.find("unknown stage 'fusoin'") != std::string::npos);
  auto noaction = run_netc("run examples/fmnist_mlp.nn");
  CHECK(noaction.status == 2);
}

TEST_CASE("dump shows the kernels, the memory plan and each kernel's lowered Halide pipeline") {
  auto fusion = run_netc("dump examples/fmnist_mlp.nn --after fusion");
  CHECK(fusion.status == 0);
  CHECK(fusion.out.find("(epilogue)") != std::string::npos);
  CHECK(fusion.out.find("not fused") != std::string::npos); // refusals carry their reason
  auto mem = run_netc("dump examples/fmnist_mlp.nn --after memplan");
  CHECK(mem.status == 0);
  CHECK(mem.out.find("without reuse") != std::string::npos);
  CHECK(mem.out.find("in place") != std::string::npos);
  auto lower = run_netc("dump examples/transfer.nn --mode infer --after lower");
  CHECK(lower.status == 0);
  CHECK(lower.out.find("// ---- kernel infer_k0") != std::string::npos);
  CHECK(lower.out.find("for (") != std::string::npos);
}

TEST_CASE(
    "dump --after all says (unchanged) for a pass that did nothing - --after STAGE shows it") {
  // The multilabel model has neither dropout nor batch norm: specialization
  // leaves it as parsed, in both modes.
  auto all = run_netc("dump examples/multilabel.nn --mode infer --after all");
  REQUIRE(all.status == 0);
  CHECK(all.out.find("// ---- after specialize ----\n(unchanged)\n// ---- after cleanup ----\n") !=
        std::string::npos);
  CHECK(all.out.find("// ---- after parse ----\nmodel multilabel\n") != std::string::npos);
  // Named explicitly, the stage prints its graph, the parsed one.
  auto named = run_netc("dump examples/multilabel.nn --mode infer --after specialize");
  auto parsed = run_netc("dump examples/multilabel.nn --mode infer --after parse");
  REQUIRE(named.status == 0);
  CHECK(named.out.rfind("model multilabel\n", 0) == 0);
  CHECK(named.out == parsed.out);
  // A stage that changed the graph is printed in full (mobilenet: dropout,
  // batch norm, convs whose weights are prepacked, values stored
  // channels-last).
  auto mobilenet = run_netc("dump examples/mobilenet.nn --mode infer --after all");
  REQUIRE(mobilenet.status == 0);
  CHECK(mobilenet.out.find("(unchanged)") == std::string::npos);
  CHECK(mobilenet.out.find("(channels-last)") != std::string::npos);
}

TEST_CASE("run without --random-init runs the compiled binary's subcommand with the same flags") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto fwd = run_netc("run examples/transfer.nn forward --batch 2 --seed 5");
  CHECK(fwd.status == 0);
  CHECK(fwd.out.find("forward, batch 2") != std::string::npos);
  auto bad = run_netc("run examples/transfer.nn train --epochs 0");
  CHECK(bad.status == 2); // the binary's own usage error
}
