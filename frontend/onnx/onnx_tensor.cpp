// TensorProto -> Folded: the element types netc reads, from whichever field
// holds them (raw_data, little-endian, or the typed repeated fields). The
// element count comes from the dims and must match the data actually present,
// so a tensor that claims gigabytes it does not carry is an error, not an
// allocation.
#include "frontend/onnx/import_context.h"

#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>

namespace netc::onnx_import {

namespace {

using onnx::TensorProto_DataType;

template <class T>
void append_raw(const std::string& raw, std::vector<double>& out) {
  size_t n = raw.size() / sizeof(T);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T)); // the host is little-endian, as ONNX
    out.push_back(static_cast<double>(v));
  }
}

// The element size of the types read from raw_data; 0 for the others.
size_t raw_element_size(int32_t type) {
  switch (type) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32: return 4;
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64: return 8;
  case onnx::TensorProto::BOOL:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::INT8: return 1;
  default: return 0;
  }
}

} // namespace

std::optional<DType> ir_dtype(int32_t type) {
  switch (type) {
  case onnx::TensorProto::FLOAT: return DType::f32;
  case onnx::TensorProto::DOUBLE: return DType::f64;
  case onnx::TensorProto::INT32: return DType::i32;
  case onnx::TensorProto::INT64: return DType::i64;
  // Booleans and small integers fold as integers; they reach the IR only
  // through ops that take them as constants.
  case onnx::TensorProto::BOOL:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::INT8: return DType::i32;
  default: return std::nullopt;
  }
}

Folded fold_tensor_proto(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
    throw std::runtime_error(fmt::format("tensor '{}' keeps its data in an external file, which "
                                         "the importer does not read",
                                         t.name()));
  std::optional<DType> dtype = ir_dtype(t.data_type());
  if (!dtype)
    throw Unsupported(fmt::format(
        "tensor '{}' has ONNX element type {} ({}), which netc has no "
        "dtype for",
        t.name(), t.data_type(),
        onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t.data_type()))));
  Folded f;
  f.dtype = *dtype;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0)
      throw std::runtime_error(fmt::format("tensor '{}' has a negative dimension {}", t.name(), d));
    if (d > 0 && count > kMaxElements / d)
      throw std::runtime_error(fmt::format("tensor '{}' claims more than 2^48 elements", t.name()));
    count *= d;
    f.dims.push_back(d);
  }
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    size_t size = raw_element_size(t.data_type());
    if (size == 0)
      throw Unsupported(fmt::format("tensor '{}': raw data of element type {} is not read",
                                    t.name(), t.data_type()));
    if (raw.size() != static_cast<size_t>(count) * size)
      throw std::runtime_error(fmt::format("tensor '{}' has dims {} ({} elements) but {} bytes of "
                                           "data, not {}",
                                           t.name(), fmt::join(f.dims, "x"), count, raw.size(),
                                           static_cast<size_t>(count) * size));
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: append_raw<float>(raw, f.data); break;
    case onnx::TensorProto::DOUBLE: append_raw<double>(raw, f.data); break;
    case onnx::TensorProto::INT32: append_raw<int32_t>(raw, f.data); break;
    case onnx::TensorProto::INT64: append_raw<int64_t>(raw, f.data); break;
    case onnx::TensorProto::INT8: append_raw<int8_t>(raw, f.data); break;
    default: append_raw<uint8_t>(raw, f.data); break; // bool, uint8
    }
  } else {
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      f.data.assign(t.float_data().begin(), t.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE:
      f.data.assign(t.double_data().begin(), t.double_data().end());
      break;
    case onnx::TensorProto::INT64:
      f.data.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    default: f.data.assign(t.int32_data().begin(), t.int32_data().end()); break;
    }
    if (static_cast<int64_t>(f.data.size()) != count)
      throw std::runtime_error(fmt::format("tensor '{}' has dims [{}] ({} elements) but {} values",
                                           t.name(), fmt::join(f.dims, ","), count, f.data.size()));
  }
  return f;
}

bool Folded::has_batch() const {
  for (double v : data)
    if (v == kFoldedBatch) return true;
  return false;
}

std::vector<int64_t> Folded::ints() const {
  std::vector<int64_t> out;
  out.reserve(data.size());
  for (double v : data) out.push_back(folded_int(v));
  return out;
}

// Found by fuzzing: a float constant used as a shape held NaN, and casting it
// was undefined behaviour. Values past int64 saturate (Slice's ends are often
// INT64_MAX, which a double rounds up to 2^63).
int64_t folded_int(double v) {
  if (std::isnan(v) || v != std::trunc(v))
    throw Unsupported(fmt::format("{} is not an integer a shape, axis or index can hold", v));
  if (v >= 0x1p63) return std::numeric_limits<int64_t>::max();
  if (v < -0x1p63) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

Folded folded_ints(const std::vector<int64_t>& values, std::vector<int64_t> dims) {
  Folded f;
  f.dtype = DType::i64;
  f.dims = std::move(dims);
  f.data.assign(values.begin(), values.end());
  return f;
}

} // namespace netc::onnx_import
