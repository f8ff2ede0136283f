// DCE, CSE and the local simplifications: structure after the pass, whether
// it reports a change, and the cases where a rewrite must not fire.
#include "ir/printer.h"
#include "ir/text_parser.h"
#include "ir/verifier.h"
#include "passes/cleanup.h"

#include <doctest/doctest.h>

using namespace netc;

namespace {
Graph ir(const char* text) { return parse_graph_text(text, "test.ir"); }
int count(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == k;
  return n;
}
} // namespace

TEST_CASE("dead code disappears, interface leaves stay") {
  Graph g = ir(R"(
%0 = input() {name="x"} : f32[batch,4]
%1 = exp(%0) : f32[batch,4]
%2 = log(%0) : f32[batch,4]
%3 = param() {name="unused"} : f32[3]
output y = %1
)");
  PassResult r = eliminate_dead_code(g);
  CHECK(r.changed);
  CHECK(count(r.graph, OpKind::Log) == 0);
  CHECK(count(r.graph, OpKind::Exp) == 1);
  CHECK(r.graph.find_leaf(OpKind::Param, "unused"));
  CHECK(verify(r.graph).empty());
  CHECK_FALSE(eliminate_dead_code(r.graph).changed);
}

TEST_CASE("identical computations are merged / different attributes are not") {
  Graph g = ir(R"(
%0 = input() {name="x"} : f32[batch,4]
%1 = reduce_sum(%0) {axes=[1]} : f32[batch]
%2 = reduce_sum(%0) {axes=[1]} : f32[batch]
%3 = reduce_sum(%0) {axes=[1], keepdims=1} : f32[batch,1]
%4 = add(%1, %2) : f32[batch]
output y = %4
output z = %3
)");
  PassResult r = eliminate_common_subexpressions(g);
  CHECK(r.changed);
  CHECK(count(r.graph, OpKind::ReduceSum) == 2);
  const Node& add = r.graph.node(r.graph.outputs[0].value);
  CHECK(add.inputs[0] == add.inputs[1]);
}

TEST_CASE("x*1, x+0 and same-shape reshapes vanish / broadcasting ones stay") {
  Graph g = ir(R"(
%0 = input() {name="x"} : f32[batch,4]
%1 = constant() {value=1.0} : f32[]
%2 = mul(%0, %1) : f32[batch,4]
%3 = constant() {value=0.0} : f32[]
%4 = add(%2, %3) : f32[batch,4]
%5 = reshape(%4) {shape=[-1,4]} : f32[batch,4]
%6 = input() {name="s"} : f32[]
%7 = add(%6, %3) : f32[]
%8 = reshape(%6) {shape=[1]} : f32[1]
%9 = mul(%8, %1) : f32[1]
%10 = mul(%1, %0) : f32[batch,4]
output y = %5
output z = %7
output w = %9
output v = %10
)");
  PassResult r = clean_up(g);
  CHECK(r.changed);
  CHECK(r.graph.outputs[0].value == 0);                              // y is x itself
  CHECK(r.graph.node(r.graph.outputs[1].value).op == OpKind::Input); // z is s
  CHECK(r.graph.node(r.graph.outputs[2].value).op == OpKind::Reshape);
  CHECK(r.graph.outputs[3].value == 0);
  CHECK(verify(r.graph).empty());
  CHECK_FALSE(clean_up(r.graph).changed);
}

TEST_CASE("x + 0 where 0 broadcasts x to a larger shape must not be removed") {
  Graph g = ir(R"(
%0 = input() {name="x"} : f32[4]
%1 = input() {name="zeros"} : f32[batch,4]
%2 = add(%0, %1) : f32[batch,4]
%3 = constant() {value=0.0} : f32[]
%4 = input() {name="b"} : f32[batch,1]
%5 = add(%4, %3) : f32[batch,1]
%6 = add(%0, %5) : f32[batch,4]
output y = %2
output z = %6
)");
  PassResult r = simplify(g);
  CHECK(r.changed); // %5 -> %4
  CHECK(count(r.graph, OpKind::Add) == 2);
}

TEST_CASE("scalar constant arithmetic folds") {
  Graph g = ir(R"(
%0 = constant() {value=2.0} : f32[]
%1 = constant() {value=3.0} : f32[]
%2 = mul(%0, %1) : f32[]
%3 = neg(%2) : f32[]
output y = %3
)");
  PassResult r = clean_up(g);
  const Node& y = r.graph.node(r.graph.outputs[0].value);
  CHECK(y.op == OpKind::Constant);
  CHECK(y.attrs.get_float("value") == -6.0);
}
