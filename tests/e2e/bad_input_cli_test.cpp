// Bad models through the real binary: a located message on stderr, nothing on
// stdout, exit status 1, and never a crash or a hang (run_netc has a timeout,
// and a signal shows up as a status above 128). The exact positions and
// wording of each case are tested at the frontend level.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <regex>

using namespace netc::test;

namespace {

CommandResult check_source(const std::string& name, const std::string& text) {
  auto path = scratch_dir() / name;
  write_file(path, text);
  return run_netc("check '" + path.string() + "'");
}

void expect_located_error(const CommandResult& r, const std::string& file,
                          const std::string& what) {
  CHECK(r.status == 1);
  CHECK(r.out == "");
  std::regex located("^[^\\n]*" + file + ":[0-9]+:[0-9]+: error: .+");
  CHECK_MESSAGE(std::regex_search(r.err, located), r.err);
  CHECK_MESSAGE(r.err.find(what) != std::string::npos, r.err);
}

const std::string kHeader = "model m\ninput x : f32[batch, 4]\n";

} // namespace

TEST_CASE("syntax, names, arity and shapes are located errors") {
  expect_located_error(check_source("syntax.nn", kHeader + "h = relu(x\noutput h\n"), "syntax.nn",
                       "expected");
  expect_located_error(check_source("unknown.nn", kHeader + "output h = rleu(x)\n"), "unknown.nn",
                       "relu");
  expect_located_error(check_source("arity.nn", kHeader + "output h = relu(x, x)\n"), "arity.nn",
                       "relu");
  expect_located_error(
      check_source("shape.nn", kHeader + "input z : f32[batch, 5]\noutput h = x + z\n"), "shape.nn",
      "[batch,4]");
  expect_located_error(check_source("undefined.nn", kHeader + "output h = relu(y)\n"),
                       "undefined.nn", "'y'");
  expect_located_error(check_source("keep.nn", kHeader + "output h = dropout(x, keep=1.5)\n"),
                       "keep.nn", "keep");
  expect_located_error(
      check_source("lr.nn",
                   kHeader + "output h = relu(x)\ntrain {\n  optimizer = adam(lr=-0.1)\n}\n"),
      "lr.nn", "-0.1");
  expect_located_error(
      check_source("trainkey.nn", kHeader + "output h = relu(x)\ntrain {\n  epoch = 3\n}\n"),
      "trainkey.nn", "epochs");
  expect_located_error(
      check_source("overflow.nn",
                   "input x : f32[100000000000, 100000000000]\noutput h = relu(x)\n"),
      "overflow.nn", "too many elements");
}

TEST_CASE("empty files, binary garbage and deep nesting fail cleanly") {
  expect_located_error(check_source("empty.nn", ""), "empty.nn", "");
  std::string garbage = "model m\n";
  for (int i = 0; i < 256; ++i) garbage += static_cast<char>((i * 37) & 0xff);
  expect_located_error(check_source("garbage.nn", garbage), "garbage.nn", "not a text file");
  std::string deep =
      kHeader + "output h = " + std::string(100000, '(') + "x" + std::string(100000, ')') + "\n";
  expect_located_error(check_source("deep.nn", deep), "deep.nn", "nesting");
  std::string calls = kHeader + "output h = ";
  for (int i = 0; i < 100000; ++i) calls += "relu(";
  calls += "x" + std::string(100000, ')') + "\n";
  expect_located_error(check_source("deepcalls.nn", calls), "deepcalls.nn", "nesting");
}

TEST_CASE("a missing model file is named") {
  auto r = run_netc("check no/such/model.nn");
  CHECK(r.status == 1);
  CHECK(r.out == "");
  CHECK(r.err.find("no/such/model.nn") != std::string::npos);
}

TEST_CASE("a class count other than the logits width fails check and compile at the loss") {
  auto path = scratch_dir() / "classes.nn";
  write_file(path, kHeader + "label y : class(10)[batch]\nlogits = dense(x, 7)\n"
                             "output p = softmax(logits)\nloss softmax_cross_entropy(logits, y)\n");
  const std::string what = "classes.nn:6:6: error: softmax_cross_entropy: the logits have 7 "
                           "classes (f32[batch,7]), but label 'y' is declared class(10) (line 3)";
  CommandResult check = run_netc("check '" + path.string() + "'");
  expect_located_error(check, "classes.nn", what);
  auto out = scratch_dir() / "classes_out";
  CommandResult compile = run_netc("compile '" + path.string() + "' -o '" + out.string() + "'");
  CHECK(compile.status == 1);
  CHECK_MESSAGE(compile.err.find(what) != std::string::npos, compile.err);
  CHECK_FALSE(std::filesystem::exists(out));
}
