// The window geometry of conv2d, the pools and their backward ops, decoded
// from the attributes the way ir/ops/conv.cpp decodes them (the shape rules
// have already validated them), plus the padded view of an NCHW input.
#pragma once

#include "codegen/lowering.h"

namespace netc::codegen {

struct Pair {
  int64_t h, w;
};

struct Window {
  Pair kernel, stride, pad, dilation;
  int64_t groups = 1;
};

// conv2d and its backward ops: the kernel extents come from the weights [O,Cg,KH,KW].
Window conv_window(const Attrs& a, const Shape& weights);
// maxpool, avgpool and their backward ops: {kernel, stride = kernel, pad = 0}.
Window pool_window(const Attrs& a);

// x [N,C,H,W] read at any (h, w): `fill` outside [0,H) x [0,W). The inner read
// is clamped so that bounds inference never asks x for rows it lacks.
Halide::Func padded_input(const Halide::Func& x, const Shape& xs, const Halide::Expr& fill,
                          const std::string& name);

// Window taps up to this many are unrolled into one expression (a pure Func
// that vectorizes and fuses); larger windows use an RDom stage.
inline constexpr int64_t kMaxUnrolledTaps = 64;

} // namespace netc::codegen
