// The ONNX importer's RNN, GRU, LSTM, ConvTranspose and Resize mappings
// (frontend/onnx/onnx_ops_recurrent.cpp, onnx_ops_resize.cpp) against plain
// loops written here from ONNX's equations, and their refusals.
#include "onnx_test_helpers.h"

#include <cmath>
#include <functional>

using namespace netc;
using namespace netc::onnx_test;

namespace {

// Deterministic values in [-0.8, 0.8] that differ per tensor and element.
std::vector<float> values(size_t n, double seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(0.8 * std::sin(seed + 1.37 * double(i)));
  return v;
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// The sizes of a recurrence and its tensors, flattened row-major.
struct Seq {
  int64_t T, B, I, H, G, D;
  std::vector<float> x, w, r, b, h0, c0, p;
  // W [D, G H, I] x[t, b, :] for row j of direction d.
  double xw(int64_t d, int64_t t, int64_t bi, int64_t j) const {
    double s = 0;
    for (int64_t k = 0; k < I; ++k)
      s += x[size_t((t * B + bi) * I + k)] * w[size_t((d * G * H + j) * I + k)];
    return s;
  }
  double hr(int64_t d, const std::vector<double>& h, int64_t bi, int64_t j) const {
    double s = 0;
    for (int64_t k = 0; k < H; ++k) s += h[size_t(bi * H + k)] * r[size_t((d * G * H + j) * H + k)];
    return s;
  }
  double wb(int64_t d, int64_t j) const { return b[size_t(d * 2 * G * H + j)]; }
  double rb(int64_t d, int64_t j) const { return b[size_t(d * 2 * G * H + G * H + j)]; }
};

// ONNX's LSTM, one direction, gates i, o, f, c, with peepholes: returns Y
// for that direction ([T][B H]) and leaves the last h and c in h, c.
std::vector<std::vector<double>> lstm_reference(const Seq& s, int64_t d, bool reverse,
                                                std::vector<double>& h, std::vector<double>& c) {
  std::vector<std::vector<double>> y(size_t(s.T));
  for (int64_t step = 0; step < s.T; ++step) {
    int64_t t = reverse ? s.T - 1 - step : step;
    std::vector<double> hn(h.size()), cn(c.size());
    for (int64_t bi = 0; bi < s.B; ++bi)
      for (int64_t j = 0; j < s.H; ++j) {
        auto pre = [&](int g) {
          int64_t row = g * s.H + j;
          return s.xw(d, t, bi, row) + s.hr(d, h, bi, row) + s.wb(d, row) + s.rb(d, row);
        };
        double cp = c[size_t(bi * s.H + j)];
        double pi = s.p[size_t(d * 3 * s.H + j)], po = s.p[size_t(d * 3 * s.H + s.H + j)],
               pf = s.p[size_t(d * 3 * s.H + 2 * s.H + j)];
        double ig = sigmoid(pre(0) + pi * cp), fg = sigmoid(pre(2) + pf * cp);
        double cc = std::tanh(pre(3));
        double cnew = fg * cp + ig * cc;
        double og = sigmoid(pre(1) + po * cnew);
        cn[size_t(bi * s.H + j)] = cnew;
        hn[size_t(bi * s.H + j)] = og * std::tanh(cnew);
      }
    h = hn;
    c = cn;
    y[size_t(t)] = h;
  }
  return y;
}

// ONNX's GRU, one direction, gates z, r, h.
std::vector<std::vector<double>> gru_reference(const Seq& s, int64_t d, bool reverse,
                                               bool linear_before_reset, std::vector<double>& h) {
  std::vector<std::vector<double>> y(size_t(s.T));
  for (int64_t step = 0; step < s.T; ++step) {
    int64_t t = reverse ? s.T - 1 - step : step;
    std::vector<double> hn(h.size()), rh(h.size());
    std::vector<double> z(h.size()), rg(h.size());
    for (int64_t bi = 0; bi < s.B; ++bi)
      for (int64_t j = 0; j < s.H; ++j) {
        size_t at = size_t(bi * s.H + j);
        z[at] = sigmoid(s.xw(d, t, bi, j) + s.hr(d, h, bi, j) + s.wb(d, j) + s.rb(d, j));
        int64_t rj = s.H + j;
        rg[at] = sigmoid(s.xw(d, t, bi, rj) + s.hr(d, h, bi, rj) + s.wb(d, rj) + s.rb(d, rj));
        rh[at] = rg[at] * h[at];
      }
    for (int64_t bi = 0; bi < s.B; ++bi)
      for (int64_t j = 0; j < s.H; ++j) {
        size_t at = size_t(bi * s.H + j);
        int64_t hj = 2 * s.H + j;
        double lin = linear_before_reset ? rg[at] * (s.hr(d, h, bi, hj) + s.rb(d, hj))
                                         : s.hr(d, rh, bi, hj) + s.rb(d, hj);
        double cand = std::tanh(s.xw(d, t, bi, hj) + lin + s.wb(d, hj));
        hn[at] = (1 - z[at]) * cand + z[at] * h[at];
      }
    h = hn;
    y[size_t(t)] = h;
  }
  return y;
}

Seq make_seq(int64_t T, int64_t B, int64_t I, int64_t H, int64_t G, int64_t D) {
  Seq s{T, B, I, H, G, D, {}, {}, {}, {}, {}, {}, {}};
  s.x = values(size_t(T * B * I), 0.1);
  s.w = values(size_t(D * G * H * I), 1.2);
  s.r = values(size_t(D * G * H * H), 2.3);
  s.b = values(size_t(D * 2 * G * H), 3.4);
  s.h0 = values(size_t(D * B * H), 4.5);
  s.c0 = values(size_t(D * B * H), 5.6);
  s.p = values(size_t(D * 3 * H), 6.7);
  return s;
}

std::vector<double> slab(const std::vector<float>& v, int64_t d, int64_t n) {
  return {v.begin() + d * n, v.begin() + (d + 1) * n};
}

const OnnxImportOptions kStatic{.static_first_dim_is_batch = false};

} // namespace

TEST_CASE("onnx: LSTM with biases, initial states and peepholes follows ONNX's equations") {
  Seq s = make_seq(3, 2, 2, 3, 4, 1);
  ModelMaker mm(14);
  mm.input("X", {s.T, s.B, s.I});
  mm.initializer("W", {1, 4 * s.H, s.I}, s.w);
  mm.initializer("R", {1, 4 * s.H, s.H}, s.r);
  mm.initializer("B", {1, 8 * s.H}, s.b);
  mm.initializer("h0", {1, s.B, s.H}, s.h0);
  mm.initializer("c0", {1, s.B, s.H}, s.c0);
  mm.initializer("P", {1, 3 * s.H}, s.p);
  attr(mm.node("LSTM", {"X", "W", "R", "B", "", "h0", "c0", "P"}, {"Y", "Y_h", "Y_c"}),
       "hidden_size", s.H);
  for (const char* o : {"Y", "Y_h", "Y_c"}) mm.output(o);
  ImportedModel m = mm.import(kStatic);
  // Weights shared: one param per ONNX weight, however many steps.
  CHECK(count_ops(m.graph, OpKind::Param) == 6);
  std::vector<double> h = slab(s.h0, 0, s.B * s.H), c = slab(s.c0, 0, s.B * s.H);
  auto y = lstm_reference(s, 0, false, h, c);
  std::vector<float> want_y;
  for (const auto& step : y) want_y.insert(want_y.end(), step.begin(), step.end());
  auto out = run(m, {{"X", tensor({s.T, s.B, s.I}, s.x)}});
  check_close(out[0], {s.T, 1, s.B, s.H}, want_y, 1e-5);
  check_close(out[1], {1, s.B, s.H}, {h.begin(), h.end()}, 1e-5);
  check_close(out[2], {1, s.B, s.H}, {c.begin(), c.end()}, 1e-5);
}

TEST_CASE("onnx: bidirectional GRU, both linear_before_reset forms, Y and Y_h") {
  for (int64_t lbr : {0, 1}) {
    CAPTURE(lbr);
    Seq s = make_seq(4, 2, 3, 2, 3, 2);
    ModelMaker mm(14);
    mm.input("X", {s.T, s.B, s.I});
    mm.initializer("W", {2, 3 * s.H, s.I}, s.w);
    mm.initializer("R", {2, 3 * s.H, s.H}, s.r);
    mm.initializer("B", {2, 6 * s.H}, s.b);
    mm.initializer("h0", {2, s.B, s.H}, s.h0);
    auto& n = mm.node("GRU", {"X", "W", "R", "B", "", "h0"}, {"Y", "Y_h"});
    attr(n, "hidden_size", s.H);
    attr(n, "direction", std::string("bidirectional"));
    attr(n, "linear_before_reset", lbr);
    mm.output("Y");
    mm.output("Y_h");
    ImportedModel m = mm.import(kStatic);
    std::vector<double> hf = slab(s.h0, 0, s.B * s.H), hb = slab(s.h0, 1, s.B * s.H);
    auto yf = gru_reference(s, 0, false, lbr != 0, hf);
    auto yb = gru_reference(s, 1, true, lbr != 0, hb);
    std::vector<float> want_y, want_h;
    for (int64_t t = 0; t < s.T; ++t) { // Y [T, D, B, H]
      want_y.insert(want_y.end(), yf[size_t(t)].begin(), yf[size_t(t)].end());
      want_y.insert(want_y.end(), yb[size_t(t)].begin(), yb[size_t(t)].end());
    }
    want_h.insert(want_h.end(), hf.begin(), hf.end());
    want_h.insert(want_h.end(), hb.begin(), hb.end());
    auto out = run(m, {{"X", tensor({s.T, s.B, s.I}, s.x)}});
    check_close(out[0], {s.T, 2, s.B, s.H}, want_y, 1e-5);
    check_close(out[1], {2, s.B, s.H}, want_h, 1e-5);
  }
}

TEST_CASE("onnx: RNN with layout=1 takes the batch first, and runs at any batch") {
  // A reverse relu RNN without biases or initial state, batch first: the
  // batch axis is netc's batch dimension, so one import serves batch 2.
  Seq s = make_seq(3, 2, 2, 3, 1, 1);
  ModelMaker mm(14);
  mm.input("X", {-1, s.T, s.I});
  mm.initializer("W", {1, s.H, s.I}, s.w);
  mm.initializer("R", {1, s.H, s.H}, s.r);
  auto& n = mm.node("RNN", {"X", "W", "R"}, {"Y", "Y_h"});
  attr(n, "hidden_size", s.H);
  attr(n, "layout", int64_t{1});
  attr(n, "direction", std::string("reverse"));
  auto* acts = n.add_attribute();
  acts->set_name("activations");
  acts->set_type(onnx::AttributeProto::STRINGS);
  acts->add_strings("Relu");
  mm.output("Y");
  mm.output("Y_h");
  ImportedModel m = mm.import();
  // x batch-first: [B, T, I]; the reference reads s.x as [T, B, I].
  std::vector<float> xb(s.x.size());
  for (int64_t t = 0; t < s.T; ++t)
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t k = 0; k < s.I; ++k)
        xb[size_t((b * s.T + t) * s.I + k)] = s.x[size_t((t * s.B + b) * s.I + k)];
  std::vector<double> h(size_t(s.B * s.H), 0.0);
  std::vector<std::vector<double>> y(size_t(s.T));
  for (int64_t t = s.T - 1; t >= 0; --t) {
    std::vector<double> hn(h.size());
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t j = 0; j < s.H; ++j)
        hn[size_t(b * s.H + j)] = std::max(0.0, s.xw(0, t, b, j) + s.hr(0, h, b, j));
    h = hn;
    y[size_t(t)] = h;
  }
  std::vector<float> want_y(size_t(s.B * s.T * s.H)); // Y [B, T, 1, H]
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t t = 0; t < s.T; ++t)
      for (int64_t j = 0; j < s.H; ++j)
        want_y[size_t((b * s.T + t) * s.H + j)] = float(y[size_t(t)][size_t(b * s.H + j)]);
  auto out = run(m, {{"X", tensor({s.B, s.T, s.I}, xb)}}, s.B);
  check_close(out[0], {s.B, s.T, 1, s.H}, want_y, 1e-5);
  check_close(out[1], {s.B, 1, s.H}, {h.begin(), h.end()}, 1e-5);
}

