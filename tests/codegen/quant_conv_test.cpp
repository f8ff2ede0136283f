// The int8 convolution kernel (conv2d_i8: ir/ops/quant.cpp,
// codegen/ops/quant.cpp, codegen/schedule_quant_conv.cpp) against its
// int64-accumulate reference, exactly (tolerance 0): one input channel (the
// cnn's conv1: 4 consecutive pixels per group), channels not a multiple of 4
// (groups across pixels), output channels off the 16- and 32-wide tiles and
// below 16 (the generic schedule), stride 2, 1x1 and 3x3 kernels, and padding
// with nonzero zero points, which the border taps must read.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"
#include "passes/quantize.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kExact{0, 0};
using codegen::make_kernel_spec;

struct ConvCase {
  int64_t C, O, H, W, K, stride, pad, zp;
};

Attrs conv_attrs(const ConvCase& c) {
  return Attrs{{"kernel", std::vector<int64_t>{c.K, c.K}},
               {"stride", std::vector<int64_t>{c.stride, c.stride}},
               {"pad", std::vector<int64_t>{c.pad, c.pad}},
               {"zero_point", c.zp}};
}

} // namespace

// The packed weight comes from an f32 W through the pass's own packing
// (quantize_conv_weight: its padded taps are zero, as conv2d_i8 requires),
// computed by the reference; the kernel under test is the conv alone.
TEST_CASE("conv2d_i8: exact int32 sums, zero points at the borders") {
  const ConvCase cases[] = {
      {1, 32, 28, 28, 3, 1, 1, 37}, // the cnn's conv1
      {32, 64, 14, 14, 3, 1, 1, 5}, // its conv2
      {6, 24, 9, 11, 3, 2, 1, 200}, // C % 4 != 0, O % 16 != 0, stride 2
      {16, 40, 8, 8, 1, 2, 0, 3},   // 1x1 stride 2 (a ResNet projection)
      {8, 16, 5, 6, 3, 1, 2, 255},  // padding wider than the kernel reaches
      {3, 8, 7, 7, 3, 1, 1, 128},   // O < 16: the generic schedule
      {64, 32, 4, 4, 3, 2, 1, 11},  // stride 2 down to 2x2
  };
  for (const ConvCase& c : cases) {
    INFO("C=", c.C, " O=", c.O, " ", c.H, "x", c.W, " k", c.K, " s", c.stride, " p", c.pad,
         " zp=", c.zp);
    Builder m;
    ValueId x = m.input("x", u8({B, c.C, c.H, c.W}));
    ValueId w = m.param("w", f32({c.O, c.C, c.K, c.K}));
    QuantizedWeight qw = quantize_conv_weight(m.b, w);
    ValueId acc = m.op(OpKind::Conv2dI8, {x, qw.wq}, conv_attrs(c));
    std::string notes = check_kernel(m.g, make_kernel_spec(m.g, {acc}),
                                     {{"x", integers(0, 255)}, {"w", uniform(-0.5, 0.4)}}, kExact);
    if (c.O >= 16)
      CHECK(notes.find("int8 conv:") == 0);
    else
      CHECK(notes.find("int8 conv recipe: 8 output channels") == 0);
  }
}

TEST_CASE("an int8 conv layer's kernel: sums, dequantize, bias, relu, pool, next quantize") {
  for (bool pool : {false, true}) {
    for (ConvCase c : {ConvCase{1, 32, 28, 28, 3, 1, 1, 9}, ConvCase{32, 64, 14, 14, 3, 1, 1, 0}}) {
      INFO("C=", c.C, " pool=", pool);
      Builder m;
      ValueId x = m.input("x", u8({B, c.C, c.H, c.W}));
      ValueId w = m.param("w", f32({c.O, c.C, c.K, c.K}));
      QuantizedWeight qw = quantize_conv_weight(m.b, w);
      ValueId wq = qw.wq, ws = qw.scale, cs = qw.colsum;
      ValueId bias = m.param("b", f32({c.O, 1, 1}));
      ValueId acc = m.op(OpKind::Conv2dI8, {x, wq}, conv_attrs(c));
      ValueId y = m.op(OpKind::Dequantize, {acc, ws, cs},
                       Attrs{{"scale", 0.0123}, {"zero_point", c.zp}, {"axis", int64_t(1)}});
      ValueId h = m.op(OpKind::Add, {y, bias});
      ValueId r = m.op(OpKind::Relu, {h});
      std::vector<ValueId> nodes{acc, y, h, r};
      if (pool) {
        r = m.op(OpKind::MaxPool, {r}, Attrs{{"kernel", std::vector<int64_t>{2, 2}}});
        nodes.push_back(r);
      }
      ValueId q = m.op(OpKind::Quantize, {r}, Attrs{{"scale", 0.05}, {"zero_point", int64_t(0)}});
      nodes.push_back(q);
      KernelSpec spec = make_kernel_spec(m.g, nodes);
      CHECK(spec.outputs == std::vector<ValueId>{q});
      std::string notes = check_kernel(
          m.g, spec, {{"x", integers(0, 255)}, {"w", uniform(-0.05, 0.06)}, {"b", uniform(-1, 1)}},
          kExact);
      INFO(notes);
      CHECK(notes.find("int8 conv") == 0);
    }
  }
}
