// Bad models through the real binary: a located message on stderr, nothing on
// stdout, exit status 1, and never a crash or a hang (run_netc has a timeout,
// and a signal shows up as a status above 128). The exact positions and
// wording of each case are tested at the frontend level.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <regex>
#include <sys/stat.h>

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

TEST_CASE("a FIFO, a device or a directory given as the model is refused at once") {
  // A FIFO with no writer used to block `netc check` forever (run_netc's
  // timeout would report it as status 124).
  auto fifo = scratch_dir() / "model.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto r = run_netc("check '" + fifo.string() + "'");
  CHECK(r.status == 1);
  CHECK(r.out == "");
  CHECK_MESSAGE(r.err.find(fifo.string() + ": error: cannot read the model file: it is a FIFO "
                                           "(named pipe), not a regular file") != std::string::npos,
                r.err);
  r = run_netc("check /dev/zero");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.err.find("it is a character device, not a regular file") != std::string::npos,
                r.err);
  r = run_netc("compile '" + scratch_dir().string() + "' -o '" + (scratch_dir() / "o").string() +
               "'");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.err.find("it is a directory, not a regular file") != std::string::npos, r.err);
}

TEST_CASE("a model too large for memory or for 32-bit kernels names its size and its line") {
  // `netc run` used to end in the bare text "std::bad_alloc"; `netc compile`
  // produced a binary that refused its own plan at run time.
  auto path = scratch_dir() / "big.nn";
  write_file(path, "model big\ninput x : f32[batch, 100000]\nlabel y : class(10)[batch]\n"
                   "h = dense(x, 1000000)\nlogits = dense(h, 10)\n"
                   "loss softmax_cross_entropy(logits, y)\n");
  auto r = run_netc("run '" + path.string() + "' forward --random-init");
  expect_located_error(r, "big.nn",
                       "big.nn:4:5: error: dense1.W f32[100000,1000000] needs 745.1 GiB");
  CHECK(r.err.find("bad_alloc") == std::string::npos);
  r = run_netc("compile '" + path.string() + "' -o '" + (scratch_dir() / "big").string() + "'");
  expect_located_error(r, "big.nn",
                       "big.nn:4:5: error: dense1.W f32[100000,1000000] has 100000000000 elements "
                       "at batch 256, more than the 2147483647 a tensor can have");
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
