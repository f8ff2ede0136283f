#include "ir/text_parser.h"

#include "ir/printer.h"

#include <doctest/doctest.h>
#include <limits>
#include <random>

using namespace netc;

namespace {

using Ints = std::vector<int64_t>;

// A small CNN that exercises every attribute kind and most leaf kinds:
// conv2d -> batchnorm -> relu -> maxpool -> global_avgpool -> dropout -> dense.
Graph small_cnn() {
  Graph g;
  g.name = "cnn";
  g.source_file = "dir with space/cnn \"v2\".nn";
  GraphBuilder b(g);
  auto f32 = [](Shape s) { return TensorType{DType::f32, std::move(s)}; };
  ValueId x =
      b.leaf(OpKind::Input, f32({kBatch, 1, 8, 8}), {{"name", "x"}, {"role", "data"}}, {3, 1});
  ValueId y = b.leaf(OpKind::Input, {DType::i32, Shape{kBatch}}, {{"name", "y"}}, {4, 1});
  ValueId w = b.leaf(OpKind::Param, f32({4, 1, 3, 3}), {{"name", "c1.W"}, {"init", "he"}}, {6, 5});
  ValueId bias = b.leaf(OpKind::Param, f32({4}), {{"name", "c1.b"}, {"frozen", 1}}, {6, 5});
  ValueId c =
      b.op(OpKind::Conv2d, {x, w, bias}, {{"pad", Ints{1, 1}}, {"stride", Ints{1, 1}}}, {6, 5});
  ValueId gamma = b.leaf(OpKind::Param, f32({4}), {{"name", "bn.gamma"}});
  ValueId beta = b.leaf(OpKind::Param, f32({4}), {{"name", "bn.beta"}});
  ValueId rm = b.leaf(OpKind::State, f32({4}), {{"name", "bn.mean"}});
  ValueId rv = b.leaf(OpKind::State, f32({4}), {{"name", "bn.var"}});
  ValueId bn = b.op(OpKind::BatchNorm, {c, gamma, beta, rm, rv},
                    {{"eps", 1e-5}, {"momentum", 0.9}, {"axis", 1}}, {7, 10});
  ValueId r = b.op(OpKind::Relu, {bn}, {}, {7, 5});
  ValueId p = b.op(OpKind::MaxPool, {r}, {{"kernel", Ints{2, 2}}});
  ValueId gap = b.op(OpKind::GlobalAvgPool, {p});
  ValueId keep = b.leaf(OpKind::Hyper, f32({}), {{"name", "keep"}, {"value", 0.8}});
  ValueId d = b.op(OpKind::Dropout, {gap, keep}, {{"stream", 0}});
  ValueId w2 = b.leaf(OpKind::Param, f32({4, 3}), {{"name", "fc.W"}});
  ValueId logits = b.op(OpKind::MatMul, {d, w2});
  ValueId ce = b.op(OpKind::SoftmaxCrossEntropy, {logits, y}, {}, {12, 6});
  ValueId bs = b.leaf(OpKind::BatchSize, {DType::f32, Shape{}}, {});
  ValueId scaled = b.op(OpKind::Div, {ce, bs});
  // Attribute values at the edges of what the text must carry exactly.
  b.leaf(OpKind::Constant, f32({}),
         {{"value", 0.1},
          {"tiny", 5e-324},
          {"huge", 1.7976931348623157e308},
          {"neg_zero", -0.0},
          {"int_min", std::numeric_limits<int64_t>::min()},
          {"int_max", std::numeric_limits<int64_t>::max()},
          {"text", std::string("q\" b\\ nl\n t\t c\x01 \xc3\xa9 # not a comment")},
          {"empty", std::string()},
          {"none", Ints{}},
          {"axes", Ints{-1, 0, 2}},
          {"weights", std::vector<double>{1.0, 0.1, -0.0, 2.5e-300}}});
  g.outputs.push_back({"logits", logits, {11, 1}});
  g.outputs.push_back({"features.v1", gap, {}});
  g.loss = NamedValue{"total", scaled, {12, 1}};
  g.train.batch = 32;
  g.train.optimizer.kind = "momentum";
  g.train.optimizer.lr = 0.05;
  g.train.split = SplitConfig{true, {0.6, 0.2}, false};
  g.train.data_dir = "/data/\"fm\"";
  g.train.bayes_error = 0.02;
  return g;
}

// The one diagnostic of a parse that must fail.
Diagnostic parse_error(const std::string& text) {
  try {
    parse_graph_text(text, "t.ir");
  } catch (const UserError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    return e.diagnostics().front();
  }
  FAIL("the text parsed without an error:\n" << text);
  return {};
}

void check_error(const std::string& text, SourceLoc loc, const std::string& message_part) {
  Diagnostic d = parse_error(text);
  INFO(d.format());
  CHECK(d.file == "t.ir");
  CHECK(d.loc == loc);
  CHECK(d.message.find(message_part) != std::string::npos);
}

const std::string kLeaf = "%0 = input() {name=\"x\"} : f32[batch,4]\n";

} // namespace

