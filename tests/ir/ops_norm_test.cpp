// The norm family: batch normalization (training on batch statistics,
// inference on running statistics) and inverted dropout (identity in
// inference; in training a counter-based mask, reproducible per seed, step and
// stream), checked against values computed by hand.
#include "ir/interpreter.h"
#include "ir/random.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace netc;

namespace {

TensorType f32(Shape s) { return {DType::f32, std::move(s)}; }

// The message of the UserError raised while building `kind` over Input leaves.
std::string build_error(OpKind kind, const std::vector<TensorType>& types,
                        const Attrs& attrs = {}) {
  Graph g;
  GraphBuilder b(g);
  std::vector<ValueId> ins;
  for (size_t i = 0; i < types.size(); ++i)
    ins.push_back(b.leaf(OpKind::Input, types[i], Attrs{{"name", "in" + std::to_string(i)}}));
  try {
    b.op(kind, ins, attrs);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

template <class T>
void check_values(const Tensor<T>& t, const std::vector<double>& expected, double eps = 1e-6) {
  REQUIRE(t.data.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    CHECK(static_cast<double>(t.data[i]) == doctest::Approx(expected[i]).epsilon(eps));
}

// batchnorm(x, gamma, beta, running_mean, running_var), x declared as `shape`.
template <class T>
struct BatchNormNet {
  Graph g;
  std::map<std::string, Tensor<T>> values;

  BatchNormNet(Shape shape, int64_t batch, std::vector<T> x, std::vector<std::vector<T>> params,
               Attrs attrs = {}) {
    GraphBuilder b(g);
    std::vector<ValueId> ins = {add(b, OpKind::Input, "x", shape, batch, std::move(x))};
    const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
    int64_t c = static_cast<int64_t>(params[0].size());
    for (size_t i = 0; i < 4; ++i)
      ins.push_back(add(b, OpKind::Param, names[i], {c}, 1, params[i]));
    b.op(OpKind::BatchNorm, ins, attrs);
  }
  ValueId add(GraphBuilder& b, OpKind kind, const char* name, Shape s, int64_t batch,
              std::vector<T> data) {
    Tensor<T> t(s.concrete(batch));
    REQUIRE(t.data.size() == data.size());
    t.data = std::move(data);
    values.emplace(name, std::move(t));
    return b.leaf(kind, f32(std::move(s)), Attrs{{"name", name}});
  }
  Tensor<T> run(bool training, int64_t batch) {
    RefContext<T> ctx;
    ctx.training = training;
    ctx.batch = batch;
    ctx.values = &values;
    return interpret(g, ctx).back();
  }
};

// dropout(x, keep) with keep a Hyper leaf (default 0.8) and x = 1, 2, 3, ...
template <class T>
struct DropoutNet {
  Graph g;
  std::map<std::string, Tensor<T>> values;

  explicit DropoutNet(int64_t n, int64_t stream = 7) {
    GraphBuilder b(g);
    ValueId x = b.leaf(OpKind::Input, f32({kBatch, n}), Attrs{{"name", "x"}});
    ValueId keep = b.leaf(OpKind::Hyper, f32({}), Attrs{{"name", "keep"}, {"value", 0.8}});
    b.op(OpKind::Dropout, {x, keep}, Attrs{{"stream", stream}});
    Tensor<T> t({2, n});
    for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<T>(i + 1);
    values.emplace("x", std::move(t));
  }
  Tensor<T> run(bool training, int64_t step = 3, uint64_t seed = 42) {
    RefContext<T> ctx;
    ctx.training = training;
    ctx.batch = 2;
    ctx.seed = seed;
    ctx.step = step;
    ctx.values = &values;
    return interpret(g, ctx).back();
  }
};

} // namespace

TEST_CASE("batchnorm shape rule") {
  std::vector<TensorType> p4(4, f32({3}));
  auto with = [&](TensorType x) {
    std::vector<TensorType> in = {std::move(x)};
    in.insert(in.end(), p4.begin(), p4.end());
    return in;
  };
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Input, f32({kBatch, 3, 8, 8}), Attrs{{"name", "x"}});
  std::vector<ValueId> ins = {x};
  for (const char* n : {"g", "b", "m", "v"})
    ins.push_back(b.leaf(OpKind::Param, f32({3}), Attrs{{"name", n}}));
  CHECK(g.node(b.op(OpKind::BatchNorm, ins)).type == f32({kBatch, 3, 8, 8}));

  CHECK(build_error(OpKind::BatchNorm, with(f32({kBatch, 3}))).empty());
  CHECK(
      build_error(OpKind::BatchNorm, with(f32({3, kBatch})), Attrs{{"axis", int64_t{0}}}).empty());
  CHECK(contains(build_error(OpKind::BatchNorm, with(f32({kBatch, 5, 3}))),
                 "the input must be [N,C] or [N,C,H,W], found [batch,5,3]"));
  CHECK(contains(build_error(OpKind::BatchNorm, with(f32({kBatch, 4}))),
                 "gamma must be f32[4] for the input f32[batch,4] (axis 1), found f32[3]"));
  auto bad = with(f32({kBatch, 3, 2, 2}));
  bad[4] = f32({3, 1});
  CHECK(contains(build_error(OpKind::BatchNorm, bad), "running_var must be f32[3]"));
  CHECK(contains(build_error(OpKind::BatchNorm, bad), "found f32[3,1]"));
  CHECK(
      contains(build_error(OpKind::BatchNorm, with(f32({kBatch, 3})), Attrs{{"axis", int64_t{2}}}),
               "axis 2 is out of range for a rank-2 input"));
  CHECK(
      contains(build_error(OpKind::BatchNorm, with(f32({kBatch, 3})), Attrs{{"axis", int64_t{0}}}),
               "is the batch dimension"));
  CHECK(contains(build_error(OpKind::BatchNorm, with(f32({kBatch, 3})), Attrs{{"eps", -1.0}}),
                 "eps must be >= 0"));
  CHECK(contains(build_error(OpKind::BatchNorm, with(f32({kBatch, 3})), Attrs{{"momentum", 2.0}}),
                 "momentum must be in [0,1]"));
  CHECK(contains(build_error(OpKind::BatchNorm, {f32({kBatch, 3})}), "expects 5 inputs, found 1"));
  CHECK(op_def(OpKind::BatchNorm).flops(g.nodes.back(), with(f32({kBatch, 3, 8, 8}))) ==
        5 * 3 * 64);
}

TEST_CASE_TEMPLATE("batchnorm [N,C] by hand", T, float, double) {
  // Column 0 = 1,2,3,4: mu 2.5, biased var 1.25. Column 1 = 0,0,4,4: mu 2, var 4,
  // so z = -1,-1,1,1. gamma = (2, 1), beta = (0, 3), eps = 0.
  std::vector<T> x = {1, 0, 2, 0, 3, 4, 4, 4};
  Attrs eps0{{"eps", 0.0}};
  BatchNormNet<T> net({kBatch, 2}, 4, x, {{2, 1}, {0, 3}, {1, 1}, {4, 16}}, eps0);
  double s = std::sqrt(1.25);
  check_values(net.run(true, 4),
               {2 * -1.5 / s, 2, 2 * -0.5 / s, 2, 2 * 0.5 / s, 4, 2 * 1.5 / s, 4});
  // Inference: running mean (1, 1), running var (4, 16): z = (x - 1)/2, (x - 1)/4.
  check_values(net.run(false, 4), {0, 2.75, 1, 2.75, 2, 3.75, 3, 3.75});
}

TEST_CASE_TEMPLATE("batchnorm [N,C,H,W] normalizes over N, H and W", T, float, double) {
  // [2,2,1,2]. Channel 0 reads (1,5) in both examples: mu 3, var 4, z = -1, 1.
  // Channel 1 reads (0,4) then (4,0): mu 2, var 4, z = -1, 1, 1, -1.
  // gamma = (2, 3), beta = (1, -1).
  std::vector<T> x = {1, 5, 0, 4, 1, 5, 4, 0};
  BatchNormNet<T> net({kBatch, 2, 1, 2}, 2, x, {{2, 3}, {1, -1}, {0, 0}, {1, 1}},
                      Attrs{{"eps", 0.0}});
  check_values(net.run(true, 2), {-1, 3, -4, 2, -1, 3, 2, -4});
  // Default eps 1e-5 shrinks z by sqrt(4 / (4 + 1e-5)).
  BatchNormNet<T> def({kBatch, 2, 1, 2}, 2, x, {{2, 3}, {1, -1}, {0, 0}, {1, 1}});
  double k = std::sqrt(4 / (4 + 1e-5));
  check_values(def.run(true, 2), {1 - 2 * k, 1 + 2 * k, -1 - 3 * k, -1 + 3 * k, 1 - 2 * k,
                                  1 + 2 * k, -1 + 3 * k, -1 - 3 * k});
  // Inference with running statistics (0, 1) is gamma x + beta.
  check_values(def.run(false, 2), {2 * 1 + 1, 2 * 5 + 1, -1, 11, 3, 11, 11, -1}, 1e-4);
}

TEST_CASE_TEMPLATE("batchnorm output has mean beta and variance gamma^2", T, float, double) {
  // Channel axis 0 of a [C, N] input (axis attribute), 3 channels x 50 examples.
  const int64_t C = 3, N = 50;
  std::vector<T> x;
  for (int64_t i = 0; i < C * N; ++i)
    x.push_back(T(10) * uniform01(5, 0, 0, uint32_t(i)) + T(i % 3));
  BatchNormNet<T> net({C, kBatch}, N, x, {{1, 2, 0.5}, {0, -1, 4}, {0, 0, 0}, {1, 1, 1}},
                      Attrs{{"axis", int64_t{0}}});
  Tensor<T> y = net.run(true, N);
  const double gamma[] = {1, 2, 0.5}, beta[] = {0, -1, 4};
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < N; ++n) sum += double(y[c * N + n]);
    double mu = sum / N;
    for (int64_t n = 0; n < N; ++n) sq += (double(y[c * N + n]) - mu) * (double(y[c * N + n]) - mu);
    CHECK(mu == doctest::Approx(beta[c]).epsilon(1e-5));
    CHECK(sq / N == doctest::Approx(gamma[c] * gamma[c]).epsilon(1e-3)); // eps shrinks it a bit
  }
}

