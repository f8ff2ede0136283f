// Helpers of the tests that run a compiled binary's CLI in-process on the test
// model (softmax regression, 3 features, 2 classes) with small CSV data, as
// train_test.cpp does: report_test.cpp and tune_test.cpp.
#pragma once

#include "data_test_util.h"
#include "runtime/exe_cli.h"
#include "runtime/test_model.h"

#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace netc::rt::test::cli {

struct Result {
  int status = -1;
  std::string out, err;
};

inline Plan training_plan(bool early_stop = false) {
  Plan p = make_plan();
  p.config.split = SplitConfig{true, {0.6, 0.2, 0.2}, false};
  p.config.epochs = 3;
  p.config.normalize = "per_feature";
  if (early_stop) p.config.early_stop = {true, 2, "val_loss"};
  return p;
}

inline Result run(std::vector<std::string> args, const Plan& plan = training_plan()) {
  args.insert(args.begin(), "/tmp/softmax_regression");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::string json = plan_to_json(plan);
  std::vector<KernelEntry> table = kernel_table();
  std::ostringstream out, err;
  Result r;
  r.status =
      exe_main(static_cast<int>(argv.size()), argv.data(), json.c_str(), table.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Rows "x0,x1,x2,label" with a learnable label (x0 + x1 > 0), optionally with
// label noise so that a long run overfits.
inline std::string csv_data(int rows = 200, bool noisy = false) {
  std::string text = "a,b,c,y\n";
  uint32_t s = 12345;
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    return static_cast<double>(s >> 8) / 16777216.0 * 2 - 1;
  };
  for (int i = 0; i < rows; ++i) {
    double a = next(), b = next(), c = next() * 3 + 5;
    int y = a + b > 0;
    if (noisy && next() > 0.4) y = 1 - y;
    text += fmt::format("{:.6f},{:.6f},{:.6f},{}\n", a, b, c, y);
  }
  return text;
}

struct Fixture {
  TempDir dir;
  std::string data;
  explicit Fixture(bool noisy = false) {
    write_file(dir / "d.csv", csv_data(200, noisy));
    data = "csv:" + dir / "d.csv";
  }
};

} // namespace netc::rt::test::cli
