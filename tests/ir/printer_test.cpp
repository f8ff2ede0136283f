#include "ir/printer.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <limits>
#include <random>

using namespace netc;

namespace {

using Ints = std::vector<int64_t>;

// The SPEC's MLP, cut down: dense -> relu -> dense, softmax output and a
// cross-entropy loss with an L2 term.
Graph small_mlp() {
  Graph g;
  g.name = "fmnist_mlp";
  g.source_file = "examples/fmnist_mlp.nn";
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Input, {DType::f32, Shape{kBatch, 1, 28, 28}},
                     {{"name", "x"}, {"role", "data"}}, {5, 1});
  ValueId y = b.leaf(OpKind::Input, {DType::i64, Shape{kBatch}}, {{"name", "y"}, {"role", "label"}},
                     {6, 1});
  ValueId h = b.op(OpKind::Reshape, {x}, {{"shape", Ints{kBatch, 784}}}, {8, 5});
  ValueId w = b.leaf(OpKind::Param, {DType::f32, Shape{784, 10}},
                     {{"name", "dense1.W"},
                      {"init", "he"},
                      {"fan_in", 784},
                      {"fan_out", 10},
                      {"frozen", 0},
                      {"layer", "dense1"},
                      {"regularize", 1}},
                     {9, 5});
  ValueId logits = b.op(OpKind::MatMul, {h, w}, {{"layer", "dense1"}}, {9, 5});
  ValueId probs = b.op(OpKind::Softmax, {logits}, {{"axis", 1}}, {11, 16});
  ValueId ce = b.op(OpKind::SoftmaxCrossEntropy, {logits, y}, {}, {12, 6});
  ValueId sq = b.op(OpKind::Mul, {w, w});
  ValueId ss = b.op(OpKind::ReduceSum, {sq}, {{"axes", Ints{}}});
  ValueId lam = b.constant(1e-4, {12, 38});
  ValueId reg = b.op(OpKind::Mul, {lam, ss}, {}, {12, 35});
  ValueId loss = b.op(OpKind::Add, {ce, reg}, {}, {12, 6});
  g.outputs.push_back({"probs", probs, {11, 1}});
  g.loss = NamedValue{"loss", loss, {12, 1}};
  return g;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

} // namespace

