// The source geometry of upsample, shared by its reference implementation
// (ir/ops/resize.cpp) and its Halide lowering (codegen/ops/resize.cpp):
// attribute decoding and the two source rows of a bilinear output row.
//
// Bilinear with align_corners=False (PyTorch's nn.Upsample default) maps
// output row o to the source coordinate
//   src = (o + 1/2) / s - 1/2 = (2 o + 1 - s) / (2 s),   clamped at 0,
// and interpolates between rows h0 = floor(src) and h1 = min(h0 + 1, H - 1)
// with weights 1 - l and l, l = src - h0. The numerator num = 2 o + 1 - s is
// an integer, so h0 = num / 2s and l = (num mod 2s) / 2s are exact.
#pragma once

#include "ir/attrs.h"
#include "ir/error.h"
#include "ir/types.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace netc::resize_geometry {

struct Scale {
  int64_t h, w;
};

// scale [sh, sw]: integer factors >= 1 (bounded so that sizes stay far from
// int64 overflow).
inline Scale scale_attr(const Attrs& attrs) {
  if (!attrs.has("scale")) throw ShapeError("missing attribute 'scale' ([sh,sw])");
  const std::vector<int64_t>& v = attrs.get_ints("scale");
  if (v.size() != 2)
    throw ShapeError(
        fmt::format("attribute 'scale' must have 2 values [h,w], found [{}]", fmt::join(v, ",")));
  for (int64_t x : v)
    if (x < 1 || x > kMaxElements)
      throw ShapeError(
          fmt::format("attribute 'scale' must be in [1, 2^48], found [{},{}]", v[0], v[1]));
  return {v[0], v[1]};
}

enum class Mode { nearest, bilinear };

// mode: "nearest" (absent) or "bilinear".
inline Mode resize_mode(const Attrs& attrs) {
  std::string m = attrs.get_str("mode", "nearest");
  if (m == "nearest") return Mode::nearest;
  if (m == "bilinear") return Mode::bilinear;
  throw ShapeError(fmt::format("attribute 'mode' must be nearest or bilinear, found '{}'", m));
}

// The two source rows of output row o and their weights.
template <class T>
struct Taps {
  int64_t row[2];
  T weight[2];
};

// The clamp at 0 is a clamp of num (src < 0 iff num < 0), which gives h0 = 0
// and l = 0 there.
template <class T>
Taps<T> bilinear_taps(int64_t o, int64_t scale, int64_t size) {
  int64_t num = std::max<int64_t>(2 * o + 1 - scale, 0), den = 2 * scale;
  int64_t h0 = num / den;
  T l = T(num % den) / T(den);
  return {{h0, std::min(h0 + 1, size - 1)}, {T(1) - l, l}};
}

// The output rows that read source row i lie in [first, first + 2 s]:
// h0(o) is i - 1 or i for them, so s (i - 1) + (s - 1) / 2 <= o and
// o <= s (i + 1) + (s - 1) / 2 (also covering the rows clamped at 0 and the
// last row's h1 = h0). The compiled gradient gathers over this window.
inline int64_t first_reader(int64_t i, int64_t scale) { return scale * (i - 1) + (scale - 1) / 2; }
inline int64_t reader_window(int64_t scale) { return 2 * scale + 1; }

} // namespace netc::resize_geometry
