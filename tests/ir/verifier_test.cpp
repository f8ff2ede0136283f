#include "ir/verifier.h"

#include "ir/text_parser.h"

#include <doctest/doctest.h>

using namespace netc;

namespace {

// A valid graph to break: each test below edits `nodes`, `outputs` or `loss`
// directly, the way a buggy pass would, bypassing GraphBuilder's checks.
Graph valid_graph() {
  return parse_graph_text(R"(
model v
%0 = input() {name="x"} : f32[batch,4]
%1 = input() {name="y"} : i64[batch]
%2 = param() {name="w"} : f32[4,3]
%3 = state() {name="s"} : f32[3]
%4 = hyper() {name="keep"} : f32[]
%5 = matmul(%0, %2) : f32[batch,3]
%6 = add(%5, %3) : f32[batch,3]
%7 = dropout(%6, %4) {stream=0} : f32[batch,3]
%8 = softmax_cross_entropy(%7, %1) : f32[]
%9 = constant() {value=2.0} : f32[]
%10 = mul(%8, %9) : f32[]
%11 = batch_size() : f32[]
output logits = %7
output probs = %7
loss total = %10
)",
                          "v.ir");
}

Node node(OpKind op, std::vector<ValueId> inputs, Attrs attrs, TensorType type) {
  return Node{op, std::move(inputs), std::move(attrs), std::move(type), {}};
}

// The one problem verify() must report, checked by a part of its text.
void check_one_problem(const Graph& g, const std::string& part) {
  std::vector<std::string> problems = verify(g);
  REQUIRE(problems.size() == 1);
  INFO(problems[0]);
  CHECK(problems[0].find(part) != std::string::npos);
}

const TensorType kScalar{DType::f32, Shape{}};

} // namespace

TEST_CASE("verifier: a valid graph has no problems") {
  CHECK(verify(valid_graph()).empty());
  Graph empty;
  CHECK(verify(empty).empty());
  CHECK_NOTHROW(verify_or_throw(valid_graph(), "parse"));
}

TEST_CASE("verifier: inputs must name earlier nodes") {
  Graph g = valid_graph();
  g.nodes[5].inputs = {0, 6};
  check_one_problem(g, "%5 (matmul): input %6 is not an earlier node");
  g.nodes[5].inputs = {0, 5};
  check_one_problem(g, "%5 (matmul): input %5 is not an earlier node");
  g.nodes[5].inputs = {-1, 2};
  check_one_problem(g, "%5 (matmul): input %-1 is not an earlier node");
}

TEST_CASE("verifier: the input count is within the op's arity") {
  Graph g = valid_graph();
  g.nodes.push_back(node(OpKind::Relu, {5, 5}, {}, {DType::f32, Shape{kBatch, 3}}));
  check_one_problem(g, "%12 (relu): expects 1 input, has 2");
  g.nodes.back() = node(OpKind::BatchNorm, {5}, {}, {DType::f32, Shape{kBatch, 3}});
  check_one_problem(g, "%12 (batchnorm): expects 5 inputs, has 1");
  g.nodes.back() = node(OpKind::Concat, {}, {{"axis", 1}}, {DType::f32, Shape{kBatch, 3}});
  check_one_problem(g, "%12 (concat): expects at least 1 inputs, has 0");
}

TEST_CASE("verifier: leaves have no inputs") {
  Graph g = valid_graph();
  g.nodes[2].inputs = {0};
  check_one_problem(g, "%2 (param): expects 0 inputs, has 1");
}

TEST_CASE("verifier: an op's type is its shape rule's result") {
  Graph g = valid_graph();
  g.nodes[6].type = {DType::f32, Shape{kBatch, 4}};
  // Each node is checked against its inputs' stored types, so %7 (dropout),
  // which passes its input's type on, is reported too.
  std::vector<std::string> problems = verify(g);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] == "%6 (add): type is f32[batch,4], its shape rule gives f32[batch,3]");
  CHECK(problems[1] == "%7 (dropout): type is f32[batch,3], its shape rule gives f32[batch,4]");
}

TEST_CASE("verifier: a shape rule that rejects its inputs") {
  Graph g = valid_graph();
  g.nodes[5].inputs = {2, 0}; // f32[4,3] x f32[batch,4]
  std::vector<std::string> problems = verify(g);
  REQUIRE(!problems.empty());
  CHECK(problems[0].starts_with("%5 (matmul): shape rule fails: "));
}