TEST_CASE("dropout shape rule") {
  Graph g;
  GraphBuilder b(g);
  ValueId x = b.leaf(OpKind::Input, f32({kBatch, 10}), Attrs{{"name", "x"}});
  ValueId keep = b.leaf(OpKind::Hyper, f32({}), Attrs{{"name", "keep"}, {"value", 0.8}});
  ValueId y = b.op(OpKind::Dropout, {x, keep}, Attrs{{"stream", int64_t{0}}});
  CHECK(g.node(y).type == f32({kBatch, 10}));
  std::vector<TensorType> types = {f32({kBatch, 10}), f32({})};
  CHECK(op_def(OpKind::Dropout).flops(g.node(y), types) == 10);

  Attrs s{{"stream", int64_t{1}}};
  CHECK(contains(build_error(OpKind::Dropout, {f32({kBatch, 10}), f32({1})}, s),
                 "the keep probability must be a f32[] scalar for the input f32[batch,10], "
                 "found f32[1]"));
  CHECK(contains(build_error(OpKind::Dropout, {f32({kBatch, 10}), f32({})}),
                 "missing attribute 'stream'"));
  CHECK(contains(
      build_error(OpKind::Dropout, {f32({kBatch, 10}), f32({})}, Attrs{{"stream", int64_t{-1}}}),
      "stream must be in [0, 2^32)"));
  CHECK(contains(build_error(OpKind::Dropout, {TensorType{DType::i64, Shape{4}}, f32({})}, s),
                 "the input must be f32 or f64, found i64[4]"));
  CHECK(contains(build_error(OpKind::Dropout, {f32({4})}, s), "expects 2 inputs, found 1"));
}

