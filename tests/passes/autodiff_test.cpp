// The autodiff pass itself: fan-out, shared parameters, frozen parameters,
// integer inputs, missing rules, and whole example models against central
// differences (the op-by-op checks are in grad_<family>_test.cpp).
#include "frontend/frontend.h"
#include "grad_check.h"
#include "ir/text_parser.h"
#include "ir/verifier.h"
#include "passes/specialize.h"

using namespace netc;
using namespace netc::grad_test;

namespace {

Graph example(const std::string& name) {
  return load_model(std::string(NETC_SOURCE_DIR) + "/examples/" + name + ".nn");
}

std::map<std::string, Tensor<double>> random_values(const Graph& g, int64_t batch) {
  auto values = initial_values<double>(g, 5, batch);
  for (ValueId v : g.leaves(OpKind::Input)) {
    const Node& n = g.node(v);
    Tensor<double> t(n.type.shape.concrete(batch));
    int64_t classes = n.attrs.get_int("num_classes", 0);
    for (int64_t i = 0; i < t.size(); ++i)
      t[i] = classes ? double(hash32(1, 2, 3, uint32_t(i)) % uint64_t(classes))
             : n.attrs.get_str("role", "data") == "label"
                 ? double(i % 2)
                 : counter_normal(7, name_stream(n.attrs.get_str("name")), uint32_t(i));
    values[n.attrs.get_str("name")] = std::move(t);
  }
  return values;
}

} // namespace

TEST_CASE("fan-out sums the gradients of every use") {
  // loss = sum(w * w + w): dloss/dw = 2w + 1
  Graph g = parse_graph_text(R"(
%0 = param() {name="w"} : f32[3]
%1 = mul(%0, %0) : f32[3]
%2 = add(%1, %0) : f32[3]
%3 = reduce_sum(%2) {axes=[0]} : f32[]
loss loss = %3
)",
                             "fanout.ir");
  Differentiated d = differentiate(g);
  REQUIRE(d.grads.size() == 1);
  CHECK(verify(d.graph).empty());
  std::map<std::string, Tensor<double>> values{{"w", Tensor<double>({3})}};
  values["w"].data = {0.5, -1.0, 2.0};
  RefContext<double> ctx;
  ctx.values = &values;
  auto r = interpret(d.graph, ctx);
  const auto& dw = r[size_t(d.grads[0].value)];
  CHECK(dw.data == std::vector<double>{2.0, -1.0, 5.0});
}

TEST_CASE("a shared parameter gets the sum of its gradients (Siamese network)") {
  Graph g = example("siamese");
  std::vector<std::string> names;
  for (const auto& gv : differentiate(g).grads) names.push_back(gv.name);
  CHECK(names == std::vector<std::string>{"enc1.W", "enc1.b", "enc2.W", "enc2.b"});
  auto r = check_graph_gradients(g, random_values(g, 3), 3);
  for (const auto& [name, e] : r.relative_error) {
    CAPTURE(name);
    CHECK(e < 1e-6);
  }
  CHECK(r.max_abs_gradient > 0);
}

TEST_CASE("frozen parameters and integer inputs get no gradient") {
  Graph g = example("transfer");
  Differentiated d = differentiate(g);
  for (const auto& gv : d.grads) {
    auto leaf = g.find_leaf(OpKind::Param, gv.name);
    REQUIRE(leaf);
    CHECK(g.node(*leaf).attrs.get_int("frozen", 0) == 0);
  }
  CHECK(d.grads.size() < g.leaves(OpKind::Param).size());
}

TEST_CASE("ops without a gradient rule are all reported, each at its line") {
  Graph g = parse_graph_text(R"(
%0 = param() {name="x"} : f32[1,3,6,6]
%1 = param() {name="dy"} : f32[1,2,4,4]
%2 = conv2d_backward_weight(%0, %1) {dilation=[1,1], groups=1, pad=[0,0], stride=[1,1], weight_shape=[2,3,3,3]} : f32[2,3,3,3] @3:7
%3 = conv2d_backward_weight(%0, %1) {dilation=[1,1], groups=1, pad=[0,0], stride=[1,1], weight_shape=[2,3,3,3]} : f32[2,3,3,3] @4:9
%4 = add(%2, %3) : f32[2,3,3,3]
%5 = reduce_sum(%4) {axes=[0,1,2,3]} : f32[]
loss loss = %5
)",
                             "model.nn");
  g.source_file = "model.nn";
  try {
    differentiate(g);
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].loc == SourceLoc{3, 7});
    CHECK(e.diagnostics()[1].loc == SourceLoc{4, 9});
    CHECK(std::string(e.what()).find("model.nn:3:7: error: cannot differentiate "
                                     "'conv2d_backward_weight'") != std::string::npos);
  }
}

TEST_CASE("every example's training graph differentiates correctly (central differences)") {
  for (const char* name : {"multilabel", "siamese", "transfer", "multitask"}) {
    CAPTURE(std::string(name));
    Graph g = specialize_for_training(example(name)).graph;
    auto values = random_values(g, 4);
    auto r = check_graph_gradients(g, values, 4);
    for (const auto& [param, e] : r.relative_error) {
      CAPTURE(param);
      CHECK(e < 1e-6);
    }
    CHECK(r.max_abs_gradient > 0);
  }
}
