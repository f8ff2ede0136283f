// softmax and log_softmax: shapes and axes, values in float and double,
// numerical stability for large logits, and FLOPs.
#include "op_test_helpers.h"

#include <cmath>

using namespace netc;
using namespace netc::op_test;

namespace {

Attrs on_axis(int64_t a) { return Attrs{{"axis", a}}; }

// softmax of a row, computed the textbook way (safe for these small values).
std::vector<double> softmax_of(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += std::exp(v);
  std::vector<double> out;
  for (double v : x) out.push_back(std::exp(v) / sum);
  return out;
}

std::vector<double> log_of(std::vector<double> v) {
  for (double& x : v) x = std::log(x);
  return v;
}

std::vector<double> join(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

TEST_CASE("softmax, log_softmax: shapes and axes") {
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    INFO(op_name(k));
    CHECK(out_type(k, {f32({B, 10})}) == f32({B, 10}));
    CHECK(out_type(k, {f64({B, 10})}, on_axis(0)) == f64({B, 10}));
    CHECK(out_type(k, {f32({B, 3, 4})}, on_axis(-2)) == f32({B, 3, 4}));
    std::string e = build_error(k, {f32({B, 10})}, on_axis(2));
    CHECK(contains(e, std::string(op_name(k)) +
                          ": axis 2 is out of range for f32[batch,10] (expected -2..1)"));
    e = build_error(k, {f32({})});
    CHECK(contains(e, "axis -1 is out of range for the scalar f32[]"));
    e = build_error(k, {i32({B, 10})});
    CHECK(contains(e, "input must be a float tensor (f32 or f64), found i32[batch,10]"));
  }
}

TEST_CASE_TEMPLATE("softmax: rows along the last axis", T, float, double) {
  std::vector<double> r0 = {1, 2, 3}, r1 = {0, 0, -1};
  Tensor<T> y = run<T>(OpKind::Softmax, {{Shape{B, 3}, join(r0, r1)}}, {}, 2);
  check_values(y, {2, 3}, join(softmax_of(r0), softmax_of(r1)));
  check_values(run<T>(OpKind::Softmax, {{Shape{B, 3}, r0}}, on_axis(1), 1), {1, 3}, softmax_of(r0));
}

TEST_CASE_TEMPLATE("softmax: along a leading axis", T, float, double) {
  // [batch,2] at batch 3, axis 0: each column is normalized over the batch.
  std::vector<double> x = {1, 0, 2, 0, 3, 5};
  std::vector<double> c0 = softmax_of({1, 2, 3}), c1 = softmax_of({0, 0, 5});
  check_values(run<T>(OpKind::Softmax, {{Shape{B, 2}, x}}, on_axis(0), 3), {3, 2},
               {c0[0], c1[0], c0[1], c1[1], c0[2], c1[2]});
  // A middle axis of [2,2,2]: y[i,:,k] = softmax(x[i,:,k]).
  std::vector<double> x3 = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<double> s = softmax_of({0, 2}); // every pair differs by 2
  check_values(run<T>(OpKind::Softmax, {{Shape{2, 2, 2}, x3}}, on_axis(1)), {2, 2, 2},
               {s[0], s[0], s[1], s[1], s[0], s[0], s[1], s[1]});
}

TEST_CASE_TEMPLATE("log_softmax: equals log(softmax)", T, float, double) {
  std::vector<double> r0 = {1, 2, 3}, r1 = {-2, 0.5, 4};
  check_values(run<T>(OpKind::LogSoftmax, {{Shape{B, 3}, join(r0, r1)}}, {}, 2), {2, 3},
               join(log_of(softmax_of(r0)), log_of(softmax_of(r1))));
  std::vector<double> x = {1, 0, 2, 0, 3, 5};
  std::vector<double> c0 = log_of(softmax_of({1, 2, 3})), c1 = log_of(softmax_of({0, 0, 5}));
  check_values(run<T>(OpKind::LogSoftmax, {{Shape{B, 2}, x}}, on_axis(-2), 3), {3, 2},
               {c0[0], c1[0], c0[1], c1[1], c0[2], c1[2]});
}

TEST_CASE_TEMPLATE("softmax, log_softmax: stable for large logits", T, float, double) {
  // e^1000 overflows; subtracting the max makes this softmax([0, 1, -1000]).
  std::vector<double> x = {1000, 1001, 0};
  double e = std::exp(-1.0);
  std::vector<double> want = {e / (1 + e), 1 / (1 + e), 0};
  check_values(run<T>(OpKind::Softmax, {{Shape{3}, x}}), {3}, want);
  double lse = 1001 + std::log1p(e);
  check_values(run<T>(OpKind::LogSoftmax, {{Shape{3}, x}}), {3}, {1000 - lse, 1001 - lse, -lse});
  // Very negative logits do not underflow to 0/0.
  check_values(run<T>(OpKind::Softmax, {{Shape{2}, {-1000, -1000}}}), {2}, {0.5, 0.5});
  check_values(run<T>(OpKind::LogSoftmax, {{Shape{2}, {-1000, -1000}}}), {2},
               {-std::log(2.0), -std::log(2.0)});
}

TEST_CASE("softmax, log_softmax: about 5 FLOPs per element") {
  CHECK(flops(OpKind::Softmax, {f32({B, 10})}) == 50);
  CHECK(flops(OpKind::LogSoftmax, {f32({B, 10})}) == 50);
}
