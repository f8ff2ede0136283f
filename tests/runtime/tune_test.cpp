// `OUT tune --trials N`: random search on log scales, trials ranked by val
// loss, the best configuration saved as JSON; run in-process on the test model.
#include "cli_test_util.h"
#include "runtime/tune.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace netc::rt;
using namespace netc::rt::test::cli;

namespace {

struct Row {
  int rank = 0, trial = 0;
  double val_loss = 0, lr = 0;
};

// The rows of the ranked table (after its header).
std::vector<Row> table(const std::string& out) {
  std::istringstream in(out.substr(out.find("ranked by val loss")));
  std::string line;
  std::getline(in, line); // the title
  std::getline(in, line); // the header
  REQUIRE(contains(line, "val loss"));
  REQUIRE(contains(line, "lr"));
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    Row row;
    std::string loss, acc;
    if (!(cells >> row.rank >> row.trial >> loss >> acc >> row.lr)) break;
    row.val_loss = loss == "diverged" ? 1e300 : std::stod(loss);
    rows.push_back(row);
  }
  return rows;
}

} // namespace

TEST_CASE("tune runs N trials, ranks them by val loss and saves the best as JSON") {
  Fixture f;
  std::string config = f.dir / "best.json";
  Result r = run({"tune", "--data", f.data, "--trials", "6", "--epochs", "2", "--seed", "7",
                  "--save-config", config});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  MESSAGE(r.out);
  CHECK(contains(r.out, "6 trials of 2 epochs"));
  CHECK(count(r.out, "\ntrial ") == 6);
  std::vector<Row> rows = table(r.out);
  REQUIRE(rows.size() == 6);
  std::vector<bool> seen(7, false);
  for (size_t k = 0; k < rows.size(); ++k) {
    CHECK(rows[k].rank == static_cast<int>(k + 1));
    CHECK(rows[k].lr >= 1e-4);
    CHECK(rows[k].lr <= 1);
    if (k > 0) CHECK(rows[k - 1].val_loss <= rows[k].val_loss);
    REQUIRE(rows[k].trial >= 1);
    REQUIRE(rows[k].trial <= 6);
    seen[static_cast<size_t>(rows[k].trial)] = true;
  }
  for (int t = 1; t <= 6; ++t) CHECK(seen[static_cast<size_t>(t)]);
  // The sampled rate reaches the training: the trials differ.
  CHECK(rows.front().val_loss < rows.back().val_loss);
  nlohmann::json j = nlohmann::json::parse(slurp(config));
  CHECK(j.at("trial") == rows[0].trial);
  CHECK(j.at("val_loss").get<double>() == doctest::Approx(rows[0].val_loss).epsilon(1e-3));
  double lr = j.at("hypers").at("lr").get<double>();
  CHECK(lr == doctest::Approx(rows[0].lr).epsilon(1e-3));
  // The same seed gives the same search.
  Result again = run({"tune", "--data", f.data, "--trials", "6", "--epochs", "2", "--seed", "7"});
  REQUIRE(again.status == 0);
  std::vector<Row> same = table(again.out);
  REQUIRE(same.size() == rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    CHECK(same[k].trial == rows[k].trial);
    CHECK(same[k].lr == rows[k].lr);
    CHECK(same[k].val_loss == rows[k].val_loss);
  }
}

TEST_CASE("the sampled hypers lie in their log-scale ranges") {
  Plan plan = netc::rt::test::make_plan();
  plan.hypers = {{"lr", 0, 0.1},         {"beta1", 0, 0.9},    {"beta2", 0, 0.999},
                 {"l2.lambda", 0, 0.01}, {"fc1.keep", 0, 0.8}, {"eps", 0, 1e-8}};
  uint64_t rng = 1;
  int low_lr = 0;
  for (int i = 0; i < 2000; ++i) {
    auto v = sample_hypers(plan, rng);
    CHECK(v.count("eps") == 0); // not searched
    REQUIRE(v.size() == 5);
    CHECK(v["lr"] >= 1e-4);
    CHECK(v["lr"] <= 1);
    low_lr += v["lr"] < 1e-3;
    CHECK(v["beta1"] >= 0.9);
    CHECK(v["beta1"] <= 0.999);
    CHECK(v["beta2"] >= 0.99);
    CHECK(v["beta2"] <= 0.9999);
    CHECK(v["l2.lambda"] >= 1e-4);
    CHECK(v["l2.lambda"] <= 1);
    CHECK(v["fc1.keep"] >= 0.5);
    CHECK(v["fc1.keep"] <= 1);
  }
  // Log scale: a quarter of the draws fall in [1e-4, 1e-3] (a uniform scale
  // would put 0.1% there).
  CHECK(low_lr > 400);
  CHECK(low_lr < 600);
}

TEST_CASE("tune: --trials is required") {
  Fixture f;
  CHECK(run({"tune", "--data", f.data}).status == 2);
}
