// Post-training static int8 quantization of an inference graph (docs/
// quantization.md). Two steps, both on the graph after the inference
// pipeline's cleanup (batch norm already folded into the weights):
//   calibrate      runs the reference interpreter on calibration examples and
//                  records the range (min/max) of every value that feeds a
//                  quantizable matmul;
//   quantize_int8  replaces each such matmul(x, W) by
//                    dequantize(matmul_i8(quantize(x), quantize_weight(W)),
//                               weight_scale(W), weight_colsum(...))
//                  and each conv2d(x, W[, b]) by
//                    dequantize(conv2d_i8(quantize(x), reshape(quantize_weight(M))),
//                               weight_scale(M), weight_colsum(...)) [+ b]
//                  where M is W laid out as the matrix of a kernel row's
//                  taps (transpose, reshape, pad: ir/ops/quant.cpp)
//                  with x's scale and zero point from the calibration and
//                  per-column symmetric weight scales (ir/ops/quant.cpp).
// The weight ops depend on parameters only, so they become the program's
// prepare kernels (plan/launch_plan.h): the binary quantizes the weights of
// whatever checkpoint it loads once, then reuses them every batch. Bias,
// relu and the next layer's quantize stay separate IR ops that fusion puts
// in the int8 matmul's epilogue.
#pragma once

#include "ir/tensor.h"
#include "passes/pass.h"

#include <map>
#include <string>
#include <vector>

namespace netc {

// What can be quantized: matmuls with a weights-only right operand, no
// transposes, rank 2; conv2d with weights-only weights, one group and
// dilation 1 (any kernel, stride, padding, channel count). Everything else
// stays f32; `refused` says why, one line per op ("line 9: conv2d: a
// grouped (depthwise) convolution: no int8 kernel (stays f32)").
struct QuantizableOps {
  std::vector<ValueId> matmuls;
  std::vector<ValueId> convs;
  std::vector<std::string> refused;
};
QuantizableOps find_quantizable(const Graph& g);

// The observed range of a value over the calibration set.
struct ValueRange {
  float lo = 0, hi = 0;
};

// Ranges by the ValueId (in the calibrated graph) of each quantizable
// matmul's left operand and each quantizable conv's input.
struct Calibration {
  std::map<ValueId, ValueRange> ranges;
  int64_t examples = 0;
};

// Runs `g` (an inference graph) on the examples of `inputs` (one tensor per
// Input leaf name, batch first) in chunks of `chunk` examples, with params
// and state from `weights`.
Calibration calibrate(const Graph& g, const std::map<std::string, Tensor<float>>& weights,
                      const std::map<std::string, Tensor<float>>& inputs, int64_t chunk = 64);

// u8 scale and zero point of a range: the range widened to include 0, then
// scale = (hi - lo) / 255 and zp = round(-lo / scale), so 0 is exact.
struct QuantParams {
  double scale = 1;
  int64_t zero_point = 0;
};
QuantParams quant_params(ValueRange r);

// A conv2d's weights W f32[O,C,KH,KW] in int8, as the ops that compute them
// from W (the prepare kernels): conv2d_i8's packed weight i8[KH, ceil(KW C/4),
// O, 4] (the taps past a kernel row's KW C are zero, as conv2d_i8 requires),
// the per-output-channel scales f32[O] and the sums of the packed weights
// i32[O] (the zero-point term).
struct QuantizedWeight {
  ValueId wq, scale, colsum;
};
QuantizedWeight quantize_conv_weight(GraphBuilder& b, ValueId w, SourceLoc loc = {});

// The rewrite. A quantizable matmul or conv without a range in `c` is an internal
// error (calibrate ran on another graph).
PassResult quantize_int8(const Graph& g, const Calibration& c);

} // namespace netc