TEST_CASE_TEMPLATE("dropout is the identity in inference", T, float, double) {
  DropoutNet<T> net(100);
  CHECK(net.run(false).data == net.values.at("x").data);
}

TEST_CASE_TEMPLATE("dropout in training: inverted Bernoulli(keep) mask", T, float, double) {
  const int64_t n = 10000;
  DropoutNet<T> net(n / 2);
  Tensor<T> y = net.run(true);
  const std::vector<T>& x = net.values.at("x").data;
  const T keep = static_cast<T>(0.8);
  int64_t kept = 0;
  for (int64_t e = 0; e < n; ++e) {
    // The mask is exactly the generator's draw for (seed 42, stream 7, step 3, e).
    bool on = uniform01(42, 7, 3, uint32_t(e)) < 0.8f;
    if (on) {
      ++kept;
      CHECK(y[e] == x[size_t(e)] / keep);
    } else {
      CHECK(y[e] == T(0));
    }
  }
  // Binomial(10000, 0.8): standard deviation 40, so +-200 is five sigma.
  CHECK(kept > 8000 - 200);
  CHECK(kept < 8000 + 200);
}

TEST_CASE_TEMPLATE("dropout masks are reproducible and vary by step, stream and seed", T, float,
                   double) {
  DropoutNet<T> net(500);
  auto mask = [](const Tensor<T>& y) {
    std::vector<bool> m;
    for (T v : y.data) m.push_back(v != T(0));
    return m;
  };
  auto base = mask(net.run(true, 3, 42));
  CHECK(mask(net.run(true, 3, 42)) == base);
  CHECK(mask(net.run(true, 4, 42)) != base);
  CHECK(mask(net.run(true, 3, 43)) != base);
  CHECK(mask(DropoutNet<T>(500, 8).run(true, 3, 42)) != base);
}

TEST_CASE_TEMPLATE("dropout keep is a runtime hyperparameter checked in training", T, float,
                   double) {
  DropoutNet<T> net(100);
  RefContext<T> ctx;
  ctx.training = true;
  ctx.batch = 2;
  ctx.values = &net.values;
  // keep = 1: nothing is dropped and nothing is scaled.
  ctx.hypers["keep"] = 1.0;
  CHECK(interpret(net.g, ctx).back().data == net.values.at("x").data);
  // keep = 0.5: the kept values double.
  ctx.hypers["keep"] = 0.5;
  Tensor<T> y = interpret(net.g, ctx).back();
  for (int64_t e = 0; e < y.size(); ++e) {
    CAPTURE(e);
    CHECK((y[e] == T(0) || y[e] == 2 * net.values.at("x")[e]));
  }
  for (double bad : {0.0, -0.5, 1.5}) {
    ctx.hypers["keep"] = bad;
    ctx.training = true;
    CHECK_THROWS_WITH_AS(interpret(net.g, ctx),
                         doctest::Contains("dropout: the keep probability "
                                           "must be in (0,1]"),
                         UserError);
    ctx.training = false; // unused, so unchecked, in inference
    CHECK_NOTHROW(interpret(net.g, ctx));
  }
}
