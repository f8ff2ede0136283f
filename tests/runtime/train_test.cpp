// `OUT train` / `eval` / `predict` on real (small, written here) data, run
// in-process on the test model (softmax regression, 3 features, 2 classes):
// the log format, resume equivalence, atomic saving, early stopping, and the
// bad-input cases of issue 5.
#include "cli_test_util.h"
#include "data_test_util.h"
#include "runtime/checkpoint.h"
#include "runtime/exe_cli.h"
#include "runtime/test_model.h"
#include "runtime/train/model_io.h"

#include <cmath>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

using namespace netc::rt;

namespace {

using namespace netc::rt::test::cli;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<nlohmann::json> json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

} // namespace

TEST_CASE("train: one JSON line per epoch, then the final test metrics") {
  Fixture f;
  Result r =
      run({"train", "--data", f.data, "--epochs", "3", "--lr", "0.5", "--log", f.dir / "m.jsonl"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(contains(r.out, "120 train / 40 val / 40 test"));
  CHECK(contains(r.out, "test loss"));
  auto lines = json_lines(f.dir / "m.jsonl");
  REQUIRE(lines.size() == 4);
  for (int e = 0; e < 3; ++e) {
    const auto& j = lines[static_cast<size_t>(e)];
    CHECK(j.at("epoch") == e + 1);
    for (const char* key : {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                            "seconds", "images_per_second"})
      CHECK_MESSAGE(j.at(key).is_number(), key);
    CHECK(j.at("lr").get<double>() == doctest::Approx(0.5));
  }
  CHECK(lines[3].at("final") == true);
  CHECK(lines[3].at("test_loss").is_number());
  CHECK(lines[3].at("test_accuracy").get<double>() > 0.8); // the task is learnable
  MESSAGE(r.out);
}

TEST_CASE("resume: k epochs + save + resume + the rest give bitwise the same checkpoint") {
  Fixture f;
  std::string a = f.dir / "a.st", b = f.dir / "b.st";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "4", "--lr", "0.3", "--save", a}).status ==
          0);
  REQUIRE(run({"train", "--data", f.data, "--epochs", "1", "--lr", "0.3", "--save", b}).status ==
          0);
  CHECK(slurp(a) != slurp(b));
  Result r = run({"train", "--epochs", "4", "--resume", b, "--save", b});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(contains(r.out, "resumed after epoch 1"));
  SafetensorsFile x = read_safetensors(a), y = read_safetensors(b);
  for (const char* name : {"W", "b", "step"}) {
    REQUIRE(x.find(name));
    REQUIRE(y.find(name));
    CHECK_MESSAGE(x.find(name)->data == y.find(name)->data, name);
  }
  CHECK(slurp(a) == slurp(b)); // every tensor and the metadata
  CHECK(x.metadata.at("netc.fingerprint") == "0123456789abcdef");
  CHECK(x.metadata.at("netc.epoch") == "4");
}

TEST_CASE("save: a failing write (full disk) leaves the previous checkpoint intact") {
  Fixture f;
  std::string a = f.dir / "a.st";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "1", "--save", a}).status == 0);
  std::string before = slurp(a);
  ::setenv("NETC_CHECKPOINT_FAIL_AFTER", "100", 1);
  Result r = run({"train", "--data", f.data, "--epochs", "2", "--lr", "0.7", "--save", a});
  ::unsetenv("NETC_CHECKPOINT_FAIL_AFTER");
  CHECK(r.status == 1);
  CHECK(contains(r.err, "cannot save the checkpoint"));
  CHECK(contains(r.err, "No space left on device"));
  CHECK(slurp(a) == before);
  int files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(f.dir.str())) ++files;
  CHECK(files == 2); // d.csv and a.st: no temporary file left behind
  CHECK(run({"eval", "--weights", a}).status == 0);
}

