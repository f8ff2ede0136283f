// Gradient rules of the data-movement ops against central differences in
// double (relative error < 1e-6): reshape, transpose (every permutation of a
// rank-3 tensor, negative entries), concat (2 and 3 inputs, negative axes, a
// static axis beside a trailing batch), slice (negative and clamped bounds),
// broadcast and pad; at batch 1 and 3.
#include "grad_check.h"

#include "ir/ops/common.h"

#include <algorithm>

using namespace netc;
using namespace netc::grad_test;

namespace {

constexpr int64_t B = kBatch;
constexpr double kTol = 1e-6;

Attrs ints(const char* name, std::vector<int64_t> v) { return Attrs{{name, std::move(v)}}; }

double error_at_batches(OpKind kind, const std::vector<Operand>& ops, const Attrs& attrs) {
  double worst = 0;
  for (int64_t batch : {1, 3}) worst = std::max(worst, op_gradient_error(kind, ops, attrs, batch));
  return worst;
}

} // namespace

TEST_CASE("grad: reshape back") {
  struct Case {
    Shape from;
    std::vector<int64_t> to;
  };
  const Case cases[] = {
      {{B, 2, 3}, {-1, 6}}, {{B, 6}, {2, B, 3}}, {{2, 6}, {3, 4}}, {{1}, {}},
      {{}, {1, 1}},         {{3, B, 2}, {B, 6}},
  };
  for (const Case& c : cases) {
    INFO(to_string(c.from), " to ", list_string(c.to));
    CHECK(error_at_batches(OpKind::Reshape, {param(c.from)}, ints("shape", c.to)) < kTol);
  }
}

TEST_CASE("grad: transpose by the inverse permutation") {
  std::vector<int64_t> perm = {0, 1, 2};
  do {
    INFO("perm ", list_string(perm));
    CHECK(error_at_batches(OpKind::Transpose, {param({B, 3, 4})}, ints("perm", perm)) < kTol);
    CHECK(error_at_batches(OpKind::Transpose, {param({2, 3, B})}, ints("perm", perm)) < kTol);
  } while (std::next_permutation(perm.begin(), perm.end()));
  CHECK(error_at_batches(OpKind::Transpose, {param({B, 3, 4})}, ints("perm", {-1, 0, -2})) < kTol);
  CHECK(error_at_batches(OpKind::Transpose, {param({B, 3})}, ints("perm", {1, 0})) < kTol);
  CHECK(error_at_batches(OpKind::Transpose, {param({})}, ints("perm", {})) < kTol);
}

TEST_CASE("grad: concat hands each input its band") {
  Attrs axis1{{"axis", int64_t(1)}}, last{{"axis", int64_t(-1)}}, first{{"axis", int64_t(0)}};
  CHECK(error_at_batches(OpKind::Concat, {param({B, 2}), param({B, 3})}, axis1) < kTol);
  CHECK(error_at_batches(OpKind::Concat, {param({B, 2, 1}), param({B, 2, 3}), param({B, 2, 2})},
                         last) < kTol);
  CHECK(error_at_batches(OpKind::Concat, {param({2, B}), param({3, B})}, first) < kTol);
  CHECK(error_at_batches(OpKind::Concat, {param({2, 4}), param({1, 4})}, first) < kTol);
  CHECK(error_at_batches(OpKind::Concat, {param({B, 3})}, axis1) < kTol);
  // The same value twice: both bands add up in its gradient (fan-out).
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Param, {DType::f32, Shape{B, 2}}, Attrs{{"name", "x"}});
  ValueId c = b.op(OpKind::Concat, {x, x}, axis1);
  ValueId w = b.leaf(OpKind::Input, g.node(c).type, Attrs{{"name", "w"}});
  g.loss = NamedValue{"loss", b.op(OpKind::ReduceSum, {b.op(OpKind::Mul, {c, w})}), {}};
  Tensor<double> wv({1, 4});
  wv.data = {1, 2, 10, 20};
  std::map<std::string, Tensor<double>> values{{"x", Tensor<double>({1, 2}, 0.0)}, {"w", wv}};
  Differentiated d = differentiate(g);
  RefContext<double> ctx;
  ctx.values = &values;
  CHECK(interpret(d.graph, ctx)[size_t(d.grads[0].value)].data == std::vector<double>{11, 22});
}

TEST_CASE("grad: slice pads the gradient back with zeros") {
  auto slice = [](int64_t axis, int64_t start, int64_t end) {
    return Attrs{{"axis", axis}, {"start", start}, {"end", end}};
  };
  CHECK(error_at_batches(OpKind::Slice, {param({B, 5})}, slice(1, 1, 3)) < kTol);
  CHECK(error_at_batches(OpKind::Slice, {param({B, 5})}, slice(-1, -3, 100)) < kTol);
  CHECK(error_at_batches(OpKind::Slice, {param({B, 5, 2})}, slice(1, 0, 1)) < kTol);
  CHECK(error_at_batches(OpKind::Slice, {param({B, 5, 2})}, slice(2, 1, 2)) < kTol);
  CHECK(error_at_batches(OpKind::Slice, {param({4, B})}, slice(0, 2, 4)) < kTol);
  CHECK(error_at_batches(OpKind::Slice, {param({4})}, slice(0, 0, 4)) < kTol);
}

TEST_CASE("grad: broadcast sums over the stretched axes") {
  CHECK(error_at_batches(OpKind::Broadcast, {param({3})}, ints("shape", {-1, 2, 3})) < kTol);
  CHECK(error_at_batches(OpKind::Broadcast, {param({B, 1})}, ints("shape", {-1, 4})) < kTol);
  CHECK(error_at_batches(OpKind::Broadcast, {param({1, 3})}, ints("shape", {-1, 3})) < kTol);
  CHECK(error_at_batches(OpKind::Broadcast, {param({})}, ints("shape", {3, -1})) < kTol);
  CHECK(error_at_batches(OpKind::Broadcast, {param({B, 3})}, ints("shape", {-1, 3})) < kTol);
}

TEST_CASE("grad: pad slices the gradient back out") {
  auto pad = [](int64_t axis, int64_t before, int64_t after) {
    return Attrs{{"axis", axis}, {"before", before}, {"after", after}};
  };
  CHECK(error_at_batches(OpKind::Pad, {param({B, 3})}, pad(1, 2, 1)) < kTol);
  CHECK(error_at_batches(OpKind::Pad, {param({B, 3, 2})}, pad(-2, 0, 3)) < kTol);
  CHECK(error_at_batches(OpKind::Pad, {param({2, B})}, pad(0, 1, 0)) < kTol);
  CHECK(error_at_batches(OpKind::Pad, {param({4})}, pad(0, 0, 0)) < kTol);
}