TEST_CASE("text parser: round trip of a graph with every attribute kind") {
  Graph g = small_cnn();
  std::string text = print_graph(g);
  Graph back = parse_graph_text(text, "cnn.ir");
  CHECK(back == g);
  CHECK(print_graph(back) == text);
}

TEST_CASE("text parser: round trip without locations, and of an empty graph") {
  Graph g = small_cnn();
  std::string text = print_graph(g, {.locations = false});
  Graph back = parse_graph_text(text, "cnn.ir");
  CHECK(print_graph(back, {.locations = false}) == text);
  CHECK(back.node(4).loc == SourceLoc{});

  Graph empty;
  CHECK(parse_graph_text(print_graph(empty), "e.ir") == empty);
  CHECK(parse_graph_text("", "e.ir") == empty); // no train line: the defaults
}

TEST_CASE("text parser: hand-written text with comments, indentation and any attribute order") {
  Graph g = parse_graph_text(R"(
    # a pass test's input
    model "t"
    %0 = input() {role="data", name="x"} : f32[batch,4]   # trailing comment
    %1 = param() {name="w"} : f32[4,3]
    %2 = matmul(%0,%1) : f32[batch,3]
    %3 = reduce_sum(%2) {keepdims=1, axes=[1]} : f32[batch,1] @7:3
    output "y" = %3
  )",
                             "t.ir");
  REQUIRE(g.size() == 4);
  CHECK(g.name == "t");
  CHECK(g.node(0).attrs == Attrs{{"name", "x"}, {"role", "data"}});
  CHECK(g.node(2).op == OpKind::MatMul);
  CHECK(g.node(2).inputs == std::vector<ValueId>{0, 1});
  CHECK(g.node(3).loc == SourceLoc{7, 3});
  CHECK(g.node(3).attrs.get_ints("axes") == Ints{1});
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.outputs[0].name == "y");
  CHECK(!g.loss);
  const TrainConfig defaults; // named: a temporary trips GCC 12's -Wmaybe-uninitialized
  CHECK(g.train == defaults);
}

TEST_CASE("text parser: numbers read back with their kind") {
  Graph g = parse_graph_text(
      "%0 = constant() {a=1, b=1.0, c=1e-08, d=-2.5E+3, e=-inf, f=[], g=[-1, 2]} : f32[]\n",
      "t.ir");
  const Attrs& a = g.node(0).attrs;
  CHECK(std::get<int64_t>(*a.find("a")) == 1);
  CHECK(std::get<double>(*a.find("b")) == 1.0);
  CHECK(std::get<double>(*a.find("c")) == 1e-8);
  CHECK(std::get<double>(*a.find("d")) == -2500.0);
  CHECK(std::get<double>(*a.find("e")) == -std::numeric_limits<double>::infinity());
  CHECK(a.get_ints("f").empty());
  CHECK(a.get_ints("g") == Ints{-1, 2});
  CHECK(a.get_floats("g") == std::vector<double>{-1.0, 2.0}); // an int list converts
  // A list with any element spelled as a double is a list of doubles.
  g = parse_graph_text("%0 = constant() {h=[1.0, 2], i=[0.5], j=[1e-3,-inf]} : f32[]\n", "t.ir");
  const Attrs& b = g.node(0).attrs;
  CHECK(std::get<std::vector<double>>(*b.find("h")) == std::vector<double>{1.0, 2.0});
  CHECK(std::get<std::vector<double>>(*b.find("i")) == std::vector<double>{0.5});
  CHECK(b.get_floats("j") == std::vector<double>{1e-3, -std::numeric_limits<double>::infinity()});
}

TEST_CASE("text parser: windows line endings are accepted") {
  Graph g = parse_graph_text("model m\r\n%0 = input() {name=\"x\"} : f32[2]\r\n", "t.ir");
  CHECK(g.name == "m");
  CHECK(g.size() == 1);
}

TEST_CASE("text parser: unknown op with a did-you-mean") {
  check_error(kLeaf + "%1 = matmull(%0, %0) : f32[batch,4]\n", {2, 6},
              "unknown op 'matmull'; did you mean 'matmul'?");
  Diagnostic d = parse_error(kLeaf + "%1 = frobnicate(%0) : f32[batch,4]\n");
  CHECK(d.message == "unknown op 'frobnicate'");
}