TEST_CASE("verifier: an op reading class labels agrees with their declared count") {
  Graph g = valid_graph();
  g.nodes[1].attrs.set("num_classes", int64_t{3});
  CHECK(verify(g).empty()); // %7 is f32[batch,3]
  g.nodes[1].attrs.set("num_classes", int64_t{5});
  check_one_problem(g, "%8 (softmax_cross_entropy): the logits have 3 classes (f32[batch,3]), but "
                       "label 'y' is declared class(5)");
}

TEST_CASE("verifier: named leaves carry a non-empty string name") {
  Graph g = valid_graph();
  g.nodes[0].attrs = {};
  check_one_problem(g, "%0 (input): has no non-empty string attribute 'name'");
  g.nodes[0].attrs = {{"name", ""}};
  check_one_problem(g, "%0 (input): has no non-empty string attribute 'name'");
  g = valid_graph();
  g.nodes[4].attrs = {{"name", int64_t{3}}};
  check_one_problem(g, "%4 (hyper): has no non-empty string attribute 'name'");
  g = valid_graph();
  g.nodes[3].attrs = {{"value", 1.0}};
  check_one_problem(g, "%3 (state): has no non-empty string attribute 'name'");
}

TEST_CASE("verifier: a constant carries a numeric value") {
  Graph g = valid_graph();
  g.nodes[9].attrs = {};
  check_one_problem(g, "%9 (constant): has no numeric attribute 'value'");
  g.nodes[9].attrs = {{"value", "two"}};
  check_one_problem(g, "%9 (constant): has no numeric attribute 'value'");
  g.nodes[9].attrs = {{"value", int64_t{2}}};
  CHECK(verify(g).empty());
}

TEST_CASE("verifier: leaves of one kind have distinct names") {
  Graph g = valid_graph();
  g.nodes[1].attrs = {{"name", "x"}};
  check_one_problem(g, "%1 (input): name 'x' is also used by %0");
  g = valid_graph();
  g.nodes.push_back(node(OpKind::Hyper, {}, {{"name", "keep"}}, kScalar));
  check_one_problem(g, "%12 (hyper): name 'keep' is also used by %4");
}

TEST_CASE("verifier: params and state share one namespace") {
  Graph g = valid_graph();
  g.nodes[3].attrs = {{"name", "w"}};
  check_one_problem(g, "%3 (state): name 'w' is also used by %2 (param)");
  // Other kinds may reuse a name: an input named like a param is no clash.
  g = valid_graph();
  g.nodes[0].attrs = {{"name", "w"}};
  CHECK(verify(g).empty());
}

TEST_CASE("verifier: outputs and the loss name valid values") {
  Graph g = valid_graph();
  g.outputs[1].value = 12;
  check_one_problem(g, "output 'probs': %12 is not a node");
  g = valid_graph();
  g.loss->value = -1;
  check_one_problem(g, "loss 'total': %-1 is not a node");
}

TEST_CASE("verifier: the loss is a float scalar") {
  Graph g = valid_graph();
  g.loss->value = 7;
  check_one_problem(g, "loss 'total': %7 has type f32[batch,3], a loss must be a float scalar");
  g.nodes.push_back(node(OpKind::Constant, {}, {{"value", 1.0}}, {DType::i64, Shape{}}));
  g.loss->value = 12;
  check_one_problem(g, "loss 'total': %12 has type i64[]");
}

TEST_CASE("verifier: output names are unique") {
  Graph g = valid_graph();
  g.outputs[1].name = "logits";
  check_one_problem(g, "output 'logits' is declared twice");
  g.outputs[1].name = "";
  check_one_problem(g, "output %7 has an empty name");
}

TEST_CASE("verifier: a corrupted op kind is reported, not followed") {
  Graph g = valid_graph();
  g.nodes[11].op = static_cast<OpKind>(kNumOps + 3);
  check_one_problem(g, "%11 (?): op kind");
}

TEST_CASE("verifier: verify_or_throw names the stage and every problem") {
  Graph g = valid_graph();
  g.nodes[0].attrs = {};
  g.outputs[0].value = 99;
  try {
    verify_or_throw(g, "autodiff");
    FAIL("expected an internal error");
  } catch (const std::logic_error& e) {
    std::string what = e.what();
    CHECK(what.find("internal compiler error") != std::string::npos);
    CHECK(what.find("'v' is invalid after autodiff (2 problems)") != std::string::npos);
    CHECK(what.find("\n  %0 (input): has no non-empty string attribute 'name'") !=
          std::string::npos);
    CHECK(what.find("\n  output 'logits': %99 is not a node") != std::string::npos);
  }
}
