// A model written with blocks, through the command line: it compiles, its
// binary trains, gradcheck passes, `netc dump` shows the graph of the same
// model written out, and an error inside a block prints its note.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <regex>

using namespace netc::test;

namespace {

// Small enough to compile quickly: a conv block called twice (once with an
// explicit prefix) and a dense block with a default.
const char* const kBlocks = R"(input x : f32[batch, 1, 6, 6]
label y : class(3)[batch]

def unit(x, c, k=3) {
  h = relu(conv2d(x, c, kernel=k, pad=1))
  return h + x
}

def head(h, n, hidden=8) {
  return dense(relu(dense(h, hidden)), n)
}

h = conv2d(x, 2, kernel=3, pad=1)
h = unit(h, 2)
h = unit(h, 2, name="stage2.block1")
logits = head(flatten(h), 3)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  batch = 4
}
)";

const char* const kWrittenOut = R"(input x : f32[batch, 1, 6, 6]
label y : class(3)[batch]
h = conv2d(x, 2, kernel=3, pad=1)
h = relu(conv2d(h, 2, kernel=3, pad=1)) + h
h = relu(conv2d(h, 2, kernel=3, pad=1)) + h
logits = dense(relu(dense(flatten(h), 8)), 3)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  batch = 4
}
)";

std::string model_file(const std::string& name, const char* text) {
  auto path = scratch_dir() / name;
  write_file(path, text);
  return path.string();
}

// `netc dump --after parse` without locations, the source line, and the
// names of layers and their leaves (which the blocks prefix).
std::string parse_dump(const std::string& path) {
  auto r = run_netc("dump '" + path + "' --after parse");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::string text = std::regex_replace(r.out, std::regex(" @[0-9]+:[0-9]+"), "");
  text = std::regex_replace(text, std::regex(R"((layer|name)="[^"]*"(, )?)"), "");
  return std::regex_replace(text, std::regex("(source|model) [^\n]*\n"), "");
}

} // namespace

TEST_CASE("blocks: check lists each call's parameters, and dump equals the model written out") {
  std::string blocks = model_file("blocks.nn", kBlocks);
  auto check = run_netc("check '" + blocks + "'");
  REQUIRE_MESSAGE(check.status == 0, check.err);
  for (const char* name :
       {"unit1.conv1.W", "stage2.block1.conv1.W", "head1.dense1.W [72,8]", "head1.dense2.W [8,3]"})
    CHECK_MESSAGE(check.out.find(name) != std::string::npos, name, check.out);
  std::string with_blocks = parse_dump(blocks);
  CHECK(with_blocks.find("conv2d(") != std::string::npos);
  CHECK(with_blocks == parse_dump(model_file("written_out.nn", kWrittenOut)));
}

TEST_CASE("blocks: a model with blocks compiles, trains and passes gradcheck") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  std::string model = model_file("blocks.nn", kBlocks);
  std::string exe = (scratch_dir() / "blocks").string();
  auto c = run_netc("compile '" + model + "' -o '" + exe + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  auto out = scratch_dir() / "train.out";
  int raw = std::system(
      ("'" + exe + "' train --random-data --steps 3 >'" + out.string() + "' 2>&1 </dev/null")
          .c_str());
  std::string trained = read_file(out);
  CHECK_MESSAGE(WIFEXITED(raw), trained);
  CHECK_MESSAGE(WEXITSTATUS(raw) == 0, trained);
  CHECK_MESSAGE(trained.find("step     3  loss") != std::string::npos, trained);
  auto g = run_netc("gradcheck '" + model + "' --batch 2 --samples 6");
  CHECK_MESSAGE(g.status == 0, g.out, g.err);
  CHECK_MESSAGE(g.out.find("stage2.block1.conv1.W") != std::string::npos, g.out);
  CHECK_MESSAGE(g.out.find("parameters pass") != std::string::npos, g.out);
}

TEST_CASE("blocks: an error inside a block prints the error, then a note at the call") {
  std::string bad = model_file("bad_block.nn", "input x : f32[batch, 4]\n"
                                               "def two(h, units) {\n"
                                               "  return dense(h, units)\n"
                                               "}\n"
                                               "output y = two(x, 0)\n");
  auto r = run_netc("check '" + bad + "'");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.err.find(bad + ":3:19: error: dense: 'units' must be at least 1, found 0\n" +
                           bad + ":5:12: note: in call to 'two' here") != std::string::npos,
                r.err);
}