TEST_CASE("text parser: a value used before its definition") {
  check_error(kLeaf + "%1 = relu(%2) : f32[batch,4]\n", {2, 11}, "%2 is used before it is defined");
  check_error(kLeaf + "%1 = relu(%1) : f32[batch,4]\n", {2, 11}, "%1 is used before it is defined");
  check_error(kLeaf + "output y = %5\n", {2, 12}, "%5 is used before it is defined");
  check_error("loss l = %0\n", {1, 10},
              "%0 is used before it is defined (the last defined value "
              "is none)");
}

TEST_CASE("text parser: nodes are numbered consecutively") {
  check_error(kLeaf + "%2 = relu(%0) : f32[batch,4]\n", {2, 1},
              "expected %1 (nodes are numbered consecutively from %0), found %2");
  check_error("%1 = input() {name=\"x\"} : f32[2]\n", {1, 1}, "expected %0");
}

TEST_CASE("text parser: the printed type must be the inferred one") {
  check_error(kLeaf + "%1 = relu(%0) : f32[batch,5] @3:4\n", {2, 17},
              "type mismatch for %1 ('relu'): expected f32[batch,4] (from its shape rule), "
              "found f32[batch,5]");
  check_error(kLeaf + "%1 = relu(%0) : f64[batch,4]\n", {2, 17}, "found f64[batch,4]");
}

TEST_CASE("text parser: shape rule and arity errors are located in the text") {
  // The node's own @LINE:COL points into the model file; the error must not.
  check_error(kLeaf + "%1 = param() {name=\"w\"} : f32[5,3]\n%2 = matmul(%0, %1) : f32[batch,3] "
                      "@9:9\n",
              {3, 6}, "matmul:");
  check_error(kLeaf + "%1 = relu(%0, %0) : f32[batch,4]\n", {2, 6},
              "'relu' expects 1 input, found 2");
  check_error(kLeaf + "%1 = reshape(%0) : f32[batch,4]\n", {2, 6}, "missing attribute 'shape'");
  check_error(kLeaf + "%1 = input(%0) {name=\"z\"} : f32[2]\n", {2, 6},
              "'input' is a leaf and takes no inputs, found 1");
}

TEST_CASE("text parser: a label's class count must match the logits it is scored on") {
  // The IR text is another frontend: GraphBuilder checks it as it does .nn models.
  const std::string labels = "%1 = input() {name=\"y\", num_classes=10} : i32[batch]\n";
  check_error(kLeaf + labels + "%2 = softmax_cross_entropy(%0, %1) : f32[]\n", {3, 6},
              "softmax_cross_entropy: the logits have 4 classes (f32[batch,4]), but label 'y' is "
              "declared class(10)");
  // Through a reshape of the labels, and for one_hot's num_classes.
  check_error(kLeaf + labels + "%2 = reshape(%1) {shape=[-1]} : i32[batch]\n" +
                  "%3 = softmax_cross_entropy(%0, %2) : f32[]\n",
              {4, 6}, "label 'y' is declared class(10)");
  check_error(kLeaf + labels + "%2 = one_hot(%1) {num_classes=4} : f32[batch,4]\n", {3, 6},
              "one_hot: num_classes is 4, but label 'y' is declared class(10)");
  // Labels without a declared count (num_classes absent) are not checked.
  CHECK_NOTHROW(parse_graph_text(kLeaf + "%1 = input() {name=\"y\"} : i32[batch]\n" +
                                     "%2 = softmax_cross_entropy(%0, %1) : f32[]\n",
                                 "t.ir"));
}

TEST_CASE("text parser: malformed node lines say what was expected") {
  check_error(kLeaf + "%1 = relu(%0) f32[batch,4]\n", {2, 15}, "expected ':', found 'f32'");
  check_error(kLeaf + "%1 = relu(%0 : f32[batch,4]\n", {2, 14}, "expected ')', found ':'");
  check_error(kLeaf + "%1 relu(%0) : f32[batch,4]\n", {2, 4}, "expected '=', found 'relu'");
  check_error(kLeaf + "%1 = relu(0) : f32[batch,4]\n", {2, 11}, "expected a value (%N), found '0'");
  check_error(kLeaf + "%1 = relu(%0) : f32[batch,4] extra\n", {2, 30},
              "expected the end of the line, found 'extra'");
  check_error(kLeaf + "%1 = relu(%0) : f32[batch,4] @3\n", {2, 32}, "expected ':', found the end");
  check_error("%0 = input() {name=} : f32[2]\n", {1, 20}, "expected an attribute value");
  check_error("%0 = input() {name=x} : f32[2]\n", {1, 20}, "found 'x'");
  check_error("%0 = input() {name=\"x\" role=\"r\"} : f32[2]\n", {1, 24}, "expected '}'");
  check_error("%0 = input() {name=\"x\", name=\"y\"} : f32[2]\n", {1, 25},
              "duplicate attribute 'name'");
  check_error("%0 = constant() {value=1.2.3} : f32[]\n", {1, 24}, "malformed number '1.2.3'");
  check_error("%0 = constant() {value=99999999999999999999} : f32[]\n", {1, 24},
              "integer 99999999999999999999 is out of range");
  check_error("%0 = constant() {v=[1, \"a\"]} : f32[]\n", {1, 24}, "lists hold numbers only");
  check_error("%0 = constant() {v=[1, [2]]} : f32[]\n", {1, 24}, "lists hold numbers only");
}