TEST_CASE("printer: doubles keep a '.' or an exponent and the shortest exact text") {
  CHECK(format_double(1.0) == "1.0");
  CHECK(format_double(0.0) == "0.0");
  CHECK(format_double(-2.0) == "-2.0");
  CHECK(format_double(0.5) == "0.5");
  CHECK(format_double(0.001) == "0.001");
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(1e-8) == "1e-08");
  CHECK(format_double(1e20) == "1e+20");
  CHECK(format_double(0.999) == "0.999");
  CHECK(format_double(1e-4) == "1e-04"); // shorter than 0.0001
  CHECK(format_double(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(format_double(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("printer: printed doubles read back to the same bits") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint64_t> bits;
  for (int i = 0; i < 2000; ++i) {
    double x;
    uint64_t b = bits(rng);
    std::memcpy(&x, &b, sizeof x);
    if (!std::isfinite(x)) continue;
    std::string s = format_double(x);
    CHECK(s.find_first_of(".e") != std::string::npos);
    double back = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), back);
    REQUIRE(ec == std::errc());
    CHECK(p == s.data() + s.size());
    CHECK(std::memcmp(&back, &x, sizeof x) == 0);
  }
}

TEST_CASE("printer: attribute values") {
  CHECK(format_attr_value(int64_t{3}) == "3");
  CHECK(format_attr_value(int64_t{-1}) == "-1");
  CHECK(format_attr_value(std::numeric_limits<int64_t>::min()) == "-9223372036854775808");
  CHECK(format_attr_value(3.0) == "3.0");
  CHECK(format_attr_value(std::string("he")) == "\"he\"");
  CHECK(format_attr_value(Ints{1, 2, 3}) == "[1,2,3]");
  CHECK(format_attr_value(Ints{-1, 784}) == "[-1,784]");
  CHECK(format_attr_value(Ints{}) == "[]");
  // Doubles keep their kind in a list: 1.0, not 1.
  CHECK(format_attr_value(std::vector<double>{1.0, 0.25, 1e-20}) == "[1.0,0.25,1e-20]");
}

TEST_CASE("printer: strings are quoted with escapes") {
  CHECK(quote_string("") == "\"\"");
  CHECK(quote_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote_string("line\nnext\ttab\r") == "\"line\\nnext\\ttab\\r\"");
  CHECK(quote_string(std::string("nul\0x", 5)) == "\"nul\\x00x\"");
  CHECK(quote_string("\x7f") == "\"\\x7f\"");
  CHECK(quote_string("caf\xc3\xa9") == "\"caf\xc3\xa9\""); // UTF-8 stays as is
}

TEST_CASE("printer: names are bare identifiers or quoted") {
  CHECK(format_name("probs") == "probs");
  CHECK(format_name("_x1") == "_x1");
  CHECK(format_name("dense1.W") == "\"dense1.W\"");
  CHECK(format_name("1st") == "\"1st\"");
  CHECK(format_name("") == "\"\"");
}

TEST_CASE("printer: a graph, one line per node") {
  Graph g = small_mlp();
  std::vector<std::string> lines = lines_of(print_graph(g));
  std::vector<std::string> expected = {
      "model fmnist_mlp",
      "source \"examples/fmnist_mlp.nn\"",
      "%0 = input() {name=\"x\", role=\"data\"} : f32[batch,1,28,28] @5:1",
      "%1 = input() {name=\"y\", role=\"label\"} : i64[batch] @6:1",
      "%2 = reshape(%0) {shape=[-1,784]} : f32[batch,784] @8:5",
      "%3 = param() {fan_in=784, fan_out=10, frozen=0, init=\"he\", layer=\"dense1\", "
      "name=\"dense1.W\", regularize=1} : f32[784,10] @9:5",
      "%4 = matmul(%2, %3) {layer=\"dense1\"} : f32[batch,10] @9:5",
      "%5 = softmax(%4) {axis=1} : f32[batch,10] @11:16",
      "%6 = softmax_cross_entropy(%4, %1) : f32[] @12:6",
      "%7 = mul(%3, %3) : f32[784,10]",
      "%8 = reduce_sum(%7) {axes=[]} : f32[]",
      "%9 = constant() {value=1e-04} : f32[] @12:38",
      "%10 = mul(%9, %8) : f32[] @12:35",
      "%11 = add(%6, %10) : f32[] @12:6",
      "output probs = %5 @11:1",
      "loss loss = %11 @12:1",
  };
  REQUIRE(lines.size() == expected.size() + 1);
  for (size_t i = 0; i < expected.size(); ++i) CHECK(lines[i] == expected[i]);
  CHECK(lines.back().starts_with("train {"));
  CHECK(lines.back() == "train " + train_config_to_json(g.train));
}

TEST_CASE("printer: print_node is the graph's node line") {
  Graph g = small_mlp();
  CHECK(print_node(g, 4) == "%4 = matmul(%2, %3) {layer=\"dense1\"} : f32[batch,10] @9:5");
  CHECK(print_node(g, 4, {.locations = false, .attributes = false}) ==
        "%4 = matmul(%2, %3) : f32[batch,10]");
}

TEST_CASE("printer: options drop locations, attributes and the train line") {
  Graph g = small_mlp();
  std::string compact =
      print_graph(g, {.locations = false, .attributes = false, .train_config = false});
  CHECK(compact.find('@') == std::string::npos);
  CHECK(compact.find('{') == std::string::npos);
  CHECK(compact.find("train") == std::string::npos);
  CHECK(compact.find("%4 = matmul(%2, %3) : f32[batch,10]\n") != std::string::npos);
  CHECK(compact.find("output probs = %5\n") != std::string::npos);
  // The default is the full form.
  CHECK(print_graph(g) == print_graph(g, PrintOptions{}));
  CHECK(print_graph(g).find("@9:5") != std::string::npos);
}

TEST_CASE("printer: empty header fields and a missing loss are omitted") {
  Graph g;
  GraphBuilder b(g);
  b.leaf(OpKind::Hyper, {DType::f32, Shape{}}, {{"name", "keep1"}, {"value", 0.8}});
  std::vector<std::string> lines = lines_of(print_graph(g));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "%0 = hyper() {name=\"keep1\", value=0.8} : f32[]");
  CHECK(lines[1].starts_with("train {"));
}

TEST_CASE("printer: odd names are quoted / a partly known location is kept") {
  Graph g;
  g.name = "my model";
  GraphBuilder b(g);
  ValueId v = b.leaf(OpKind::Input, {DType::f32, Shape{2}}, {{"name", "x"}}, {3, 0});
  g.outputs.push_back({"out put", v, {}});
  std::string text = print_graph(g);
  CHECK(text.starts_with("model \"my model\"\n"));
  CHECK(text.find("%0 = input() {name=\"x\"} : f32[2] @3:0\n") != std::string::npos);
  CHECK(text.find("output \"out put\" = %0\n") != std::string::npos);
}
