// The backward ops of the conv family (conv2d_backward_input,
// conv2d_backward_weight, maxpool_backward, avgpool_backward): shapes and
// rejections, values computed by hand, and adjointness against the forward op
// for random tensors, an independent check of every formula:
//   <dy, conv2d(x, w)> = <conv2d_backward_input(dy, w), x> = <conv2d_backward_weight(x, dy), w>
//   <dy, avgpool(x)>   = <avgpool_backward(dy), x>
//   <dy, maxpool(x)>   = <maxpool_backward(x, dy), x>   (maxpool selects: y[o] = x[argmax o])
#include "op_test_helpers.h"

#include "ir/init.h"

#include <cmath>
#include <limits>

using namespace netc;
using namespace netc::op_test;

namespace {

Attrs with(Attrs a, const std::string& name, std::vector<int64_t> v) {
  a.set(name, std::move(v));
  return a;
}

// Normal samples, a pure function of (n, stream).
std::vector<double> random_data(int64_t n, uint32_t stream) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(counter_normal(3, stream, static_cast<uint32_t>(i)));
  return v;
}

Arg random_arg(const Shape& s, int64_t batch, uint32_t stream) {
  return {s, random_data(s.elements(batch), stream)};
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

void check_adjoint(double forward, double backward) {
  CHECK(forward != 0);
  CHECK(backward == doctest::Approx(forward).epsilon(1e-12));
}

struct ConvCase {
  Shape x, w;
  Attrs attrs;
};

} // namespace

TEST_CASE("conv2d backward ops: shapes") {
  Attrs a{{"groups", int64_t(2)}, {"stride", std::vector<int64_t>{2, 1}}};
  // x [B,4,5,6], w [6,2,3,2] -> y [B,6,2,5]
  CHECK(out_type(OpKind::Conv2dBackwardInput, {f32({B, 6, 2, 5}), f32({6, 2, 3, 2})},
                 with(a, "input_shape", {-1, 4, 5, 6})) == f32({B, 4, 5, 6}));
  CHECK(out_type(OpKind::Conv2dBackwardWeight, {f32({B, 4, 5, 6}), f32({B, 6, 2, 5})},
                 with(a, "weight_shape", {6, 2, 3, 2})) == f32({6, 2, 3, 2}));
  // stride 2 leaves the last input row unread; input_shape still gives it back.
  CHECK(out_type(OpKind::Conv2dBackwardInput, {f64({2, 1, 2, 2}), f64({1, 1, 1, 1})},
                 Attrs{{"stride", std::vector<int64_t>{2, 2}},
                       {"input_shape", std::vector<int64_t>{2, 1, 4, 4}}}) == f64({2, 1, 4, 4}));
  Attrs pool{{"kernel", std::vector<int64_t>{3, 3}},
             {"stride", std::vector<int64_t>{2, 2}},
             {"pad", std::vector<int64_t>{1, 1}}};
  CHECK(out_type(OpKind::MaxPoolBackward, {f32({B, 3, 5, 6}), f32({B, 3, 3, 3})}, pool) ==
        f32({B, 3, 5, 6}));
  CHECK(out_type(OpKind::AvgPoolBackward, {f32({B, 3, 3, 3})},
                 with(pool, "input_shape", {-1, 3, 5, 6})) == f32({B, 3, 5, 6}));
}