TEST_CASE("onnx: recurrent attributes and inputs netc cannot honour are reported") {
  auto lstm = [](std::function<void(ModelMaker&, onnx::NodeProto&)> change,
                 const OnnxImportOptions& o = kStatic) {
    ModelMaker mm(14);
    mm.input("X", {2, 1, 2});
    mm.initializer("W", {1, 8, 2}, values(16, 0));
    mm.initializer("R", {1, 8, 2}, values(16, 1));
    auto& n = mm.node("LSTM", {"X", "W", "R"}, {"Y"}, "rec");
    attr(n, "hidden_size", int64_t{2});
    change(mm, n);
    mm.output("Y");
    return error_of([&] { mm.import(o); });
  };
  CHECK(lstm([](ModelMaker&, onnx::NodeProto& n) { attr(n, "input_forget", int64_t{1}); })
            .find("node 'rec' (#0, LSTM, opset 14): input_forget=1 (coupled input and forget "
                  "gates) is not supported") != std::string::npos);
  CHECK(lstm([](ModelMaker& mm, onnx::NodeProto& n) {
          mm.ints("lens", {1}); // the one sequence of the batch is shorter than T = 2
          n.add_input("");      // B
          n.add_input("lens");
        }).find("sequence_lens [1] with sequences shorter than T = 2 is not supported") !=
        std::string::npos);
  CHECK(lstm([](ModelMaker&, onnx::NodeProto& n) {
          auto* a = n.add_attribute();
          a->set_name("activations");
          a->set_type(onnx::AttributeProto::STRINGS);
          for (const char* f : {"Sigmoid", "Gelu", "Tanh"}) a->add_strings(f);
        }).find("activation 'gelu' is not supported") != std::string::npos);
  // A graph input read as X keeps its static first dimension (the sequence)
  // where other inputs' first dimension becomes the batch; an X computed from
  // a batched input has no sequence length to unroll.
  ModelMaker direct(14);
  direct.input("X", {2, 1, 2});
  direct.initializer("W", {1, 6, 2}, values(12, 0));
  direct.initializer("R", {1, 6, 2}, values(12, 1));
  attr(direct.node("GRU", {"X", "W", "R"}, {"Y"}), "hidden_size", int64_t{2});
  direct.output("Y");
  ImportedModel m = direct.import();
  CHECK(m.graph.node(m.graph.leaves(OpKind::Input)[0]).type.shape == Shape{2, 1, 2});
  CHECK(m.graph.node(m.graph.outputs[0].value).type.shape == Shape{2, 1, 1, 2});
  CHECK(lstm(
            [](ModelMaker& mm, onnx::NodeProto& n) {
              mm.node("Relu", {"X"}, {"Xr"});
              mm.graph().mutable_node()->SwapElements(0, 1); // the Relu first
              n.set_input(0, "Xr");
            },
            OnnxImportOptions{})
            .find("the sequence axis of X f32[batch,1,2] is the batch dimension") !=
        std::string::npos);
}

