// Parameter initializers of the language (SPEC section 4), as pure functions
// of (seed, parameter name, element): the interpreter, the compiled binary and
// a resumed run draw the same weights.
//   zeros, ones
//   small   randn * 0.01
//   xavier  randn * sqrt(1 / n_in)
//   glorot  randn * sqrt(2 / (n_in + n_out))
//   he      randn * sqrt(2 / n_in)
//   normal  randn * scale
//   uniform U(-scale, scale)
//   constant  scale
#pragma once

#include "ir/random.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

inline const std::vector<std::string>& init_scheme_names() {
  static const std::vector<std::string> names = {"zeros", "ones",   "small",   "xavier",  "glorot",
                                                 "he",    "normal", "uniform", "constant"};
  return names;
}

// FNV-1a of a parameter's name: its random stream.
constexpr uint32_t name_stream(std::string_view name) {
  uint32_t h = 2166136261U;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619U;
  return h;
}

// A standard normal sample by Box-Muller over two counter draws.
inline double counter_normal(uint64_t seed, uint32_t stream, uint32_t element) {
  double u1 = (static_cast<double>(hash32(seed, stream, 1, element)) + 1.0) / 4294967297.0;
  double u2 = static_cast<double>(hash32(seed, stream, 2, element)) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Fills `out` by the named scheme. Returns false for an unknown scheme.
template <class T>
bool initialize(std::span<T> out, std::string_view scheme, int64_t fan_in, int64_t fan_out,
                double scale, uint64_t seed, std::string_view name) {
  uint32_t stream = name_stream(name);
  auto normal = [&](double stddev) {
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<T>(stddev * counter_normal(seed, stream, static_cast<uint32_t>(i)));
  };
  double n_in = static_cast<double>(fan_in > 0 ? fan_in : 1);
  double n_out = static_cast<double>(fan_out > 0 ? fan_out : 1);
  if (scheme == "zeros" || scheme == "ones" || scheme == "constant") {
    T v = static_cast<T>(scheme == "zeros" ? 0.0 : scheme == "ones" ? 1.0 : scale);
    for (auto& x : out) x = v;
  } else if (scheme == "small") {
    normal(0.01);
  } else if (scheme == "xavier") {
    normal(std::sqrt(1.0 / n_in));
  } else if (scheme == "glorot") {
    normal(std::sqrt(2.0 / (n_in + n_out)));
  } else if (scheme == "he") {
    normal(std::sqrt(2.0 / n_in));
  } else if (scheme == "normal") {
    normal(scale);
  } else if (scheme == "uniform") {
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<T>(scale * (2.0 * uniform01(seed, stream, 0, uint32_t(i)) - 1.0));
  } else {
    return false;
  }
  return true;
}

} // namespace netc