TEST_CASE("conv2d backward ops: errors name the shapes") {
  Attrs in_shape{{"input_shape", std::vector<int64_t>{-1, 2, 3, 3}}};
  std::string e =
      build_error(OpKind::Conv2dBackwardInput, {f32({B, 3, 3, 3}), f32({3, 2, 2, 2})}, in_shape);
  CHECK(contains(e, "conv2d_backward_input"));
  CHECK(contains(e, "dy is f32[batch,3,3,3] but the forward conv2d gives f32[batch,3,2,2]"));
  e = build_error(OpKind::Conv2dBackwardInput, {f32({B, 3, 3, 3}), f32({3, 2, 2, 2})},
                  Attrs{{"input_shape", std::vector<int64_t>{2, 4, 4}}});
  CHECK(contains(e, "attribute 'input_shape' must have 4 values, found [2,4,4]"));
  CHECK(build_error(OpKind::Conv2dBackwardInput, {f32({B, 3, 3, 3}), f32({3, 2, 2, 2})}) != "");
  // The forward rule's own checks apply: 3 input channels, weights expect 2.
  e = build_error(OpKind::Conv2dBackwardInput, {f32({B, 3, 3, 3}), f32({3, 2, 2, 2})},
                  Attrs{{"input_shape", std::vector<int64_t>{-1, 3, 4, 4}}});
  CHECK(contains(e, "channels"));
  e = build_error(OpKind::Conv2dBackwardWeight, {f32({B, 2, 4, 4}), f32({B, 3, 2, 2})},
                  Attrs{{"weight_shape", std::vector<int64_t>{3, 2, 2, 2}}});
  CHECK(contains(e, "dy is f32[batch,3,2,2] but the forward conv2d gives f32[batch,3,3,3]"));
  e = build_error(OpKind::Conv2dBackwardWeight, {f32({B, 2, 4, 4}), f64({B, 3, 3, 3})},
                  Attrs{{"weight_shape", std::vector<int64_t>{3, 2, 2, 2}}});
  CHECK(contains(e, "dy is f64[batch,3,3,3]"));
  Attrs pool{{"kernel", std::vector<int64_t>{2, 2}}};
  e = build_error(OpKind::MaxPoolBackward, {f32({B, 1, 4, 4}), f32({B, 1, 3, 3})}, pool);
  CHECK(contains(e, "dy is f32[batch,1,3,3] but the forward maxpool gives f32[batch,1,2,2]"));
  e = build_error(OpKind::AvgPoolBackward, {f32({B, 1, 2, 2})},
                  with(pool, "input_shape", {-1, 2, 4, 4}));
  CHECK(contains(e, "dy is f32[batch,1,2,2] but the forward avgpool gives f32[batch,2,2,2]"));
}

TEST_CASE_TEMPLATE("conv2d_backward_input by hand", T, float, double) {
  // w = [1 2; 3 4] over a 3x3 input: dy = ones gives the full correlation.
  Arg w{{1, 1, 2, 2}, {1, 2, 3, 4}};
  Attrs a{{"input_shape", std::vector<int64_t>{1, 1, 3, 3}}};
  check_values(run<T>(OpKind::Conv2dBackwardInput, {{{1, 1, 2, 2}, {1, 1, 1, 1}}, w}, a),
               {1, 1, 3, 3}, {1, 3, 2, 4, 10, 6, 3, 7, 4});
  // dy at one output places w at that window.
  check_values(run<T>(OpKind::Conv2dBackwardInput, {{{1, 1, 2, 2}, {0, 0, 0, 1}}, w}, a),
               {1, 1, 3, 3}, {0, 0, 0, 0, 1, 2, 0, 3, 4});
  // A 1x1 kernel with stride 2 reads the corners only; the rest gets 0.
  check_values(run<T>(OpKind::Conv2dBackwardInput,
                      {{{1, 1, 2, 2}, {1, 2, 3, 4}}, {{1, 1, 1, 1}, {2}}},
                      Attrs{{"stride", std::vector<int64_t>{2, 2}},
                            {"input_shape", std::vector<int64_t>{1, 1, 3, 3}}}),
               {1, 1, 3, 3}, {2, 0, 4, 0, 0, 0, 6, 0, 8});
  // Padding 1 and dilation 2 on a 1x3 row, kernel 1x2 [1 10]: y[ow] =
  // x[ow-1] + 10 x[ow+1] for ow = 0..2, so dx[i] = dy[i+1] + 10 dy[i-1].
  check_values(run<T>(OpKind::Conv2dBackwardInput,
                      {{{1, 1, 1, 3}, {1, 2, 3}}, {{1, 1, 1, 2}, {1, 10}}},
                      Attrs{{"pad", std::vector<int64_t>{0, 1}},
                            {"dilation", std::vector<int64_t>{1, 2}},
                            {"input_shape", std::vector<int64_t>{1, 1, 1, 3}}}),
               {1, 1, 1, 3}, {2, 13, 20});
}