TEST_CASE("early stopping restores the weights of the best epoch") {
  Fixture f(true);
  std::string a = f.dir / "a.st", b = f.dir / "b.st";
  Plan plan = training_plan(true);
  Result r = run({"train", "--data", f.data, "--epochs", "40", "--lr", "3", "--save", a, "--log",
                  f.dir / "m.jsonl"},
                 plan);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  REQUIRE_MESSAGE(contains(r.out, "early stopping"), r.out);
  auto lines = json_lines(f.dir / "m.jsonl");
  size_t best = 0;
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    if (lines[i].at("val_loss").get<double>() < lines[best].at("val_loss").get<double>()) best = i;
  CHECK(best + 1 < lines.size() - 1); // it stopped after the best epoch
  // The same run cut at the best epoch ends with the same weights.
  REQUIRE(run({"train", "--data", f.data, "--epochs", std::to_string(best + 1), "--lr", "3",
               "--save", b},
              plan)
              .status == 0);
  SafetensorsFile x = read_safetensors(a), y = read_safetensors(b);
  CHECK(x.find("W")->data == y.find("W")->data);
  CHECK(x.find("b")->data == y.find("b")->data);
  MESSAGE(r.out);
}

TEST_CASE("eval and predict use the checkpoint's weights and normalization") {
  Fixture f;
  std::string a = f.dir / "a.st";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "3", "--lr", "0.5", "--save", a}).status ==
          0);
  Result e = run({"eval", "--weights", a, "--errors", "3"});
  REQUIRE_MESSAGE(e.status == 0, e.err);
  CHECK(contains(e.out, "40 examples (the test split"));
  CHECK(contains(e.out, "confusion matrix"));
  CHECK(contains(e.out, "per-class error"));
  CHECK(contains(e.out, "false positives"));
  test::write_file(f.dir / "in.csv", "1,1,5\n-1,-1,5\n");
  Result p = run({"predict", "--weights", a, "--input", f.dir / "in.csv"});
  REQUIRE_MESSAGE(p.status == 0, p.err);
  CHECK(contains(p.out, "row,class,confidence\n0,1,"));
  CHECK(contains(p.out, "\n1,0,"));
  MESSAGE(e.out);
}

TEST_CASE("bad input: a clear message, exit 1, and the checkpoint untouched") {
  Fixture f;
  std::string a = f.dir / "a.st";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "1", "--save", a}).status == 0);
  std::string good = slurp(a);
  auto fails = [&](std::vector<std::string> args, const std::string& message,
                   const Plan& plan = training_plan()) {
    Result r = run(args, plan);
    CHECK_MESSAGE(r.status == 1, r.out, r.err);
    CHECK_MESSAGE(contains(r.err, message), r.err);
    CHECK(slurp(a) == good);
  };
  fails({"train", "--data", "csv:" + f.dir / "missing.csv", "--save", a}, "missing.csv");
  test::write_file(f.dir / "cols.csv", "1,2,3,0\n1,2,0\n");
  fails({"train", "--data", "csv:" + f.dir / "cols.csv", "--save", a}, "cols.csv");
  test::write_file(f.dir / "labels.csv", "1,2,3,0\n1,2,3,7\n1,2,3,1\n");
  fails({"train", "--data", "csv:" + f.dir / "labels.csv", "--save", a},
        "label 7 at row 1 (line 2) of " + f.dir / "labels.csv" +
            " is outside the 2 classes of the model's label y (0..1)");
  std::string idx = test::idx_bytes({4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  test::write_file(f.dir / "x.idx", idx.substr(0, idx.size() - 5));
  test::write_file(f.dir / "y.idx", test::idx_bytes({4}, {0, 1, 0, 1}));
  fails({"train", "--data", "idx:" + f.dir / "x.idx" + "," + f.dir / "y.idx", "--save", a},
        "x.idx");

  std::string truncated = f.dir / "truncated.st";
  test::write_file(truncated, good.substr(0, good.size() / 2));
  fails({"train", "--resume", truncated, "--save", a}, "truncated");
  fails({"eval", "--weights", truncated}, "truncated");
  test::write_file(truncated, good.substr(0, 5));
  fails({"eval", "--weights", truncated}, "truncated");
  std::string flipped = f.dir / "flipped.st";
  for (size_t at : {size_t{20}, good.size() - 3}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    test::write_file(flipped, bad);
    fails({"train", "--resume", flipped, "--save", a}, "corrupted");
    fails({"eval", "--weights", flipped}, "corrupted");
  }
  fails({"eval", "--weights", f.dir / "nothing.st"}, "nothing.st: no such file");
  Plan other = training_plan();
  other.fingerprint = "fedcba9876543210";
  other.model = "other_model";
  fails({"train", "--resume", a, "--save", a}, "belongs to another model", other);
  fails({"eval", "--weights", a}, "fingerprint is 0123456789abcdef (model 'softmax_regression')",
        other);
}

TEST_CASE("a non-finite loss stops training, names the step, and keeps the checkpoint") {
  Fixture f;
  std::string a = f.dir / "a.st";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "1", "--save", a}).status == 0);
  std::string good = slurp(a);
  test::write_file(f.dir / "big.csv", "1e30,1e30,1e30,0\n-1e30,1e30,-1e30,1\n1e30,-1e30,1e30,1\n"
                                      "2e30,1e30,1e30,0\n-1e30,3e30,-1e30,1\n");
  Plan plan = training_plan();
  plan.config.normalize = "none";
  Result r =
      run({"train", "--data", "csv:" + f.dir / "big.csv", "--lr", "1e30", "--save", a}, plan);
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "training stopped: "), r.err);
  CHECK((contains(r.err, "at step") || contains(r.err, "after step")));
  CHECK(slurp(a) == good);
  MESSAGE(r.err);
}