TEST_CASE("onnx: ConvTranspose with asymmetric pads and output_shape, Resize by integer factors") {
  // X [1,1,2,2], W [1,2,2,2] (C_in 1, C_out 2), stride 2: the full output is
  // 4x4, every input pixel times the kernel in its own 2x2 block.
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 2, 3, 4, -1, 0, 0.5f, 1};
  auto full = [&](int64_t o, int64_t i, int64_t j) -> float {
    if (i < 0 || j < 0 || i >= 4 || j >= 4) return 0;
    return x[size_t((i / 2) * 2 + j / 2)] * w[size_t(o * 4 + (i % 2) * 2 + j % 2)];
  };
  ModelMaker mm(13);
  mm.input("x", {1, 1, 2, 2});
  mm.initializer("w", {1, 2, 2, 2}, w);
  mm.initializer("b", {2}, {0.5f, -0.5f});
  auto& ct = mm.node("ConvTranspose", {"x", "w", "b"}, {"ct"});
  attr(ct, "strides", std::vector<int64_t>{2, 2});
  attr(ct, "pads", std::vector<int64_t>{1, 0, 0, 1}); // top 1, left 0, bottom 0, right 1
  auto& shaped = mm.node("ConvTranspose", {"x", "w"}, {"shaped"});
  attr(shaped, "strides", std::vector<int64_t>{2, 2});
  attr(shaped, "output_shape", std::vector<int64_t>{5, 3}); // one zero row more, one column less
  mm.initializer("scales", {4}, {1, 1, 2, 3});
  auto& near = mm.node("Resize", {"x", "", "scales"}, {"near"});
  attr(near, "mode", std::string("nearest"));
  mm.ints("sizes", {1, 1, 4, 4});
  auto& lin = mm.node("Resize", {"x", "", "", "sizes"}, {"lin"});
  attr(lin, "mode", std::string("linear"));
  for (const char* o : {"ct", "shaped", "near", "lin"}) mm.output(o);
  ImportedModel m = mm.import(kStatic);
  std::vector<float> want_ct, want_shaped, want_near, want_lin;
  for (int64_t o = 0; o < 2; ++o) {
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 3; ++j) want_ct.push_back(full(o, i + 1, j) + (o ? -0.5f : 0.5f));
    // total padding max(0, 4 - 3) = 1 on w: NOTSET puts the odd one first.
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 3; ++j) want_shaped.push_back(full(o, i, j + 1));
  }
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 6; ++j) want_near.push_back(x[size_t((i / 2) * 2 + j / 3)]);
  // Half-pixel bilinear by 2 of [[1,2],[3,4]]: source rows -0.25 (clamped),
  // 0.25, 0.75, 1.25 (clamped): weights 0, 0.25, 0.75, 1 of the second row.
  const float l[] = {0, 0.25f, 0.75f, 1};
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) want_lin.push_back(1 + 2 * l[i] + l[j]);
  auto out = run(m, {{"x", tensor({1, 1, 2, 2}, x)}});
  check_close(out[0], {1, 2, 3, 3}, want_ct);
  check_close(out[1], {1, 2, 5, 3}, want_shaped);
  check_close(out[2], {1, 1, 4, 6}, want_near);
  check_close(out[3], {1, 1, 4, 4}, want_lin);
}