TEST_CASE_TEMPLATE("conv2d_backward_weight by hand", T, float, double) {
  // x = 1..9 as 3x3, dy = ones over the 2x2 output: dw sums each shifted 2x2 block.
  Arg x{{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  check_values(run<T>(OpKind::Conv2dBackwardWeight, {x, {{1, 1, 2, 2}, {1, 1, 1, 1}}},
                      Attrs{{"weight_shape", std::vector<int64_t>{1, 1, 2, 2}}}),
               {1, 1, 2, 2}, {12, 16, 24, 28});
  // Two groups of one channel, 1x1 kernels, batch 2: dw[o] = sum over the
  // batch of <dy[n,o], x[n,o]>.
  Arg x2{{B, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}};
  Arg dy2{{B, 2, 1, 2}, {1, 0, 0, 1, 1, 1, 2, 0}};
  check_values(
      run<T>(OpKind::Conv2dBackwardWeight, {x2, dy2},
             Attrs{{"groups", int64_t(2)}, {"weight_shape", std::vector<int64_t>{2, 1, 1, 1}}}, 2),
      {2, 1, 1, 1}, {1 + 5 + 6, 4 + 14});
}

TEST_CASE_TEMPLATE("maxpool_backward and avgpool_backward by hand", T, float, double) {
  Attrs k2s1{{"kernel", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{1, 1}}};
  // Overlapping 2x2 windows; 9 is the max of two windows and collects both.
  Arg x{{1, 1, 3, 3}, {1, 5, 2, 3, 4, 9, 8, 0, 7}};
  Arg dy{{1, 1, 2, 2}, {1, 2, 3, 4}};
  check_values(run<T>(OpKind::MaxPoolBackward, {x, dy}, k2s1), {1, 1, 3, 3},
               {0, 1, 0, 0, 0, 6, 3, 0, 0});
  // Ties go to the first maximum in row-major order, as maxpool picks it.
  check_values(run<T>(OpKind::MaxPoolBackward, {{{1, 1, 2, 2}, {7, 7, 7, 7}}, {{1, 1, 1, 1}, {5}}},
                      Attrs{{"kernel", std::vector<int64_t>{2, 2}}}),
               {1, 1, 2, 2}, {5, 0, 0, 0});
  // Padding is never the maximum, even when every value is negative.
  Attrs pad1{{"kernel", std::vector<int64_t>{2, 2}}, {"pad", std::vector<int64_t>{1, 1}}};
  check_values(run<T>(OpKind::MaxPoolBackward,
                      {{{1, 1, 2, 2}, {-1, -2, -3, -4}}, {{1, 1, 2, 2}, {1, 2, 3, 4}}}, pad1),
               {1, 1, 2, 2}, {1, 2, 3, 4});
  // A NaN is the maximum that maxpool returns; its gradient goes there.
  T nan = std::numeric_limits<T>::quiet_NaN();
  Tensor<T> g =
      run<T>(OpKind::MaxPoolBackward, {{{1, 1, 2, 2}, {1, double(nan), 3, 4}}, {{1, 1, 1, 1}, {1}}},
             Attrs{{"kernel", std::vector<int64_t>{2, 2}}});
  CHECK(g.data == std::vector<T>{0, 1, 0, 0});

  // avgpool: dy / 4 per window, summed where windows overlap.
  check_values(run<T>(OpKind::AvgPoolBackward, {{{1, 1, 2, 2}, {4, 8, 12, 16}}},
                      with(k2s1, "input_shape", {1, 1, 3, 3})),
               {1, 1, 3, 3}, {1, 3, 2, 4, 10, 6, 3, 7, 4});
  // Padding 1 on a 2x2 input: windows hold 1 (corner), 2 (edge) or 4 (center)
  // elements, and each input element is in one of each, 4 windows in all:
  // dx = 1 + 1/2 + 1/2 + 1/4.
  Attrs s1 = with(pad1, "stride", {1, 1});
  check_values(run<T>(OpKind::AvgPoolBackward, {{{1, 1, 3, 3}, std::vector<double>(9, 1.0)}},
                      with(s1, "input_shape", {1, 1, 2, 2})),
               {1, 1, 2, 2}, {2.25, 2.25, 2.25, 2.25});
  // With count_include_pad every window divides by 4, and padding gets
  // nothing: each element is in 4 windows, dx = 4 / 4.
  Attrs with_pad = s1;
  with_pad.set("count_include_pad", int64_t{1});
  check_values(run<T>(OpKind::AvgPoolBackward, {{{1, 1, 3, 3}, std::vector<double>(9, 1.0)}},
                      with(with_pad, "input_shape", {1, 1, 2, 2})),
               {1, 1, 2, 2}, {1, 1, 1, 1});
  // The attribute is checked as the forward checks it.
  with_pad.set("count_include_pad", int64_t{3});
  CHECK(contains(build_error(OpKind::AvgPoolBackward, {f32({1, 1, 3, 3})},
                             with(with_pad, "input_shape", {1, 1, 2, 2})),
                 "attribute 'count_include_pad' must be 0 or 1, found 3"));
}

TEST_CASE("conv2d backward ops are adjoint to conv2d") {
  auto pairs = [](int64_t h, int64_t w) { return std::vector<int64_t>{h, w}; };
  std::vector<ConvCase> cases = {
      {{B, 2, 5, 4}, {3, 2, 3, 3}, Attrs{}},
      {{B, 2, 6, 7},
       {3, 2, 3, 2},
       Attrs{{"stride", pairs(2, 2)}, {"pad", pairs(1, 0)}, {"dilation", pairs(1, 2)}}},
      {{B, 4, 5, 6},
       {6, 2, 2, 3},
       Attrs{{"groups", int64_t(2)}, {"pad", pairs(2, 1)}, {"stride", pairs(1, 2)}}},
      {{B, 3, 7, 5},
       {6, 1, 3, 3},
       Attrs{{"groups", int64_t(3)},
             {"dilation", pairs(2, 2)},
             {"pad", pairs(2, 2)},
             {"stride", pairs(2, 1)}}},
      {{B, 1, 4, 4}, {2, 1, 1, 1}, Attrs{{"stride", pairs(3, 3)}}},
  };
  int64_t batch = 2;
  for (size_t k = 0; k < cases.size(); ++k) {
    const ConvCase& c = cases[k];
    INFO("case " << k);
    Shape y = out_type(OpKind::Conv2d, {f64(c.x), f64(c.w)}, c.attrs).shape;
    Arg x = random_arg(c.x, batch, 1), w = random_arg(c.w, batch, 2), dy = random_arg(y, batch, 3);
    Tensor<double> fy = run<double>(OpKind::Conv2d, {x, w}, c.attrs, batch);
    Tensor<double> dx = run<double>(OpKind::Conv2dBackwardInput, {dy, w},
                                    with(c.attrs, "input_shape", c.x.dims), batch);
    Tensor<double> dw = run<double>(OpKind::Conv2dBackwardWeight, {x, dy},
                                    with(c.attrs, "weight_shape", c.w.dims), batch);
    CHECK(dx.shape == c.x.concrete(batch));
    CHECK(dw.shape == c.w.dims);
    double forward = dot(dy.data, fy.data);
    check_adjoint(forward, dot(dx.data, x.data));
    check_adjoint(forward, dot(dw.data, w.data));
  }
}

TEST_CASE("pool backward ops are adjoint to their pools") {
  auto pairs = [](int64_t h, int64_t w) { return std::vector<int64_t>{h, w}; };
  std::vector<Attrs> windows = {
      Attrs{{"kernel", pairs(2, 2)}},                          // tiling
      Attrs{{"kernel", pairs(3, 3)}, {"stride", pairs(1, 1)}}, // overlapping
      Attrs{{"kernel", pairs(3, 2)}, {"stride", pairs(2, 1)}, {"pad", pairs(1, 1)}},
      Attrs{{"kernel", pairs(2, 3)}, {"stride", pairs(3, 2)}, {"pad", pairs(1, 2)}},
  };
  Shape xs{B, 3, 5, 6};
  int64_t batch = 2;
  for (size_t k = 0; k < windows.size(); ++k) {
    INFO("window " << k);
    const Attrs& a = windows[k];
    Shape y = out_type(OpKind::AvgPool, {f64(xs)}, a).shape;
    Arg x = random_arg(xs, batch, 4), dy = random_arg(y, batch, 5);
    Tensor<double> avg = run<double>(OpKind::AvgPool, {x}, a, batch);
    Tensor<double> davg =
        run<double>(OpKind::AvgPoolBackward, {dy}, with(a, "input_shape", xs.dims), batch);
    check_adjoint(dot(dy.data, avg.data), dot(davg.data, x.data));
    // The kernel-area divisor, with the padded windows dividing differently.
    Attrs inc = a;
    inc.set("count_include_pad", int64_t{1});
    Tensor<double> avg_inc = run<double>(OpKind::AvgPool, {x}, inc, batch);
    Tensor<double> davg_inc =
        run<double>(OpKind::AvgPoolBackward, {dy}, with(inc, "input_shape", xs.dims), batch);
    check_adjoint(dot(dy.data, avg_inc.data), dot(davg_inc.data, x.data));
    CHECK((avg_inc.data == avg.data) == !a.has("pad"));
    Tensor<double> mx = run<double>(OpKind::MaxPool, {x}, a, batch);
    Tensor<double> dmx = run<double>(OpKind::MaxPoolBackward, {x, dy}, a, batch);
    check_adjoint(dot(dy.data, mx.data), dot(dmx.data, x.data));
    // Every dy lands somewhere: the gradient's total equals dy's total.
    double total = 0;
    for (double v : dy.data) total += v;
    double routed = 0;
    for (double v : dmx.data) routed += v;
    CHECK(routed == doctest::Approx(total).epsilon(1e-12));
  }
}

TEST_CASE("conv2d and pool backward FLOPs") {
  Attrs a{{"groups", int64_t(2)}, {"pad", std::vector<int64_t>{1, 1}}};
  TensorType x = f32({B, 4, 5, 6}), w = f32({6, 2, 3, 3}), y = f32({B, 6, 5, 6});
  int64_t forward = flops(OpKind::Conv2d, {x, w}, a);
  CHECK(forward == 2 * 6 * 5 * 6 * 2 * 3 * 3);
  CHECK(flops(OpKind::Conv2dBackwardInput, {y, w}, with(a, "input_shape", {-1, 4, 5, 6})) ==
        forward);
  CHECK(flops(OpKind::Conv2dBackwardWeight, {x, y}, with(a, "weight_shape", {6, 2, 3, 3})) ==
        forward);
  // Pools: one per window element read, as the forward.
  Attrs p{{"kernel", std::vector<int64_t>{3, 3}}, {"pad", std::vector<int64_t>{1, 1}}};
  TensorType px = f32({B, 2, 6, 6}), py = f32({B, 2, 2, 2});
  int64_t pool = flops(OpKind::MaxPool, {px}, p);
  CHECK(flops(OpKind::MaxPoolBackward, {px, py}, p) == pool);
  CHECK(flops(OpKind::AvgPoolBackward, {py}, with(p, "input_shape", {-1, 2, 6, 6})) == pool);
}

TEST_CASE("conv2d_backward_input as conv2d_transpose: output_padding") {
  using Ints = std::vector<int64_t>;
  // ConvTranspose2d(3 -> 2, k 3, stride 2, pad 1, output_padding 1) on 4x5:
  // out = (H - 1) 2 - 2 + 2 + 1 + 1 = 2 H.
  Attrs a{{"stride", Ints{2, 2}}, {"pad", Ints{1, 1}}, {"output_padding", Ints{1, 1}}};
  CHECK(out_type(OpKind::Conv2dBackwardInput, {f32({B, 3, 4, 5}), f32({3, 2, 3, 3})},
                 with(a, "input_shape", {-1, 2, 8, 10})) == f32({B, 2, 8, 10}));
  // Without it the forward conv2d maps 7 and 8 rows alike onto 4; with it, 8.
  CHECK(out_type(OpKind::Conv2dBackwardInput, {f32({B, 3, 4, 5}), f32({3, 2, 3, 3})},
                 with(with(a, "output_padding", {0, 0}), "input_shape", {-1, 2, 7, 9})) ==
        f32({B, 2, 7, 9}));
  // Dilation 2 allows output_padding 1 at stride 1 (PyTorch's rule): 3 rows
  // of a 3x3 kernel give (3 - 1) + 4 + 1 + 1 = 8, the columns 7.
  Attrs d{{"dilation", Ints{2, 2}}, {"output_padding", Ints{1, 0}}};
  CHECK(out_type(OpKind::Conv2dBackwardInput, {f64({2, 1, 3, 3}), f64({1, 1, 3, 3})},
                 with(d, "input_shape", {2, 1, 8, 7})) == f64({2, 1, 8, 7}));
  // And conv2d_backward_weight takes the padded input with the same attribute.
  CHECK(out_type(OpKind::Conv2dBackwardWeight, {f64({2, 1, 8, 7}), f64({2, 1, 3, 3})},
                 with(d, "weight_shape", {1, 1, 3, 3})) == f64({1, 1, 3, 3}));

  // Rejected: output_padding at least the stride and the dilation.
  std::string e =
      build_error(OpKind::Conv2dBackwardInput, {f32({B, 3, 4, 5}), f32({3, 2, 3, 3})},
                  with(with(a, "output_padding", {2, 1}), "input_shape", {-1, 2, 9, 10}));
  CHECK(contains(e, "output_padding [2,1] must be smaller than the stride [2,2] or the dilation "
                    "[1,1]"));
  e = build_error(OpKind::Conv2dBackwardWeight, {f64({2, 1, 9, 7}), f64({2, 1, 3, 3})},
                  with(with(d, "output_padding", {2, 0}), "weight_shape", {1, 1, 3, 3}));
  CHECK(contains(e, "output_padding [2,0] must be smaller"));
  // An input_shape that output_padding does not explain.
  e = build_error(OpKind::Conv2dBackwardInput, {f32({B, 3, 4, 5}), f32({3, 2, 3, 3})},
                  with(a, "input_shape", {-1, 2, 10, 10}));
  CHECK(contains(e, "dy is f32[batch,3,4,5] but the forward conv2d gives f32[batch,3,5,5]"));
}

TEST_CASE_TEMPLATE("conv2d_transpose by hand: output_padding rows get what the taps give", T, float,
                   double) {
  // A 1x1 input [5] and a 1x2 kernel [1 2] at stride 2 with output_padding
  // 1: the output has 1 + 1 + 1 = 3 columns, [5 10 0]; the padded column
  // is read by no tap.
  check_values(run<T>(OpKind::Conv2dBackwardInput, {{{1, 1, 1, 1}, {5}}, {{1, 1, 1, 2}, {1, 2}}},
                      Attrs{{"stride", std::vector<int64_t>{1, 2}},
                            {"output_padding", std::vector<int64_t>{0, 1}},
                            {"input_shape", std::vector<int64_t>{1, 1, 1, 3}}}),
               {1, 1, 1, 3}, {5, 10, 0});
}
