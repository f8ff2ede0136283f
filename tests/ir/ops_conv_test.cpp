// The conv family: shape rules (stride, padding, dilation, groups, batch,
// rejections that name the shapes), reference implementations against values
// computed by hand or by an independent naive formula, and FLOPs.
#include "ir/interpreter.h"
#include "ir/random.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace netc;

namespace {

TensorType f32(Shape s) { return {DType::f32, std::move(s)}; }

// Builds `kind` over Input leaves of the given types; returns the op's node.
Node build(OpKind kind, const std::vector<TensorType>& types, const Attrs& attrs = {}) {
  Graph g;
  GraphBuilder b(g);
  std::vector<ValueId> ins;
  for (size_t i = 0; i < types.size(); ++i)
    ins.push_back(b.leaf(OpKind::Input, types[i], Attrs{{"name", "in" + std::to_string(i)}}));
  return g.node(b.op(kind, ins, attrs));
}

Shape out_shape(OpKind kind, const std::vector<TensorType>& types, const Attrs& attrs = {}) {
  return build(kind, types, attrs).type.shape;
}

// The message of the UserError that building the op raises ("" if none).
std::string build_error(OpKind kind, const std::vector<TensorType>& types,
                        const Attrs& attrs = {}) {
  try {
    build(kind, types, attrs);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// An input: its declared shape (with kBatch) and its row-major data.
template <class T>
struct Arg {
  Shape shape;
  std::vector<T> data;
};

// Runs `kind` on the given inputs with the reference interpreter.
template <class T>
Tensor<T> run(OpKind kind, const std::vector<Arg<T>>& args, const Attrs& attrs = {},
              int64_t batch = 1) {
  Graph g;
  GraphBuilder b(g);
  std::map<std::string, Tensor<T>> values;
  std::vector<ValueId> ins;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    ins.push_back(b.leaf(OpKind::Input, f32(args[i].shape), Attrs{{"name", name}}));
    Tensor<T> t(args[i].shape.concrete(batch));
    REQUIRE(t.data.size() == args[i].data.size());
    t.data = args[i].data;
    values.emplace(name, std::move(t));
  }
  b.op(kind, ins, attrs);
  RefContext<T> ctx;
  ctx.batch = batch;
  ctx.values = &values;
  return interpret(g, ctx).back();
}

// 1, 2, 3, ... n.
template <class T>
std::vector<T> iota(int64_t n, T sign = 1) {
  std::vector<T> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(sign * static_cast<T>(i));
  return v;
}

// Deterministic values in [-1, 1).
template <class T>
std::vector<T> noise(int64_t n, uint32_t salt) {
  std::vector<T> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(T(2) * uniform01(salt, 0, 0, uint32_t(i)) - T(1));
  return v;
}

Attrs pair(const char* name, int64_t h, int64_t w) {
  return Attrs{{name, std::vector<int64_t>{h, w}}};
}

template <class T>
void check_values(const Tensor<T>& t, const std::vector<double>& expected, double eps = 1e-6) {
  REQUIRE(t.data.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    CHECK(static_cast<double>(t.data[i]) == doctest::Approx(expected[i]).epsilon(eps));
}

} // namespace

TEST_CASE("conv2d shape: stride, padding, dilation, bias, batch") {
  auto x = f32({kBatch, 1, 5, 5});
  auto w = f32({2, 1, 3, 3});
  CHECK(out_shape(OpKind::Conv2d, {x, w}) == Shape{kBatch, 2, 3, 3});
  CHECK(out_shape(OpKind::Conv2d, {x, w, f32({2})}) == Shape{kBatch, 2, 3, 3});
  CHECK(out_shape(OpKind::Conv2d, {x, w}, pair("stride", 2, 2)) == Shape{kBatch, 2, 2, 2});
  CHECK(out_shape(OpKind::Conv2d, {x, w}, pair("pad", 1, 1)) == Shape{kBatch, 2, 5, 5});
  CHECK(out_shape(OpKind::Conv2d, {x, w}, pair("dilation", 2, 2)) == Shape{kBatch, 2, 1, 1});
  // Asymmetric: H = (5 + 0 - 3)/2 + 1 = 2, W = (7 + 2 - 3)/1 + 1 = 7.
  Attrs a = pair("stride", 2, 1);
  a.set("pad", std::vector<int64_t>{0, 1});
  CHECK(out_shape(OpKind::Conv2d, {f32({kBatch, 1, 5, 7}), w}, a) == Shape{kBatch, 2, 2, 7});
  // A 28x28 image, 5x5 kernel, stride 2, pad 2: (28 + 4 - 5)/2 + 1 = 14.
  Attrs b = pair("stride", 2, 2);
  b.set("pad", std::vector<int64_t>{2, 2});
  CHECK(out_shape(OpKind::Conv2d, {f32({kBatch, 3, 28, 28}), f32({8, 3, 5, 5})}, b) ==
        Shape{kBatch, 8, 14, 14});
  // A constant batch stays constant.
  CHECK(out_shape(OpKind::Conv2d, {f32({4, 1, 5, 5}), w}) == Shape{4, 2, 3, 3});
}

TEST_CASE("conv2d shape: groups and depthwise") {
  Attrs g2{{"groups", int64_t{2}}};
  CHECK(out_shape(OpKind::Conv2d, {f32({kBatch, 4, 8, 8}), f32({6, 2, 3, 3})}, g2) ==
        Shape{kBatch, 6, 6, 6});
  Attrs g3{{"groups", int64_t{3}}};
  CHECK(out_shape(OpKind::Conv2d, {f32({kBatch, 3, 5, 5}), f32({3, 1, 3, 3})}, g3) ==
        Shape{kBatch, 3, 3, 3});
  // Depthwise with a channel multiplier of 2.
  CHECK(out_shape(OpKind::Conv2d, {f32({kBatch, 3, 5, 5}), f32({6, 1, 3, 3})}, g3) ==
        Shape{kBatch, 6, 3, 3});
}

TEST_CASE("conv2d shape errors name the shapes") {
  auto x = f32({kBatch, 3, 28, 28});
  std::string e = build_error(OpKind::Conv2d, {x, f32({32, 1, 3, 3})});
  CHECK(contains(e, "conv2d: the input [batch,3,28,28] has 3 channels but the weights "
                    "[32,1,3,3] expect 1 (groups=1)"));
  CHECK(!contains(e, "conv2d: conv2d"));
  e = build_error(OpKind::Conv2d, {f32({kBatch, 1, 2, 2}), f32({1, 1, 3, 3})}, pair("pad", 0, 0));
  CHECK(contains(e, "[batch,1,2,2]"));
  CHECK(contains(e, "3x3 kernel"));
  CHECK(contains(e, "padding [0,0]"));
  // Dilation enlarges the kernel's extent to 5 > 4.
  e = build_error(OpKind::Conv2d, {f32({1, 1, 4, 4}), f32({1, 1, 3, 3})}, pair("dilation", 2, 2));
  CHECK(contains(e, "does not fit in the input [1,1,4,4]"));
  e = build_error(OpKind::Conv2d, {x, f32({4, 1, 3, 3})}, Attrs{{"groups", int64_t{2}}});
  CHECK(contains(e, "groups=2 must divide"));
  CHECK(contains(e, "[batch,3,28,28]"));
  e = build_error(OpKind::Conv2d, {x, f32({4, 3, 3, 3}), f32({3})});
  CHECK(contains(e, "the bias must be f32[4] to match the weights [4,3,3,3], found f32[3]"));
  e = build_error(OpKind::Conv2d, {f32({kBatch, 784}), f32({4, 1, 3, 3})});
  CHECK(contains(e, "the input must be [N,C,H,W] with constant C, H, W, found [batch,784]"));
  e = build_error(OpKind::Conv2d, {x, f32({4, 3, 3})});
  CHECK(contains(e, "weights must be [O,C/groups,KH,KW], found [4,3,3]"));
  e = build_error(OpKind::Conv2d, {x, TensorType{DType::f64, Shape{4, 3, 3, 3}}});
  CHECK(contains(e, "same dtype"));
  e = build_error(OpKind::Conv2d, {x, f32({4, 3, 3, 3})}, pair("stride", 0, 1));
  CHECK(contains(e, "'stride' must be in [1, 2^48], found [0,1]"));
  e = build_error(OpKind::Conv2d, {x, f32({4, 3, 3, 3})},
                  Attrs{{"pad", std::vector<int64_t>{1, 1, 1}}});
  CHECK(contains(e, "'pad' must have 2 values [h,w], found [1,1,1]"));
  CHECK(contains(build_error(OpKind::Conv2d, {x}), "expects 2 to 3 inputs, found 1"));
}

TEST_CASE_TEMPLATE("conv2d on a 4x4 image, by hand", T, float, double) {
  // x[i][j] = 4 i + j + 1; an all-ones 3x3 kernel sums a block, which for this
  // linear image is 9 times its centre: 9 * {6, 7, 10, 11}, plus the bias.
  Arg<T> x{{kBatch, 1, 4, 4}, iota<T>(16)};
  Arg<T> ones{{1, 1, 3, 3}, std::vector<T>(9, T(1))};
  check_values(run<T>(OpKind::Conv2d, {x, ones, {{1}, {T(0.5)}}}), {54.5, 63.5, 90.5, 99.5});
  // An asymmetric kernel (not flipped: cross-correlation): w = [[1,2,0],[0,1,0],[0,0,-1]]
  // at (0,0): 1*1 + 2*2 + 1*6 - 1*11 = 0; each step right adds 1+2+1-1 = 3, down 12.
  Arg<T> w{{1, 1, 3, 3}, {1, 2, 0, 0, 1, 0, 0, 0, -1}};
  check_values(run<T>(OpKind::Conv2d, {x, w}), {0, 3, 12, 15});
  // Padding 1, stride 2: the windows cover rows/cols {-1..1} and {1..3}; zero padding
  // drops the outside: 1+2+5+6, 2+3+4+6+7+8, 5+6+9+10+13+14, 6+7+8+10+11+12+14+15+16.
  Attrs a = pair("stride", 2, 2);
  a.set("pad", std::vector<int64_t>{1, 1});
  check_values(run<T>(OpKind::Conv2d, {x, ones}, a), {14, 30, 57, 99});
}

TEST_CASE_TEMPLATE("conv2d dilation and groups, by hand", T, float, double) {
  // 5x5 image x[i][j] = 5 i + j + 1, a 2x2 ones kernel dilated by 2 reads
  // x[i][j] + x[i][j+2] + x[i+2][j] + x[i+2][j+2] = 4 x[i+1][j+1].
  Arg<T> x{{kBatch, 1, 5, 5}, iota<T>(25)};
  Arg<T> ones{{1, 1, 2, 2}, std::vector<T>(4, T(1))};
  check_values(run<T>(OpKind::Conv2d, {x, ones}, pair("dilation", 2, 2)),
               {28, 32, 36, 48, 52, 56, 68, 72, 76});
  // groups=2, four 1x1 filters: outputs 0,1 read channel 0 (all 1), outputs 2,3
  // read channel 1 (all 2); weights 1,2,3,4 give 1,2,6,8 everywhere.
  std::vector<T> img(8, T(1));
  std::fill(img.begin() + 4, img.end(), T(2));
  Arg<T> x2{{kBatch, 2, 2, 2}, img};
  Arg<T> w{{4, 1, 1, 1}, {1, 2, 3, 4}};
  std::vector<double> expected;
  for (double v : {1, 2, 6, 8}) expected.insert(expected.end(), 4, v);
  check_values(run<T>(OpKind::Conv2d, {x2, w}, Attrs{{"groups", int64_t{2}}}), expected);
}

// The reference against a scatter formulation: every input pixel and kernel tap
// adds to the output position it lands on (if it lands on one).
TEST_CASE_TEMPLATE("conv2d matches a naive scatter formula", T, float, double) {
  const int64_t N = 2, C = 4, H = 7, W = 6, O = 6, G = 2, KH = 3, KW = 2;
  const int64_t sh = 2, sw = 1, ph = 1, pw = 2, dh = 1, dw = 2;
  Attrs a = pair("stride", sh, sw);
  a.set("pad", std::vector<int64_t>{ph, pw});
  a.set("dilation", std::vector<int64_t>{dh, dw});
  a.set("groups", int64_t{G});
  Arg<T> x{{kBatch, C, H, W}, noise<T>(N * C * H * W, 1)};
  Arg<T> w{{O, C / G, KH, KW}, noise<T>(O * C / G * KH * KW, 2)};
  Arg<T> b{{O}, noise<T>(O, 3)};
  Tensor<T> got = run<T>(OpKind::Conv2d, {x, w, b}, a, N);
  const int64_t OH = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1;
  const int64_t OW = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
  REQUIRE(got.shape == std::vector<int64_t>{N, O, OH, OW});
  std::vector<double> want(size_t(N * O * OH * OW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH * OW; ++i) want[size_t((n * O + o) * OH * OW + i)] = b.data[o];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t o = (c / (C / G)) * (O / G); o < (c / (C / G) + 1) * (O / G); ++o)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t th = ih + ph - kh * dh, tw = iw + pw - kw * dw; // = oh sh, ow sw
                if (th < 0 || tw < 0 || th % sh || tw % sw || th / sh >= OH || tw / sw >= OW)
                  continue;
                double wv = w.data[size_t(((o * (C / G) + c % (C / G)) * KH + kh) * KW + kw)];
                want[size_t(((n * O + o) * OH + th / sh) * OW + tw / sw)] +=
                    wv * x.data[size_t(((n * C + c) * H + ih) * W + iw)];
              }
  check_values(got, want, 1e-4);
}

TEST_CASE("conv2d FLOPs per example") {
  // 2 * O * OH * OW * (C/groups) * KH * KW, plus O * OH * OW for the bias.
  Node n = build(OpKind::Conv2d, {f32({kBatch, 4, 8, 8}), f32({6, 2, 3, 3}), f32({6})},
                 Attrs{{"groups", int64_t{2}}});
  std::vector<TensorType> in = {f32({kBatch, 4, 8, 8}), f32({6, 2, 3, 3}), f32({6})};
  const OpDef& def = op_def(OpKind::Conv2d);
  CHECK(def.flops(n, in) == 2 * 6 * 6 * 6 * 2 * 3 * 3 + 6 * 6 * 6);
  in.pop_back();
  n = build(OpKind::Conv2d, in, Attrs{{"groups", int64_t{2}}});
  CHECK(def.flops(n, in) == 2 * 6 * 6 * 6 * 2 * 3 * 3);
}

TEST_CASE("pool shapes and errors") {
  auto x = f32({kBatch, 3, 28, 28});
  for (OpKind k : {OpKind::MaxPool, OpKind::AvgPool}) {
    CAPTURE(op_name(k));
    CHECK(out_shape(k, {x}, pair("kernel", 2, 2)) == Shape{kBatch, 3, 14, 14}); // stride = kernel
    Attrs a = pair("kernel", 3, 3);
    a.set("stride", std::vector<int64_t>{1, 1});
    CHECK(out_shape(k, {x}, a) == Shape{kBatch, 3, 26, 26});
    a.set("pad", std::vector<int64_t>{1, 1});
    CHECK(out_shape(k, {x}, a) == Shape{kBatch, 3, 28, 28});
    CHECK(out_shape(k, {f32({2, 1, 5, 7})}, pair("kernel", 2, 3)) == Shape{2, 1, 2, 2}); // floor
    CHECK(contains(build_error(k, {x}), "missing attribute 'kernel'"));
    Attrs p = pair("kernel", 2, 2);
    p.set("pad", std::vector<int64_t>{2, 0});
    CHECK(contains(build_error(k, {x}, p), "padding [2,0] must be smaller than the kernel [2,2]"));
    std::string e = build_error(k, {f32({kBatch, 1, 2, 2})}, pair("kernel", 3, 3));
    CHECK(contains(e, "the 3x3 kernel (dilation [1,1]) does not fit in the input [batch,1,2,2]"));
    CHECK(contains(build_error(k, {f32({kBatch, 10})}, pair("kernel", 2, 2)), "[batch,10]"));
  }
  CHECK(out_shape(OpKind::GlobalAvgPool, {x}) == Shape{kBatch, 3});
  CHECK(contains(build_error(OpKind::GlobalAvgPool, {f32({kBatch, 3, 28})}), "[batch,3,28]"));
  CHECK(contains(build_error(OpKind::GlobalAvgPool, {TensorType{DType::i32, Shape{1, 1, 2, 2}}}),
                 "f32 or f64, found i32[1,1,2,2]"));
}

TEST_CASE_TEMPLATE("maxpool and avgpool on a 4x4 image, by hand", T, float, double) {
  Arg<T> x{{kBatch, 1, 4, 4}, iota<T>(16)};
  check_values(run<T>(OpKind::MaxPool, {x}, pair("kernel", 2, 2)), {6, 8, 14, 16});
  check_values(run<T>(OpKind::AvgPool, {x}, pair("kernel", 2, 2)), {3.5, 5.5, 11.5, 13.5});
  // Kernel 3, stride 2, pad 1: windows cover rows/cols {-1..1} and {1..3}.
  Attrs a = pair("kernel", 3, 3);
  a.set("stride", std::vector<int64_t>{2, 2});
  a.set("pad", std::vector<int64_t>{1, 1});
  // Padding is never the maximum, even when every pixel is negative.
  Arg<T> neg{{kBatch, 1, 4, 4}, iota<T>(16, T(-1))};
  check_values(run<T>(OpKind::MaxPool, {neg}, a), {-1, -2, -5, -6});
  // Averages exclude padding: 14/4, 30/6, 57/6, 99/9.
  check_values(run<T>(OpKind::AvgPool, {x}, a), {3.5, 5.0, 9.5, 11.0});
  // A NaN in a window propagates.
  Arg<T> nan = x;
  nan.data[5] = std::numeric_limits<T>::quiet_NaN();
  Tensor<T> m = run<T>(OpKind::MaxPool, {nan}, pair("kernel", 2, 2));
  CHECK(std::isnan(m[0]));
  CHECK(m[1] == T(8));
}

TEST_CASE_TEMPLATE("avgpool with count_include_pad divides by the kernel area", T, float, double) {
  Arg<T> x{{kBatch, 1, 4, 4}, iota<T>(16)};
  // Kernel 3, stride 2, pad 1 as above: window sums 14, 30, 57, 99, each / 9
  // (PyTorch's default) instead of / 4, 6, 6, 9.
  Attrs a = pair("kernel", 3, 3);
  a.set("stride", std::vector<int64_t>{2, 2});
  a.set("pad", std::vector<int64_t>{1, 1});
  a.set("count_include_pad", int64_t{1});
  check_values(run<T>(OpKind::AvgPool, {x}, a), {T(14) / 9, T(30) / 9, T(57) / 9, T(99) / 9});
  // 0 is the default.
  a.set("count_include_pad", int64_t{0});
  check_values(run<T>(OpKind::AvgPool, {x}, a), {3.5, 5.0, 9.5, 11.0});
  // Non-square, padding along the rows only: 2x3 windows at rows {-1,0},
  // {1,2}, {3,4} and cols {0..2}, {1..3} (stride [2,1]): sums 6, 9, 48, 54,
  // 42, 45, all divided by 6 although the first and last rows of windows
  // hold 3 elements of x.
  Attrs b = pair("kernel", 2, 3);
  b.set("stride", std::vector<int64_t>{2, 1});
  b.set("pad", std::vector<int64_t>{1, 0});
  b.set("count_include_pad", int64_t{1});
  check_values(run<T>(OpKind::AvgPool, {x}, b), {1, 1.5, 8, 9, 7, 7.5});
  b.set("count_include_pad", int64_t{0});
  check_values(run<T>(OpKind::AvgPool, {x}, b), {2, 3, 8, 9, 14, 15});
}

TEST_CASE("count_include_pad: 0 or 1, and avgpool's alone") {
  TensorType x = f32({kBatch, 1, 4, 4});
  Attrs a = pair("kernel", 2, 2);
  a.set("count_include_pad", int64_t{2});
  CHECK(contains(build_error(OpKind::AvgPool, {x}, a),
                 "avgpool: attribute 'count_include_pad' must be 0 or 1, found 2"));
  a.set("count_include_pad", 1.0);
  CHECK(contains(build_error(OpKind::AvgPool, {x}, a),
                 "attribute 'count_include_pad' must be an integer"));
  a.set("count_include_pad", int64_t{1});
  CHECK(out_shape(OpKind::AvgPool, {x}, a) == Shape{kBatch, 1, 2, 2});
  CHECK(contains(build_error(OpKind::MaxPool, {x}, a),
                 "maxpool: attribute 'count_include_pad' applies to avgpool only"));
}

TEST_CASE_TEMPLATE("pools over batch and channels", T, float, double) {
  // Two examples, two channels, 2x2 windows over 2x4 planes.
  std::vector<T> v = {1,  9,  2,  2,  3,  4,  0,  8, // n0 c0
                      5,  5,  5,  5,  5,  5,  5,  5, // n0 c1
                      0,  0,  0,  0,  0,  0,  0,  1, // n1 c0
                      -1, -2, -3, -4, -5, -6, -7, -8};
  Arg<T> x{{kBatch, 2, 2, 4}, v};
  check_values(run<T>(OpKind::MaxPool, {x}, pair("kernel", 2, 2), 2), {9, 8, 5, 5, 0, 1, -1, -3});
  check_values(run<T>(OpKind::AvgPool, {x}, pair("kernel", 2, 2), 2),
               {4.25, 3, 5, 5, 0, 0.25, -3.5, -5.5});
  check_values(run<T>(OpKind::GlobalAvgPool, {x}, {}, 2), {3.625, 5, 0.125, -4.5});
  Tensor<T> g = run<T>(OpKind::GlobalAvgPool, {x}, {}, 2);
  CHECK(g.shape == std::vector<int64_t>{2, 2});
}

TEST_CASE("pool FLOPs count the window elements read") {
  std::vector<TensorType> in = {f32({kBatch, 3, 4, 4})};
  const OpDef& def = op_def(OpKind::MaxPool);
  CHECK(def.flops(build(OpKind::MaxPool, in, pair("kernel", 2, 2)), in) == 3 * 16);
  // Kernel 3, stride 2, pad 1 on 4: windows read 2 and 3 rows (padding is not read).
  Attrs a = pair("kernel", 3, 3);
  a.set("stride", std::vector<int64_t>{2, 2});
  a.set("pad", std::vector<int64_t>{1, 1});
  CHECK(op_def(OpKind::AvgPool).flops(build(OpKind::AvgPool, in, a), in) == 3 * 5 * 5);
  CHECK(op_def(OpKind::GlobalAvgPool).flops(build(OpKind::GlobalAvgPool, in), in) == 3 * 16);
}
