// The window geometry shared by the conv family's forward ops (ir/ops/conv.cpp)
// and backward ops (ir/ops/conv_backward.cpp): attribute decoding, the input
// rows a window reads, and a visitor over the windows of a pool. The Halide
// side decodes the same attributes in codegen/ops/window.h.
//
// Every windowed op shares one output-size formula per spatial axis:
//   OH = (H + 2 ph - dh (KH - 1) - 1) / sh + 1      (floor division, OH >= 1)
// and reads input row  ih = oh sh - ph + kh dh  for window row kh; rows outside
// [0, H) are padding (zero for conv2d, never selected or counted by the pools).
#pragma once

#include "ir/attrs.h"
#include "ir/error.h"
#include "ir/types.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace netc::conv_geometry {

struct Pair {
  int64_t h, w;
};

// A two-element list attribute such as stride [sh,sw], or its default.
inline Pair pair_attr(const Attrs& attrs, const std::string& name, Pair fallback,
                      int64_t min_value) {
  if (!attrs.has(name)) return fallback;
  const std::vector<int64_t>& v = attrs.get_ints(name);
  if (v.size() != 2)
    throw ShapeError(fmt::format("attribute '{}' must have 2 values [h,w], found [{}]", name,
                                 fmt::join(v, ",")));
  // The upper bound keeps every index computation below far from int64 overflow.
  for (int64_t x : v)
    if (x < min_value || x > kMaxElements)
      throw ShapeError(fmt::format("attribute '{}' must be in [{}, 2^48], found [{},{}]", name,
                                   min_value, v[0], v[1]));
  return {v[0], v[1]};
}

// The window geometry of conv2d and the pools.
struct Window {
  Pair kernel, stride, pad, dilation;
  int64_t groups = 1;
};

inline Window conv_window(const Attrs& a, const Shape& w) {
  Window win{{w[2], w[3]},
             pair_attr(a, "stride", {1, 1}, 1),
             pair_attr(a, "pad", {0, 0}, 0),
             pair_attr(a, "dilation", {1, 1}, 1),
             a.get_int("groups", 1)};
  if (win.groups < 1) throw ShapeError(fmt::format("groups must be >= 1, found {}", win.groups));
  return win;
}

// ---- the layouts codegen computes a convolution in -----------------------------
// Decided here, on the geometry alone, so that codegen's kernels
// (codegen/ops/window.h, codegen/ops/winograd.h) and the inference pass that
// stores their weights in those layouts beforehand (passes/prepack.h) agree.

// Channels innermost (HALIDE-NOTES' NHWC recipe): any stride, dilation 1, one
// group, >= 8 input channels to reduce over and >= 16 output channels (one
// zmm of f32; the tile shifts inwards over a partial last block). The stride
// only changes which input pixel a tile broadcasts (the weights are the
// vector operand), so strided layers (ResNet's downsampling 3x3 and 1x1
// projections) run the same register tiles. Narrower layers (conv1 of the
// cnn: 1 input channel) keep the NCHW schedules, which vectorize along the
// image row.
inline bool nhwc_conv_ok(const Window& w, int64_t c_in, int64_t c_out) {
  return w.groups == 1 && w.dilation.h == 1 && w.dilation.w == 1 && c_in >= 8 && c_out >= 16;
}

// Winograd F(2x2, 3x3) (codegen/ops/winograd.h): a 3x3 kernel, stride 1, and
// the NHWC kernel's channel counts, f32. The output must be at least 4x4: the
// 2x2 tiles of an odd-sized output compute a row and a column that nobody
// reads, which costs at most (6x6)/(5x5) = 1.44x extra work at 5x5 (still
// below the 2.25x saved), but 16/9 at 3x3, where the transforms would
// outweigh the products saved. Measured (bench/RESULTS.md section 7): 1.2x
// faster than the direct kernel at 8->16 channels 28x28, 1.5x at 64->64 5x5,
// 1.6-2.1x at the cnn's 32->64 14x14.
inline bool winograd_conv_ok(const Window& w, int64_t c_in, int64_t c_out, const Shape& out,
                             DType dtype) {
  return dtype == DType::f32 && w.kernel.h == 3 && w.kernel.w == 3 && w.stride.h == 1 &&
         w.stride.w == 1 && nhwc_conv_ok(w, c_in, c_out) && out[2] >= 4 && out[3] >= 4;
}

inline Window pool_window(const Attrs& a) {
  if (!a.has("kernel")) throw ShapeError("missing attribute 'kernel' ([kh,kw])");
  Pair kernel = pair_attr(a, "kernel", {0, 0}, 1);
  return {kernel, pair_attr(a, "stride", kernel, 1), pair_attr(a, "pad", {0, 0}, 0), {1, 1}, 1};
}

// avgpool's count_include_pad {0 (absent), 1}: whether the divisor is the
// whole kernel area kh kw (PyTorch's default, padding counting as zeros)
// rather than the window's elements inside x. Without ceil mode every window
// lies inside the padded input, so kh kw is also what PyTorch divides by.
inline bool count_include_pad(const Attrs& a) {
  int64_t v = a.get_int("count_include_pad", 0);
  if (v != 0 && v != 1)
    throw ShapeError(fmt::format("attribute 'count_include_pad' must be 0 or 1, found {}", v));
  return v == 1;
}

// Input rows [lo, hi) read by window `o` along one axis, clipped to [0, size).
struct Range {
  int64_t lo, hi;
};
inline Range window_rows(int64_t o, int64_t size, int64_t k, int64_t stride, int64_t pad) {
  int64_t start = o * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + k, size)};
}

// In-bounds window elements summed over all outputs of one axis (the pools'
// FLOPs: padding is never read).
inline int64_t rows_read(int64_t out, int64_t size, int64_t k, int64_t stride, int64_t pad) {
  int64_t n = 0;
  for (int64_t o = 0; o < out; ++o) {
    Range r = window_rows(o, size, k, stride, pad);
    n += r.hi - r.lo;
  }
  return n;
}

// Examples count as one: the batch extent drops out of FLOPs.
inline int64_t per_example(int64_t d) { return d == kBatch ? 1 : d; }

// Window elements read by a pool from x to y (padding is not read).
inline int64_t window_reads(const Attrs& attrs, const Shape& x, const Shape& y) {
  Window win = pool_window(attrs);
  return per_example(x[0]) * x[1] * rows_read(y[2], x[2], win.kernel.h, win.stride.h, win.pad.h) *
         rows_read(y[3], x[3], win.kernel.w, win.stride.w, win.pad.w);
}

// Calls visit(plane, output offset, window rows, window cols) for every output
// element of a pool over x [N,C,H,W] (N C planes) with output y [N,C,OH,OW].
template <class F>
void visit_windows(const Attrs& attrs, const std::vector<int64_t>& x, const std::vector<int64_t>& y,
                   F visit) {
  Window win = pool_window(attrs);
  int64_t planes = x[0] * x[1], H = x[2], W = x[3], OH = y[2], OW = y[3];
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        visit(p, (p * OH + oh) * OW + ow, window_rows(oh, H, win.kernel.h, win.stride.h, win.pad.h),
              window_rows(ow, W, win.kernel.w, win.stride.w, win.pad.w));
}

} // namespace netc::conv_geometry