TEST_CASE("labels are checked against the label's declared class count, not an output's width") {
  // A model whose first output is not its class scores: its width (5 here) said
  // nothing about the labels, and labels up to 4 reached a 2-wide loss kernel.
  Plan plan = training_plan();
  int wide = static_cast<int>(plan.slots.size());
  plan.slots.push_back({"%30 matmul", {kBatchDim, 5}, ElemType::f32, Region::arena, 0});
  plan.infer.outputs.insert(plan.infer.outputs.begin(), {"embedding", wide});
  CHECK(model_data_layout(plan).labels.at(0).classes == 2);
  Fixture f;
  test::write_file(f.dir / "labels.csv", "1,2,3,0\n1,2,3,1\n1,2,3,4\n");
  Result r = run({"train", "--data", "csv:" + f.dir / "labels.csv"}, plan);
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "label 4 at row 2 (line 3) of " + f.dir / "labels.csv" +
                                    " is outside the 2 classes of the model's label y (0..1)"),
                r.err);
  // Labels that declare no count (IR from elsewhere) fall back to the guess.
  plan.train.inputs.at(1).num_classes = 0;
  CHECK(model_data_layout(plan).labels.at(0).classes == 5);
}

TEST_CASE("a train block without split trains on CSV with 0.8 / 0.1 / 0.1, and says so") {
  Fixture f; // 200 rows, no test set of their own
  Plan plan = training_plan();
  plan.config.split.reset();
  std::string a = f.dir / "a.st";
  Result r = run({"train", "--data", f.data, "--epochs", "1", "--save", a}, plan);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(contains(r.out, "(160 train / 20 val / 20 test)"));
  CHECK(contains(r.out, "\nsplit 0.8 / 0.1 / 0.1 (the default for data without a test set of its "
                        "own; set split in the train block to choose another)\n"));
  // eval finds the same test split.
  Result e = run({"eval", "--weights", a}, plan);
  REQUIRE_MESSAGE(e.status == 0, e.err);
  CHECK(contains(e.out, "20 examples (the test split"));
  // An explicit split is used as before, and named.
  Result given = run({"train", "--data", f.data, "--epochs", "1"});
  REQUIRE_MESSAGE(given.status == 0, given.err);
  CHECK(contains(given.out, "(120 train / 40 val / 40 test)"));
  CHECK(contains(given.out, "\nsplit 0.6 / 0.2 / 0.2\n"));
  MESSAGE(r.out);
}

