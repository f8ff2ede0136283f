// The optimizer updates against hand-computed sequences (SPEC section 4), on
// loss = 0.5 * sum(w^2), whose gradient is w itself, from w0 = (1, -2) with
// lr = 0.1 and the default betas and eps. The expected values were worked
// out by hand from the formulas in passes/optimizer.h (e.g. momentum's first
// step: V = 0.1 * 1, w = 1 - 0.1 * 0.1 = 0.99; Adam's first step moves each
// weight by lr * g / (|g| + eps) thanks to the bias correction).
#include "ir/interpreter.h"
#include "ir/text_parser.h"
#include "ir/verifier.h"
#include "passes/cleanup.h"
#include "passes/optimizer.h"

#include <doctest/doctest.h>

using namespace netc;

namespace {

const char* kQuadratic = R"(
%0 = param() {name="w"} : f32[2]
%1 = mul(%0, %0) : f32[2]
%2 = reduce_sum(%1) {axes=[0]} : f32[]
%3 = constant() {value=0.5} : f32[]
%4 = mul(%2, %3) : f32[]
loss loss = %4
)";

std::vector<std::vector<double>> three_steps(const std::string& kind) {
  Graph g = parse_graph_text(kQuadratic, "quadratic.ir");
  g.train.optimizer.kind = kind;
  g.train.optimizer.lr = 0.1;
  Graph step = clean_up(append_optimizer(differentiate(g), g.train)).graph;
  REQUIRE(verify(step).empty());
  std::map<std::string, Tensor<double>> values = initial_values<double>(step, 1);
  values["w"].data = {1.0, -2.0};
  std::vector<std::vector<double>> out;
  for (int t = 0; t < 3; ++t) {
    RefContext<double> ctx;
    ctx.values = &values;
    auto result = interpret(step, ctx);
    for (const auto& u : step.updates) values[u.name] = result[static_cast<size_t>(u.value)];
    out.push_back(values["w"].data);
  }
  CHECK(values["step"][0] == 3.0);
  return out;
}

void check_sequence(const std::string& kind, const std::vector<std::vector<double>>& expected) {
  CAPTURE(kind);
  auto got = three_steps(kind);
  for (size_t t = 0; t < 3; ++t)
    for (size_t i = 0; i < 2; ++i)
      CHECK(got[t][i] == doctest::Approx(expected[t][i]).epsilon(1e-10));
}

} // namespace

TEST_CASE("sgd: w -= lr dW") {
  check_sequence("sgd", {{0.9, -1.8}, {0.81, -1.62}, {0.729, -1.458}});
}

TEST_CASE("momentum: V = beta V + (1 - beta) dW / w -= lr V") {
  check_sequence("momentum", {{0.99, -1.98}, {0.9711, -1.9422}, {0.944379, -1.888758}});
}

TEST_CASE("rmsprop: S = beta S + (1 - beta) dW^2 / w -= lr dW / (sqrt(S) + eps)") {
  check_sequence("rmsprop", {{0.683772243983, -1.68377223898},
                             {0.498870620117, -1.47387532077},
                             {0.369180567428, -1.30871787563}});
}

TEST_CASE("adam with bias correction") {
  check_sequence("adam", {{0.900000001, -1.9000000005},
                          {0.800412229712, -1.80016648662},
                          {0.701586274504, -1.70062339281}});
}

TEST_CASE("the optimizer's scalars are runtime hyperparameters and its moments are state") {
  Graph g = parse_graph_text(kQuadratic, "quadratic.ir");
  Graph step = append_optimizer(differentiate(g), g.train); // adam by default
  for (const char* h : {"lr", "beta1", "beta2", "eps"}) CHECK(step.find_leaf(OpKind::Hyper, h));
  for (const char* s : {"step", "w.m", "w.v"}) CHECK(step.find_leaf(OpKind::State, s));
  std::vector<std::string> updated;
  for (const auto& u : step.updates) updated.push_back(u.name);
  CHECK(updated == std::vector<std::string>{"step", "w.m", "w.v", "w"});
}

TEST_CASE("frozen params are not updated") {
  std::string text = kQuadratic;
  text.replace(text.find("{name=\"w\"}"), 10, "{frozen=1, name=\"w\"}");
  Graph g = parse_graph_text(text, "frozen.ir");
  Graph step = append_optimizer(differentiate(g), g.train);
  for (const auto& u : step.updates) CHECK(u.name == "step");
}
