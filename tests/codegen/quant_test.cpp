// The int8 kernels (ir/ops/quant.cpp, codegen/ops/quant.cpp) against their
// references, exactly: the sums are int32 accumulations of u8 x i8 products,
// and every rounding is done in f32 in both (tolerance 0 everywhere). Shapes
// cover the packed K not a multiple of 4, fewer than 16 columns (the logits),
// column counts off the 32-wide tile, batch 1 and batches off the 8-row tile.
#include "cg_test_helpers.h"

#include "codegen/kernel.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

const Tol kExact{0, 0};
using codegen::make_kernel_spec;

int64_t k4(int64_t k) { return (k + 3) / 4; }

} // namespace

TEST_CASE("quantize: f32 to u8 with a scale and a zero point") {
  for (int64_t zp : {0, 3, 128}) {
    Attrs a{{"scale", 0.0173}, {"zero_point", zp}};
    check_op(OpKind::Quantize, {{f32({B, 37}), uniform(-3, 3)}}, a, kExact);
  }
}

TEST_CASE("quantize_weight, weight_scale and weight_colsum") {
  for (auto [k, n] : {std::pair<int64_t, int64_t>{50, 40}, {9, 32}, {64, 10}}) {
    check_op(OpKind::QuantizeWeight, {{f32({k, n}), uniform(-0.5, 0.3), OpKind::Param}}, {},
             kExact);
    check_op(OpKind::WeightScale, {{f32({k, n}), uniform(-0.5, 0.3), OpKind::Param}}, {}, kExact);
    check_op(OpKind::WeightColsum, {{i8({k4(k), n, 4}), integers(-127, 127), OpKind::Param}}, {},
             kExact);
  }
}

TEST_CASE("matmul_i8: exact int32 sums of u8 x i8") {
  for (auto [k, n] :
       {std::pair<int64_t, int64_t>{64, 256}, {50, 40}, {9, 32}, {33, 10}, {128, 16}, {784, 48}}) {
    INFO(k, "x", n);
    std::string notes = check_op(
        OpKind::MatMulI8,
        {{u8({B, k}), integers(0, 255)}, {i8({k4(k), n, 4}), integers(-127, 127), OpKind::Param}},
        {}, kExact);
    CHECK(notes.find("int8 matmul") == 0);
  }
}

TEST_CASE("an int8 dense layer's kernel: sums, dequantize, bias, relu, next quantize") {
  for (auto [k, n] : {std::pair<int64_t, int64_t>{784, 256}, {256, 128}, {40, 24}}) {
    Builder m;
    ValueId x = m.input("x", u8({B, k}));
    ValueId wq = m.param("wq", i8({k4(k), n, 4}));
    ValueId ws = m.param("ws", f32({n})), cs = m.param("cs", i32({n}));
    ValueId bias = m.param("b", f32({n}));
    ValueId acc = m.op(OpKind::MatMulI8, {x, wq});
    ValueId y = m.op(OpKind::Dequantize, {acc, ws, cs},
                     Attrs{{"scale", 0.0123}, {"zero_point", int64_t(7)}});
    ValueId h = m.op(OpKind::Add, {y, bias});
    ValueId r = m.op(OpKind::Relu, {h});
    ValueId q = m.op(OpKind::Quantize, {r}, Attrs{{"scale", 0.05}, {"zero_point", int64_t(0)}});
    KernelSpec spec = make_kernel_spec(m.g, {acc, y, h, r, q});
    CHECK(spec.outputs == std::vector<ValueId>{q});
    std::string notes = check_kernel(m.g, spec,
                                     {{"x", integers(0, 255)},
                                      {"wq", integers(-127, 127)},
                                      {"ws", uniform(1e-4, 2e-3)},
                                      {"cs", integers(-3000, 3000)},
                                      {"b", uniform(-1, 1)}},
                                     kExact);
    CHECK(notes.find("int8 matmul") == 0);
  }
}
