#include "ir/types.h"

#include "ir/error.h"

#include <fmt/format.h>

namespace netc {

std::string_view dtype_name(DType t) {
  switch (t) {
  case DType::f32: return "f32";
  case DType::f64: return "f64";
  case DType::i32: return "i32";
  case DType::i64: return "i64";
  case DType::u8: return "u8";
  case DType::i8: return "i8";
  }
  internal_error("bad dtype");
}

int dtype_bytes(DType t) {
  switch (t) {
  case DType::f64:
  case DType::i64: return 8;
  case DType::u8:
  case DType::i8: return 1;
  case DType::f32:
  case DType::i32: return 4;
  }
  internal_error("bad dtype");
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::i8})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

bool Shape::has_batch() const {
  for (int64_t d : dims)
    if (d == kBatch) return true;
  return false;
}

int64_t Shape::static_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= (d == kBatch ? 1 : d);
  return n;
}

int64_t Shape::elements(int64_t batch) const {
  int64_t n = 1;
  for (int64_t d : dims) n *= (d == kBatch ? batch : d);
  return n;
}

std::vector<int64_t> Shape::concrete(int64_t batch) const {
  std::vector<int64_t> out = dims;
  for (auto& d : out)
    if (d == kBatch) d = batch;
  return out;
}

std::string to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.dims.size(); ++i) {
    if (i) out += ",";
    out += s.dims[i] == kBatch ? std::string("batch") : std::to_string(s.dims[i]);
  }
  return out + "]";
}

Shape checked_shape(std::vector<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d == kBatch) continue;
    if (d <= 0) throw ShapeError(fmt::format("dimension {} must be positive", d));
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxElements)
      throw ShapeError(fmt::format("shape {} has too many elements (the limit is 2^48)",
                                   to_string(Shape(dims))));
  }
  return Shape(std::move(dims));
}

std::string to_string(const TensorType& t) {
  return std::string(dtype_name(t.dtype)) + to_string(t.shape);
}

} // namespace netc