TEST_CASE("text parser: types") {
  check_error("%0 = input() {name=\"x\"} : f3[2]\n", {1, 27},
              "unknown element type 'f3' (did you mean 'f32'?)");
  check_error("%0 = input() {name=\"x\"} : f16[2]\n", {1, 27},
              "unknown element type 'f16'; expected f32, f64, i32 or i64");
  check_error("%0 = input() {name=\"x\"} : f32[0]\n", {1, 30}, "dimension 0 must be positive");
  check_error("%0 = input() {name=\"x\"} : f32[btch,2]\n", {1, 31},
              "expected a dimension (a positive integer or 'batch'), found 'btch'");
  check_error("%0 = input() {name=\"x\"} : f32\n", {1, 30}, "expected '['");
}

TEST_CASE("text parser: strings") {
  check_error("%0 = input() {name=\"x} : f32[2]\n", {1, 20}, "unterminated string");
  check_error("%0 = input() {name=\"a\\qb\"} : f32[2]\n", {1, 22}, "unknown escape '\\q'");
  check_error("%0 = input() {name=\"a\\x4\"} : f32[2]\n", {1, 22}, "two hex digits");
  Graph g = parse_graph_text("%0 = input() {name=\"a\\x41\\\"#\"} : f32[2] # c\n", "t.ir");
  CHECK(g.node(0).attrs.get_str("name") == "aA\"#");
}

TEST_CASE("text parser: header, output, loss and train lines") {
  check_error("model a\nmodel b\n", {2, 1}, "duplicate 'model' line (the first is on line 1)");
  check_error("source \"a\"\n\nsource \"b\"\n", {3, 1}, "duplicate 'source' line");
  check_error(kLeaf + "loss a = %0\nloss b = %0\n", {3, 1}, "duplicate 'loss' line");
  check_error("train {}\ntrain {}\n", {2, 1}, "duplicate 'train' line");
  check_error("ouput y = %0\n", {1, 1}, "found 'ouput' (did you mean 'output'?)");
  check_error("= 3\n", {1, 1}, "expected a node (%N = op(...) : type)");
  check_error("model\n", {1, 6}, "expected a model name, found the end of the line");
  check_error("source x\n", {1, 8}, "expected a quoted string, found 'x'");
  check_error(kLeaf + "output y %0\n", {2, 10}, "expected '=', found '%0'");
  check_error("train {\"batch\": }\n", {1, 7}, "malformed train configuration");
  check_error("train {\"batch\": \"many\"}\n", {1, 7}, "malformed train configuration");

  Graph g = parse_graph_text(kLeaf + "train {\"batch\": 7, \"data\": \"x#y\"}  \n", "t.ir");
  CHECK(g.train.batch == 7);
  CHECK(g.train.data == "x#y"); // the train line's JSON is not cut at '#'
}

TEST_CASE("text parser: mutated text gives a located error or a graph, never anything else") {
  // Bad input must never crash or raise an internal error (SPEC section 2).
  const std::string text = print_graph(small_cnn());
  const std::string alphabet = "%=(),{}[]:@\"\\#-.0123456789eabfx \n";
  std::mt19937 rng(11);
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string t = text;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
      size_t at = rng() % t.size();
      switch (rng() % 3) {
      case 0: t.erase(at, 1 + rng() % 4); break;
      case 1: t.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      default: t[at] = alphabet[rng() % alphabet.size()];
      }
    }
    try {
      Graph g = parse_graph_text(t, "fuzz.ir");
      ++parsed;
      CHECK(parse_graph_text(print_graph(g), "fuzz.ir") == g);
    } catch (const UserError& e) {
      ++rejected;
      REQUIRE(e.diagnostics().size() == 1);
      CHECK(e.diagnostics()[0].file == "fuzz.ir");
      CHECK(e.diagnostics()[0].loc.line > 0);
      CHECK(e.diagnostics()[0].loc.col > 0);
    } catch (const std::exception& e) {
      FAIL("unexpected exception: " << e.what() << "\non:\n" << t);
    }
  }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}
