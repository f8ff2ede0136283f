// The bar, end to end: examples/fmnist_mlp.nn compiled and trained
// with its train block's defaults (10 epochs, Adam 1e-3, batch 128) reaches at
// least 88% test accuracy on Fashion-MNIST, logs one JSON line per epoch, and
// `eval` of the saved checkpoint agrees. Skipped where the dataset is absent.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace netc::test;

TEST_CASE("fmnist_mlp trains to at least 88% test accuracy and eval of its checkpoint agrees") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST is not installed (package dataset-fashion-mnist): skipped");
    return;
  }
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string exe = (scratch_dir() / "fmnist_mlp").string();
  auto c = run_netc("compile examples/fmnist_mlp.nn -o '" + exe + "'");
  REQUIRE_MESSAGE(c.status == 0, c.out, c.err);
  std::string log = (scratch_dir() / "mlp.jsonl").string(),
              ckpt = (scratch_dir() / "mlp.st").string();
  std::string out = (scratch_dir() / "train.out").string();
  int status = std::system(("'" + exe + "' train --log '" + log + "' --save '" + ckpt + "' >'" +
                            out + "' 2>&1 </dev/null")
                               .c_str());
  REQUIRE_MESSAGE(status == 0, read_file(out));
  std::istringstream lines(read_file(log));
  std::vector<nlohmann::json> j;
  for (std::string line; std::getline(lines, line);) j.push_back(nlohmann::json::parse(line));
  REQUIRE(j.size() == 11);
  CHECK(j.back().at("final") == true);
  double accuracy = j.back().at("test_accuracy").get<double>();
  CHECK(accuracy >= 0.88);
  MESSAGE(read_file(out));
  std::string eval_out = (scratch_dir() / "eval.out").string();
  REQUIRE(std::system(
              ("'" + exe + "' eval --weights '" + ckpt + "' >'" + eval_out + "' 2>&1").c_str()) ==
          0);
  CHECK(read_file(eval_out).find(fmt::format("accuracy  {:.2f}%", 100 * accuracy)) !=
        std::string::npos);
}
