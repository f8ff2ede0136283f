// The counter-based generator behind dropout masks and parameter
// initialization: a pure function of (seed, stream, step, element), so the
// backward pass recomputes a dropout mask instead of storing it, every element
// is independent of evaluation order and thread count, and a compiled kernel
// can produce the same bits. Only 32-bit integer multiply, xor and shift are
// used, which Halide expresses directly; codegen mirrors hash32 exactly.
#pragma once

#include <cstdint>

namespace netc {

// A 32-bit finalizer (the "lowbias32" mix), a bijection with good avalanche.
constexpr uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

constexpr uint32_t hash32(uint64_t seed, uint32_t stream, uint32_t step, uint32_t element) {
  uint32_t h = mix32(static_cast<uint32_t>(seed) ^ 0x9e3779b9U);
  h = mix32(h ^ static_cast<uint32_t>(seed >> 32));
  h = mix32(h ^ stream);
  h = mix32(h ^ step);
  return mix32(h ^ element);
}

// Uniform in [0, 1) with 24 bits of resolution (exact in float).
constexpr float uniform01(uint64_t seed, uint32_t stream, uint32_t step, uint32_t element) {
  return static_cast<float>(hash32(seed, stream, step, element) >> 8) * (1.0f / 16777216.0f);
}

} // namespace netc