TEST_CASE("train --random-data --save writes a checkpoint that eval and --resume accept") {
  Fixture f;
  const test::TempDir& dir = f.dir;
  std::string straight = dir / "straight.st", part = dir / "part.st";
  Result r = run({"train", "--random-data", "--steps", "4", "--batch", "8", "--lr", "0.5", "--save",
                  straight});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(contains(r.out, "saved " + straight));
  SafetensorsFile saved = read_safetensors(straight);
  CHECK(saved.find("W"));
  CHECK(saved.metadata.at("netc.data") == "random");
  CHECK(saved.metadata.at("netc.step") == "4");
  CHECK(saved.metadata.at("netc.normalize") == "none");

  // 2 steps, save, resume to 4: the same checkpoint, the same losses.
  REQUIRE(
      run({"train", "--random-data", "--steps", "2", "--batch", "8", "--lr", "0.5", "--save", part})
          .status == 0);
  Result resumed =
      run({"train", "--random-data", "--steps", "4", "--resume", part, "--save", part});
  REQUIRE_MESSAGE(resumed.status == 0, resumed.err);
  std::vector<std::string> l = lines_of(resumed.out);
  REQUIRE(l.size() == 4);
  CHECK(contains(l[0], "training on random data, batch 8, seed 1, resumed after step 2"));
  CHECK(l[1] == lines_of(r.out)[3]); // step 3
  CHECK(l[2] == lines_of(r.out)[4]); // step 4
  SafetensorsFile g = read_safetensors(part);
  for (const char* name : {"W", "b", "step", "lr"})
    CHECK_MESSAGE(g.find(name)->data == saved.find(name)->data, name);
  CHECK(g.metadata == saved.metadata);

  // eval takes the weights, on data given explicitly: the run had none.
  test::write_file(dir / "d.csv", "0.5,1,2,1\n-1,0,2,0\n2,1,-1,1\n");
  Result e = run({"eval", "--weights", straight, "--data", "csv:" + dir / "d.csv"});
  REQUIRE_MESSAGE(e.status == 0, e.err);
  CHECK(contains(e.out, "3 examples (every example of csv:"));
  Result no_data = run({"eval", "--weights", straight});
  CHECK(no_data.status == 1);
  CHECK(contains(no_data.err, "was trained on random data (train --random-data), so it names no "
                              "data to evaluate on; pass --data SPEC"));
  // Real training does not continue a random run, nor random training a real one.
  Result real = run({"train", "--resume", straight, "--data", "csv:" + dir / "d.csv"});
  CHECK(real.status == 1);
  CHECK(contains(real.err, "holds a run on random data (train --random-data); continue it with "
                           "train --random-data --resume"));
  std::string on_data = dir / "data.st";
  REQUIRE(run({"train", "--data", f.data, "--epochs", "1", "--save", on_data}).status == 0);
  Result other = run({"train", "--random-data", "--resume", on_data});
  CHECK(other.status == 1);
  CHECK(contains(other.err, "holds a run on " + f.data + ", not on random data"));
}

TEST_CASE("cosine decay: the logged rate of each epoch is the schedule's at its last step") {
  Fixture f;
  Plan plan = training_plan();
  plan.config.lr_decay.kind = "cosine";
  plan.config.lr_decay.warmup = 1;
  plan.config.lr_decay.min_lr = 0.01;
  Result r =
      run({"train", "--data", f.data, "--epochs", "4", "--lr", "0.5", "--log", f.dir / "m.jsonl"},
          plan);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  auto lines = json_lines(f.dir / "m.jsonl");
  REQUIRE(lines.size() == 5);
  // 120 training rows at batch 4: 30 steps an epoch, 120 in the run, the first 30 warming up.
  const double pi = std::acos(-1.0);
  auto at = [&](int t) {
    return t <= 30 ? 0.5 * t / 30 : 0.01 + 0.49 * 0.5 * (1 + std::cos(pi * (t - 31) / 90.0));
  };
  for (int e = 1; e <= 4; ++e)
    CHECK(lines[static_cast<size_t>(e - 1)].at("lr").get<double>() ==
          doctest::Approx(at(30 * e)).epsilon(1e-9));
  CHECK(lines[3].at("lr").get<double>() > 0.01);
  CHECK(lines[4].at("test_accuracy").get<double>() > 0.8);
}
