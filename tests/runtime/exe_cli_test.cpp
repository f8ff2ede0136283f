// The compiled model's command line (runtime/exe_cli.h), run in-process on
// the test model: what each subcommand prints, and exit statuses 2 for bad
// arguments and 1 for runtime errors.
#include "runtime/exe_cli.h"
#include "runtime/exe_commands.h"
#include "runtime/test_model.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

using namespace netc::rt;

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

Result run(std::vector<const char*> args,
           const std::string& plan_json = plan_to_json(test::make_plan()),
           const std::vector<KernelEntry>& table = test::kernel_table()) {
  args.insert(args.begin(), "/tmp/softmax_regression");
  std::ostringstream out, err;
  Result r;
  r.status = exe_main(static_cast<int>(args.size()), args.data(), plan_json.c_str(), table.data(),
                      out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

} // namespace

TEST_CASE("info: parameters, FLOPs, memory and the kernels of both programs") {
  Result r = run({"info"});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "model softmax_regression"));
  CHECK(contains(r.out, "trainable parameters      8"));
  // (2 + 12*4) + (10*4) + (12*4) + 17 = 155 FLOPs at the default batch 4
  CHECK(contains(r.out, "FLOPs per training step   155 FLOP at batch 4"));
  CHECK(contains(r.out, "FLOPs per inference       14 FLOP per example"));
  CHECK(contains(r.out, "max batch                 8 (default batch 4)"));
  CHECK(contains(r.out, "train_sgd"));
  CHECK(contains(r.out, "infer_transpose"));
  CHECK(contains(r.out, "without reuse"));
  MESSAGE(r.out);
}

TEST_CASE("bench: per-kernel medians, step time, and a JSON last line") {
  Result r = run({"bench", "--batch", "6", "--iters", "5", "--json", "--threads", "3"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "batch 6, 3 threads"));
  CHECK(contains(r.out, "train_grad"));
  CHECK(contains(r.out, "images/s"));
  CHECK(test::halide_threads() == 3);
  auto j = nlohmann::json::parse(lines(r.out).back());
  CHECK(j.at("batch") == 6);
  CHECK(j.at("step_ms").get<double>() > 0);
  CHECK(j.at("images_per_second").get<double>() > 0);
  CHECK(j.at("infer_ms").get<double>() > 0);
  CHECK(j.at("infer_images_per_second").get<double>() > 0);
  CHECK(j.at("train_kernels").size() == 4);
  CHECK(j.at("infer_kernels").size() == 2);
  MESSAGE(r.out);
}

TEST_CASE("forward: the outputs of inference on random inputs") {
  Result r = run({"forward", "--batch", "3", "--seed", "5"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "model softmax_regression: forward, batch 3, seed 5"));
  CHECK(contains(r.out, "output probs [3,2]"));
  CHECK(contains(r.out, "output xT [3,3]"));
  CHECK(lines(r.out).size() == 1 + 4 + 4);
  MESSAGE(r.out);
}

TEST_CASE("train: one loss per step, with the given learning rate") {
  Result r = run({"train", "--random-data", "--steps", "4", "--batch", "8", "--lr", "0.5"});
  REQUIRE(r.status == 0);
  std::vector<std::string> l = lines(r.out);
  REQUIRE(l.size() == 5);
  CHECK(contains(l[0], "training on random data, batch 8, seed 1"));
  CHECK(l[1].rfind("step     1  loss ", 0) == 0);
  CHECK(l[4].rfind("step     4  loss ", 0) == 0);
  MESSAGE(r.out);
}

TEST_CASE("train --random-data refuses the options of training on data") {
  for (std::vector<const char*> args : std::vector<std::vector<const char*>>{
           {"train", "--random-data", "--epochs", "3"},
           {"train", "--random-data", "--data", "fashion-mnist"},
           {"train", "--random-data", "--log", "/tmp/netc-never.jsonl"},
           {"train", "--random-data", "--report", "/tmp/netc-never"}}) {
    Result r = run(args);
    CHECK(r.status == 2);
    CHECK_MESSAGE(contains(r.err, "excludes --random-data"), r.err);
  }
}

TEST_CASE("bad arguments exit 2 with a message that names what is wrong") {
  struct Case {
    std::vector<const char*> args;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "A subcommand is required"},
           {{"fly"}, "The following argument was not expected: fly"},
           {{"bench", "--batch", "0"}, "--batch: Value 0 not in range"},
           {{"bench", "--iters", "many"}, "--iters"},
           {{"train", "--random-data", "--steps", "-1"}, "--steps: Value -1 not in range"},
           {{"train", "--lr", "0"}, "--lr: expects a positive number, found '0'"},
           {{"forward", "--batch", "9"}, "--batch 9 exceeds the compiled maximum of 8"},
           {{"bench", "--batch", "100"}, "--batch 100 exceeds the compiled maximum of 8"}}) {
    Result r = run(c.args);
    CHECK(r.status == 2);
    CHECK_MESSAGE(contains(r.err, c.message),
                  "expected \"" << std::string(c.message) << "\" in: " << r.err);
  }
  CHECK(run({"--help"}).status == 0);
}

TEST_CASE("runtime errors exit 1 with a message") {
  Result missing = run({"info"}, plan_to_json(test::make_plan()), test::kernel_table("infer_fwd"));
  CHECK(missing.status == 1);
  CHECK(contains(missing.err, "softmax_regression: the infer program calls kernel 'infer_fwd'"));
  Result corrupt = run({"info"}, "{\"model\": ");
  CHECK(corrupt.status == 1);
  CHECK(contains(corrupt.err, "malformed launch plan"));
  netc::rt::Plan failing = test::make_plan();
  failing.train.kernels[0].name = "train_fail";
  Result fail = run({"train", "--random-data", "--steps", "2"}, plan_to_json(failing));
  CHECK(fail.status == 1);
  CHECK(contains(fail.err, "kernel 'train_fail'"));
  CHECK(fail.out.find("step") == std::string::npos);
}

TEST_CASE("long op lists are summarized with counts") {
  CHECK(summarize_ops("matmul add relu") == "matmul add relu");
  std::string adam;
  for (int i = 0; i < 12; ++i) adam += "sub mul mul add div sqrt ";
  adam += "maximum";
  CHECK(summarize_ops(adam) == "sub x12 mul x24 add x12 div x12 sqrt x12 maximum");
  CHECK(summarize_ops(adam, 30) == "sub x12 mul x24 add x12 ...");
}
