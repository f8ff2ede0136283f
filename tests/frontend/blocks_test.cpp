// Blocks (def NAME(PARAMS) { ... return EXPR }): the parameter paths each
// call creates, sharing, defaults and keywords, that a block call builds the
// same graph as the layers written out, and a located error, with a note per
// call, for every malformed use.
#include "frontend_test_helpers.h"

#include "ir/printer.h"

#include <fmt/format.h>
#include <regex>

using namespace netc;
using namespace netc::test;

namespace {

// Line 1 of every model.
const std::string kX = "input x : f32[batch, 4]\n";

// A block of two dense layers with a default and a keyword parameter (lines 2-6).
const std::string kTwo = kX + "def two(h, units, act=true, scale=1) {\n"
                              "  h = dense(h, units, bias=act)\n"
                              "  h = dense(h, units) * scale\n"
                              "  return relu(h)\n"
                              "}\n";

std::vector<Diagnostic> all_errors(std::string_view text) {
  try {
    build(text);
  } catch (const UserError& e) {
    return e.diagnostics();
  }
  return {};
}

std::vector<std::string> param_names(const Graph& g) {
  std::vector<std::string> names;
  for (ValueId v : g.leaves(OpKind::Param)) names.push_back(g.node(v).attrs.get_str("name"));
  return names;
}

using Names = std::vector<std::string>;

// The graph's text without locations and without the names of layers and
// their leaves, which blocks prefix.
std::string structure(const Graph& g) {
  PrintOptions o;
  o.locations = false;
  std::string text = print_graph(g, o);
  text = std::regex_replace(text, std::regex(R"((layer|name)="[^"]*"(, )?)"), "");
  return std::regex_replace(text, std::regex("source \"[^\"]*\"\n"), "");
}

} // namespace

TEST_CASE("blocks: each call creates its own parameters under the block's name") {
  Graph g = build(kTwo + "h = two(x, 3)\noutput y = two(h, 5)\n");
  CHECK(param_names(g) == Names{"two1.dense1.W", "two1.dense1.b", "two1.dense2.W", "two1.dense2.b",
                                "two2.dense1.W", "two2.dense1.b", "two2.dense2.W",
                                "two2.dense2.b"});
  CHECK(param(g, "two2.dense1.W").type.shape.dims == std::vector<int64_t>{3, 5});
  CHECK(param(g, "two1.dense1.W").attrs.get_str("layer") == "two1.dense1");
  // Top-level layers keep their own numbering.
  Graph mixed = build(kTwo + "h = dense(x, 3)\nh = two(h, 3)\noutput y = dense(h, 2)\n");
  CHECK(param_names(mixed) == Names{"dense1.W", "dense1.b", "two1.dense1.W", "two1.dense1.b",
                                    "two1.dense2.W", "two1.dense2.b", "dense2.W", "dense2.b"});
}

TEST_CASE("blocks: nested calls nest their prefixes, and name= sets one") {
  std::string nested = kTwo + "def pair(h, u) {\n"
                              "  return two(two(h, u), u)\n"
                              "}\n";
  Graph g = build(nested + "h = pair(x, 3)\noutput y = pair(h, 3, name=\"stage2.block1\")\n");
  Names names = param_names(g);
  CHECK(names.size() == 16);
  CHECK(names[0] == "pair1.two1.dense1.W");
  CHECK(names[4] == "pair1.two2.dense1.W");
  CHECK(names[8] == "stage2.block1.two1.dense1.W");
  CHECK(names[15] == "stage2.block1.two2.dense2.b");
  // A name= of a nested call is relative to the enclosing call; a name (not
  // a string) works too, dotted or not.
  Graph inner = build(kTwo + "def wrap(h) {\n  return two(h, 2, name=core)\n}\n"
                             "output y = wrap(x, name=outer.a)\n");
  CHECK(param_names(inner)[0] == "outer.a.core.dense1.W");
  // A default name skips one that an explicit name= already took.
  Graph skip = build(kTwo + "h = two(x, 3, name=two1)\noutput y = two(h, 3)\n");
  CHECK(param_names(skip)[4] == "two2.dense1.W");
}

TEST_CASE("blocks: name= shares parameters within a call, and between calls with one name") {
  std::string tied = kX + "def siamese(a, b) {\n"
                          "  p = dense(a, 3, name=enc)\n"
                          "  q = dense(b, 3, name=enc)\n"
                          "  return p - q\n"
                          "}\n";
  Graph g = build(tied + "h = siamese(x, x)\noutput y = siamese(h, h)\n");
  CHECK(param_names(g) ==
        Names{"siamese1.enc.W", "siamese1.enc.b", "siamese2.enc.W", "siamese2.enc.b"});
  CHECK(count_ops(g, OpKind::MatMul) == 4);
  // Two calls with the same name= share everything; a default-numbered
  // layer in the second call reuses the first call's.
  Graph shared = build(kTwo + "h = two(x, 4, name=t)\noutput y = two(h, 4, name=t)\n");
  CHECK(param_names(shared) == Names{"t.dense1.W", "t.dense1.b", "t.dense2.W", "t.dense2.b"});
  CHECK(count_ops(shared, OpKind::MatMul) == 4);
  // A shared call must fit the shapes it first had.
  CHECK_USER_ERROR(kTwo + "h = two(x, 4, name=t)\noutput y = two(h, 5, name=t)\n", 3, 7,
                   "layer 't.dense1' is reused with a different shape");
  // One weight across different calls: a top-level param passed in.
  Graph param_in = build(kX + "param W : f32[4, 4] = he\n"
                              "def mix(h, w) {\n  return relu(matmul(h, w))\n}\n"
                              "output y = mix(mix(x, W), W)\n");
  CHECK(param_names(param_in) == Names{"W"});
}

TEST_CASE("blocks: defaults, keyword arguments and constants as layer arguments") {
  Graph g = build(kTwo + "output y = two(x, units=6, act=false)\n");
  CHECK(param_names(g) == Names{"two1.dense1.W", "two1.dense2.W", "two1.dense2.b"});
  CHECK(g.node(g.outputs[0].value).type.shape.dims == std::vector<int64_t>{kBatch, 6});
  // scale=1 by default multiplies by a constant 1; scale=0.5 passes through.
  Graph half = build(kTwo + "output y = two(x, 2, scale=0.5)\n");
  bool found = false;
  for (const Node& n : half.nodes)
    found |= n.op == OpKind::Constant && n.attrs.get_float("value") == 0.5;
  CHECK(found);
  // A constant reaches a keyword of a layer (stride=stride) and a tuple.
  Graph conv = build("input x : f32[batch, 1, 8, 8]\n"
                     "def c(x, n, stride=1, k=(3, 3)) {\n"
                     "  return conv2d(x, n, kernel=k, stride=stride, pad=1)\n"
                     "}\n"
                     "output y = c(x, 2, stride=2)\n"
                     "output z = c(x, 3)\n");
  CHECK(conv.node(conv.outputs[0].value).type.shape.dims == std::vector<int64_t>{kBatch, 2, 4, 4});
  CHECK(conv.node(conv.outputs[1].value).type.shape.dims == std::vector<int64_t>{kBatch, 3, 8, 8});
  // A block may be defined after its first call, and a tensor argument (an
  // expression) is evaluated once however often the body reads it.
  Graph later = build(kX + "output y = sq(x * 2)\ndef sq(h) {\n  return h * h\n}\n");
  CHECK(count_ops(later, OpKind::Mul) == 2);
}

TEST_CASE("blocks: a block call builds the graph of its layers written out") {
  std::string with_blocks = "input x : f32[batch, 1, 8, 8]\n"
                            "label t : class(3)[batch]\n"
                            "def basic(x, c, stride=1) {\n"
                            "  h = relu(batchnorm(conv2d(x, c, kernel=3, stride=stride, pad=1)))\n"
                            "  h = batchnorm(conv2d(h, c, kernel=3, pad=1))\n"
                            "  return relu(h + x)\n"
                            "}\n"
                            "h = conv2d(x, 4, kernel=3, pad=1)\n"
                            "h = basic(h, 4)\n"
                            "h = basic(h, c=4, stride=1)\n"
                            "loss softmax_cross_entropy(dense(flatten(h), 3), t) + l2(1e-4)\n";
  std::string written_out = "input x : f32[batch, 1, 8, 8]\n"
                            "label t : class(3)[batch]\n"
                            "h = conv2d(x, 4, kernel=3, pad=1)\n"
                            "a = relu(batchnorm(conv2d(h, 4, kernel=3, stride=1, pad=1)))\n"
                            "a = batchnorm(conv2d(a, 4, kernel=3, pad=1))\n"
                            "h = relu(a + h)\n"
                            "a = relu(batchnorm(conv2d(h, 4, kernel=3, stride=1, pad=1)))\n"
                            "a = batchnorm(conv2d(a, 4, kernel=3, pad=1))\n"
                            "h = relu(a + h)\n"
                            "loss softmax_cross_entropy(dense(flatten(h), 3), t) + l2(1e-4)\n";
  Graph a = build(with_blocks), b = build(written_out);
  CHECK(a.nodes.size() == b.nodes.size());
  CHECK(structure(a) == structure(b));
  // The names differ only by their prefixes.
  CHECK(param(a, "basic2.conv2.W").type == param(b, "conv5.W").type);
}

TEST_CASE("blocks: l1()/l2() in the loss include the weights a block call creates") {
  Graph g = build(kTwo + "def score(h) {\n  return mean(two(h, 2))\n}\n"
                         "loss l2(1e-3) + score(x)\n");
  CHECK(param_names(g).size() == 4);
  CHECK_USER_ERROR(kX + "def f(h) { return h + l2(1e-3) }\nloss mean(f(x))\n", 2, 23,
                   "l2() cannot appear inside a block; add it to the 'loss' statement");
}

TEST_CASE("blocks: an error inside a block is located there, with a note per call") {
  auto d = all_errors(kTwo + "output y = two(x, 0)\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0].format() == "test.nn:3:16: error: dense: 'units' must be at least 1, found 0");
  CHECK(d[1].format() == "test.nn:7:12: note: in call to 'two' here");
  CHECK(d[1].is_note);
  // Nested: the innermost call first.
  auto nested = all_errors(kTwo + "def outer(h) {\n  return two(h, 0)\n}\noutput y = outer(x)\n");
  REQUIRE(nested.size() == 3);
  CHECK(nested[0].loc == SourceLoc{3, 16});
  CHECK(nested[1].format() == "test.nn:8:10: note: in call to 'two' here");
  CHECK(nested[2].format() == "test.nn:10:12: note: in call to 'outer' here");
  // A block sees only its parameters.
  auto scope = all_errors(kX + "def f(h) {\n  return relu(x)\n}\noutput y = f(x)\n");
  REQUIRE(scope.size() == 2);
  CHECK(scope[0].format() ==
        "test.nn:3:15: error: undefined name 'x' in block 'f': a block sees only its parameters "
        "and its own values; pass 'x' as an argument");
  CHECK(scope[1].loc == SourceLoc{5, 12});
  // A parameter holding a constant cannot be assigned.
  auto constant =
      all_errors(kX + "def f(h, c) {\n  c = relu(h)\n  return c\n}\noutput y = f(x, 3)\n");
  REQUIRE(constant.size() == 2);
  CHECK(constant[0].format() == "test.nn:3:3: error: 'c' is a parameter of 'f' that holds a "
                                "constant (3) in this call; it cannot be assigned");
}

TEST_CASE("blocks: malformed calls") {
  CHECK_USER_ERROR(kTwo + "output y = two(x)\n", 7, 12,
                   "two expects at least 2 arguments, found 1 (missing 'units')");
  CHECK_USER_ERROR(kTwo + "output y = two(x, 2, true, 1, 5)\n", 7, 31,
                   "two expects at most 4 positional arguments, found 5");
  CHECK_USER_ERROR(kTwo + "output y = two(x, 2, sacle=2)\n", 7, 22,
                   "two has no argument 'sacle'; did you mean 'scale'?");
  CHECK_USER_ERROR(kTwo + "output y = two(x, 2, units=2)\n", 7, 22,
                   "two: argument 'units' is given twice (by position and by name)");
  CHECK_USER_ERROR(kTwo + "output y = twoo(x, 2)\n", 7, 12,
                   "unknown function 'twoo'; did you mean 'two'?");
  CHECK_USER_ERROR(kTwo + "output y = two\n", 7, 12, "'two' is a function; call it as two(...)");
  CHECK_USER_ERROR(kTwo + "output y = two(x, 2, name=\"a..b\")\n", 7, 27,
                   "'a..b' cannot name a block call");
  CHECK_USER_ERROR(kTwo + "output y = two(x, 2, name=3)\n", 7, 27,
                   "two: 'name' must be a name or a path such as \"stage2.block1\", found 3");
}

TEST_CASE("blocks: malformed definitions") {
  CHECK_USER_ERROR(kX + "def f(h) {\n  h = relu(h)\n}\noutput y = f(x)\n", 4, 1,
                   "block 'f' has no 'return'; end it with return EXPR");
  CHECK_USER_ERROR(kX + "def f(h) {\n  return relu(h)\n  h = h\n}\noutput y = f(x)\n", 4, 3,
                   "'return' must be the last statement of block 'f', found 'h' after it");
  CHECK_USER_ERROR(kX + "def f(h) { return h }\ndef f(h) { return h }\noutput y = f(x)\n", 3, 5,
                   "block 'f' is already defined at line 2");
  CHECK_USER_ERROR(kX + "def f(h) {\n  def g(y) { return y }\n  return h\n}\noutput y = f(x)\n", 3,
                   3,
                   "a def cannot be inside another def ('f', line 2); define it at the top level");
  CHECK_USER_ERROR(kX + "def relu(h) { return h }\noutput y = relu(x)\n", 2, 5,
                   "'relu' is a built-in function; a block needs another name");
  CHECK_USER_ERROR(kX + "def f(h) {\n  output z = h\n  return h\n}\noutput y = f(x)\n", 3, 3,
                   "'output' cannot appear inside a block");
  CHECK_USER_ERROR(kX + "def f(h, k=relu(h)) { return h }\noutput y = f(x)\n", 2, 12,
                   "the default of 'k' must be a constant (a number, a name such as he, or a "
                   "tuple), found a call to relu");
  CHECK_USER_ERROR(kX + "def f(h, k=1, c) { return h }\noutput y = f(x)\n", 2, 15,
                   "parameter 'c' has no default but follows 'k', which has one");
  CHECK_USER_ERROR(kX + "def f(h, h) { return h }\noutput y = f(x)\n", 2, 10,
                   "parameter 'h' of 'f' is given twice");
  CHECK_USER_ERROR(kX + "def f(h, name) { return h }\noutput y = f(x)\n", 2, 10,
                   "'name' cannot be a block parameter");
  CHECK_USER_ERROR(kX + "def f(h, batch) { return h }\noutput y = f(x)\n", 2, 10,
                   "'batch' is reserved and cannot name a parameter");
  CHECK_USER_ERROR(kX + "def f(h) {\n  return\n}\noutput y = f(x)\n", 3, 9,
                   "expected an expression after 'return', found end of line");
  CHECK_USER_ERROR(kX + "def f(h) {\n  return h\n", 3, 11,
                   "expected '}' to close block 'f', found end of file");
  CHECK_USER_ERROR(kX + "def f h\n", 2, 7, "expected '(' after the block name");
  CHECK_USER_ERROR(kX + "return x\n", 2, 1, "'return' can only end a block");
}

TEST_CASE("blocks: recursion is an error that names the cycle") {
  CHECK_USER_ERROR(kX + "def f(h) {\n  return f(h)\n}\noutput y = x\n", 3, 10,
                   "block 'f' is recursive (f -> f); a block cannot call itself");
  CHECK_USER_ERROR(kX + "def f(h) {\n  return g(h)\n}\ndef g(h) {\n  return relu(f(h))\n}\n"
                        "output y = f(x)\n",
                   6, 15, "block 'f' is recursive (f -> g -> f)");
}

TEST_CASE("blocks: an expansion that doubles at every level stops with an error") {
  std::string text = kX + "def b0(h) { return relu(h) }\n";
  for (int i = 1; i <= 16; ++i)
    text += fmt::format("def b{}(h) {{ return b{}(b{}(h)) }}\n", i, i - 1, i - 1);
  text += "output y = b16(x)\n";
  auto d = all_errors(text);
  REQUIRE(!d.empty());
  CHECK(d[0].message.find("too many block calls (limit 10000)") != std::string::npos);
}