TEST_CASE("onnx: resizes netc's upsample cannot express are reported with the reason") {
  auto resize = [](std::vector<float> scales, const std::string& mode, const std::string& coord) {
    ModelMaker mm(13);
    mm.input("x", {1, 1, 2, 2});
    mm.initializer("scales", {4}, scales);
    auto& n = mm.node("Resize", {"x", "", "scales"}, {"y"}, "rs");
    attr(n, "mode", mode);
    attr(n, "coordinate_transformation_mode", coord);
    mm.output("y");
    return error_of([&] { mm.import(kStatic); });
  };
  CHECK(resize({1, 1, 1.5f, 2}, "nearest", "asymmetric").find("integer factors") !=
        std::string::npos);
  CHECK(resize({1, 1, 2, 2}, "cubic", "half_pixel").find("mode 'cubic' is not supported") !=
        std::string::npos);
  CHECK(resize({1, 1, 2, 2}, "linear", "align_corners")
            .find("node 'rs' (#0, Resize, opset 13): mode 'linear' with "
                  "coordinate_transformation_mode 'align_corners'") != std::string::npos);
  CHECK(resize({1, 2, 2, 2}, "nearest", "asymmetric").find("resize the batch or channel axis") !=
        std::string::npos);
}

TEST_CASE("onnx: absurd recurrent and ConvTranspose sizes are refused, not overflowed") {
  // hidden_size near 2^62 would overflow G * H; 10^5 steps would unroll into a
  // graph that no compile finishes.
  auto gru = [](int64_t T, int64_t hidden) {
    ModelMaker mm(14);
    mm.input("X", {T, 1, 1});
    mm.initializer("W", {1, 3, 1}, {0, 0, 0});
    mm.initializer("R", {1, 3, 1}, {0, 0, 0});
    attr(mm.node("GRU", {"X", "W", "R"}, {"Y"}), "hidden_size", hidden);
    mm.output("Y");
    return error_of([&] { mm.import(kStatic); });
  };
  CHECK(gru(2, int64_t{1} << 62).find("hidden_size 4611686018427387904 is not in [1, 2^48]") !=
        std::string::npos);
  CHECK(gru(100000, 1).find("the sequence has 100000 steps; netc unrolls at most 10000") !=
        std::string::npos);
  auto deconv = [](const std::string& name, std::vector<int64_t> v) {
    ModelMaker mm(13);
    mm.input("x", {1, 1, 3, 3});
    mm.initializer("w", {1, 1, 2, 2}, {1, 1, 1, 1});
    attr(mm.node("ConvTranspose", {"x", "w"}, {"y"}), name, v);
    mm.output("y");
    return error_of([&] { mm.import(kStatic); });
  };
  CHECK(deconv("strides", {int64_t{1} << 62, 1}).find("make the output too large") !=
        std::string::npos);
  CHECK(deconv("pads", {0, 0, int64_t{1} << 62, int64_t{1} << 62}).find("below 2^48") !=
        std::string::npos);
  CHECK(deconv("pads", {2, 2, 2, 2}).find("the pads leave no output") != std::string::npos);
  CHECK(deconv("output_shape", {int64_t{1} << 60, 4}).find("output_shape must be in") !=
        std::string::npos);
}
